# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
# pytest workers: one per core (the simulator sweep is CPU-bound).
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test lint typecheck pytest browser sim bench lock clean

$(STAMP): $(LOCK) pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (pyxos needs Python 3.11+); set PYTHON=..." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pyxos up

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check --no-cache src tests
	$(BIN)/ruff format --no-cache --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/

pytest: $(STAMP) browser
	$(BIN)/pytest -n $(WORKERS) -q

# The status page's browser test needs a headless Chromium: installed with apt-get on CI (or as
# root) when it is missing; elsewhere the test skips and says how to install it.
browser:
	@scripts/ensure-chromium

# Simulator sweep outside the test suite, e.g. `make sim SEEDS=1..5000`.
SEEDS ?= 1..200
sim: $(STAMP)
	$(BIN)/pyxos sim --seeds $(SEEDS)

bench: $(STAMP)
	$(BIN)/pyxos bench sim
	$(BIN)/pyxos bench storage
	$(BIN)/pyxos bench matrix --cluster --no-progress

# Re-pin the lock file after editing pyproject.toml (needs network access to the package index).
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o $(LOCK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Side by side with etcd and PySyncObj (docs/BENCHMARKS.md): installs etcd (Debian's
# etcd-server, with apt-get: needs root) when it is not on PATH and PySyncObj into its own venv
# from a hashed lock, then runs `pyxos bench peers`, e.g. `make compare COMPARE_ARGS="--repeat 3"`.
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed
PEERS_LOCK := requirements/peers.lock
COMPARE_ARGS ?=
.PHONY: compare

$(PEERS_STAMP): $(PEERS_LOCK)
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(PEERS_LOCK)
	touch $(PEERS_STAMP)

compare: $(STAMP) $(PEERS_STAMP)
	@command -v etcd >/dev/null 2>&1 || { \
		echo "etcd is not on PATH: installing Debian's etcd-server (apt-get, needs root)"; \
		apt-get install -y etcd-server || { apt-get update && apt-get install -y etcd-server; }; }
	$(BIN)/pyxos bench peers $(COMPARE_ARGS)

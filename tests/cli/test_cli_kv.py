"""`pyxos kv`, `pyxos status` and `pyxos log dump` against a real cluster: output, one-line
errors and exit statuses."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_cluster import ClientCluster, run_main, started_cluster

from pyxos.cli import kv_cmd, log_cmd, status_cmd


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    with started_cluster(tmp_path_factory) as started:
        yield started


def test_kv_get_put_del_cas_list(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--config", str(cluster.config)]

    def kv(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
        return run_main(capsys, kv_cmd.main, *argv, stdin=stdin)

    assert kv("put", "greeting", "hello world", *where) == (0, "OK\n", "")
    assert kv("get", "greeting", *where) == (0, "hello world\n", "")
    assert kv("get", "greeting", "--stale", "--endpoints", cluster.endpoints(2))[0] == 0
    assert kv("get", "nobody", *where) == (1, "", "pyxos kv get: key 'nobody' not found\n")
    assert kv("cas", "greeting", "x", "--expected", "nope", *where) == (
        1,
        "",
        "pyxos kv cas: 'greeting' is 'hello world', not 'nope': nothing written\n",
    )
    assert kv("cas", "greeting", "bye", "--expected", "hello world", *where) == (0, "OK\n", "")
    assert kv("cas", "fresh", "1", "--absent", *where) == (0, "OK\n", "")
    assert kv("cas", "fresh", "2", "--absent", *where)[0] == 1
    assert kv("put", "from-stdin", "-", *where, stdin=b"piped\n") == (0, "OK\n", "")
    assert kv("get", "from-stdin", *where) == (0, "piped\n\n", "")
    # A value with a newline stays on its line in a listing.
    assert kv("list", *where)[1] == "fresh\t1\nfrom-stdin\tpiped\\n\ngreeting\tbye\n"
    code, out, err = kv("list", "f", "--limit", "1", *where)
    assert (code, out) == (0, "fresh\t1\n")
    assert "more keys than --limit 1; the next page: --after fresh" in err
    code, out, err = kv("list", "f", "--limit", "1", "--after", "fresh", *where)
    assert (code, out, err) == (0, "from-stdin\tpiped\\n\n", "")
    assert kv("del", "greeting", *where) == (0, "OK\n", "")
    assert kv("del", "greeting", *where) == (1, "", "pyxos kv del: key 'greeting' not found\n")
    # The default endpoint is node 1 of `pyxos up`; with --endpoints, one node is enough.
    assert kv("get", "fresh", "--endpoints", cluster.endpoints(3)) == (0, "1\n", "")


def test_kv_errors_are_one_line_with_an_exit_status(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    def kv(*argv: str) -> tuple[int, str, str]:
        return run_main(capsys, kv_cmd.main, *argv)

    code, out, err = kv("put", "k" * 1025, "v", "--endpoints", cluster.endpoints())
    assert (code, out) == (2, "")
    assert err == "pyxos kv put: error: key of 1025 bytes; the limit is 1024\n"
    code, _, err = kv("get", "k", "--endpoints", "127.0.0.1:1")
    assert code == 3
    assert err.startswith(
        "pyxos kv get: error: no node reachable: 127.0.0.1:1: Connection refused; "
        "is the cluster running?"
    )
    code, _, err = kv("get", "k", "--endpoints", "nohost")
    assert (code, err) == (2, "pyxos kv get: error: bad endpoint: 'nohost' is not host:port\n")
    code, _, err = kv("get", "k", "--config", "/no/such/cluster.toml")
    assert code == 2 and "cannot read the cluster file" in err
    code, _, err = kv("get", "k", "--timeout", "0", "--endpoints", cluster.endpoints())
    assert (code, err) == (2, "pyxos kv get: error: --timeout must be positive\n")
    with pytest.raises(SystemExit) as info:  # argparse: a usage error
        kv("cas", "k", "v")
    assert info.value.code == 2
    assert "one of the arguments --expected --absent is required" in capsys.readouterr().err


def test_status_and_log_dump(cluster: ClientCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(
        capsys, kv_cmd.main, "put", "logged", "yes", "--config", str(cluster.config)
    )
    assert code == 0
    code, out, err = run_main(capsys, status_cmd.main, "--endpoints", cluster.endpoints(2))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "NODE",
        "ROLE",
        "LEADER",
        "VIEW",
        "BALLOT",
        "DECIDED",
        "APPLIED",
        "PEERS",
        "HTTP",
    ]
    rows = [line.split() for line in lines[1:]]
    assert [row[0] for row in rows] == ["1", "2", "3"]  # one node named every member
    leader = cluster.leader(cluster.ids)
    assert [row[1] for row in rows].count("leader") == 1
    assert rows[leader - 1][1] == "leader" and {row[2] for row in rows} == {str(leader)}

    code, out, err = run_main(
        capsys, log_cmd.main, "dump", "--node", str(leader), "--config", str(cluster.config)
    )
    assert (code, err) == (0, "")
    assert any(line.endswith(" put logged='yes'") for line in out.splitlines())
    assert all(line.split(" ", 1)[0].isdigit() for line in out.splitlines())
    code, out, err = run_main(
        capsys,
        log_cmd.main,
        "dump",
        "--node",
        str(leader),
        "-o",
        "json",
        "--config",
        str(cluster.config),
    )
    dump = json.loads(out)
    assert dump["node"] == leader
    assert any(entry["commands"].endswith(" put logged='yes'") for entry in dump["slots"])
    code, out, err = run_main(
        capsys, status_cmd.main, "-o", "json", "--config", str(cluster.config)
    )
    members = json.loads(out)["members"]
    assert [(m["node"], m["health"], m["error"]) for m in members] == [
        (1, "up", None),
        (2, "up", None),
        (3, "up", None),
    ]
    assert [m["status"]["role"] for m in members].count("leader") == 1
    code, _, err = run_main(
        capsys, log_cmd.main, "dump", "--node", "9", "--config", str(cluster.config)
    )
    assert (code, err) == (2, "pyxos log dump: error: no node 9 (members: 1, 2, 3)\n")
    code, _, err = run_main(capsys, status_cmd.main, "--endpoints", "127.0.0.1:1")
    assert code == 3 and "cannot find the cluster" in err


def test_status_shows_a_dead_node_as_down(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with started_cluster(tmp_path_factory) as cluster:
        cluster.kill(2)
        code, out, _ = run_main(capsys, status_cmd.main, "--config", str(cluster.config))
        assert code == 3
        row = next(line.split() for line in out.splitlines() if line.startswith("2 "))
        assert row[1] == "down"


def test_listings_keep_one_key_a_line_and_json_keeps_the_bytes(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--config", str(cluster.config)]

    def kv(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
        return run_main(capsys, kv_cmd.main, *argv, *where, stdin=stdin)

    assert kv("put", "odd/tab\there", "-", stdin=b"nul\0 and\r\nnewline")[0] == 0
    assert kv("put", "odd/back\\slash", "-", stdin=b"\xff\xfe not utf-8")[0] == 0
    assert kv("put", "odd/plain", "text")[0] == 0
    code, out, _ = kv("list", "odd/")
    assert code == 0
    assert out.splitlines() == [
        "odd/back\\\\slash\t\\xff\\xfe not utf-8",
        "odd/plain\ttext",
        "odd/tab\\there\tnul\\0 and\\r\\nnewline",
    ]
    code, out, _ = kv("list", "odd/", "-o", "table")
    lines = out.splitlines()
    assert lines[0].split() == ["KEY", "VALUE"] and len(lines) == 4
    assert lines[2].split() == ["odd/plain", "text"]
    assert lines[1].index("\\xff") == lines[0].index("VALUE")  # aligned columns
    code, out, _ = kv("list", "odd/", "-o", "json")
    listing = json.loads(out)
    assert listing["truncated"] is False
    assert listing["items"] == [
        {"key": "odd/back\\slash", "value": "//4gbm90IHV0Zi04", "encoding": "base64"},
        {"key": "odd/plain", "value": "text"},
        {"key": "odd/tab\there", "value": "nul\u0000 and\r\nnewline"},
    ]
    # A single value is printed as it is: `get` is not a listing.
    assert run_main(capsys, kv_cmd.main, "get", "odd/plain", *where)[1] == "text\n"
    code, out, _ = kv("get", "odd/back\\slash", "-o", "json")
    assert json.loads(out) == {
        "key": "odd/back\\slash",
        "value": base64.b64encode(b"\xff\xfe not utf-8").decode(),
        "encoding": "base64",
    }
    assert json.loads(kv("put", "odd/plain", "new", "-o", "json")[1]) == {
        "ok": True,
        "key": "odd/plain",
        "previous": "text",
    }
    assert json.loads(kv("del", "odd/plain", "-o", "json")[1]) == {
        "ok": True,
        "key": "odd/plain",
        "deleted": True,
        "previous": "new",
    }


def test_the_cluster_is_found_through_the_environment_or_pyxos_up_s_data_dir(
    cluster: ClientCluster,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYXOS_ENDPOINTS", raising=False)
    code, _, err = run_main(capsys, kv_cmd.main, "get", "k", "--timeout", "1")
    assert code == 3
    assert "nothing told where the cluster is" in err and "127.0.0.1:9000 was tried" in err
    monkeypatch.setenv("PYXOS_ENDPOINTS", cluster.endpoints(2))
    assert run_main(capsys, kv_cmd.main, "put", "found", "by-env")[:2] == (0, "OK\n")
    monkeypatch.delenv("PYXOS_ENDPOINTS")
    (tmp_path / "pyxos-data").mkdir()
    (tmp_path / "pyxos-data" / "cluster.toml").write_text(cluster.config.read_text())
    # `pyxos up`'s data directory, relative paths in its cluster file and all.
    assert run_main(capsys, kv_cmd.main, "get", "found")[:2] == (0, "by-env\n")
    code, out, _ = run_main(capsys, status_cmd.main)
    assert code == 0 and len(out.splitlines()) == 4
    # A flag wins over the environment.
    monkeypatch.setenv("PYXOS_ENDPOINTS", "127.0.0.1:1")
    assert run_main(capsys, kv_cmd.main, "get", "found", "--endpoints", cluster.endpoints(3))[
        :2
    ] == (0, "by-env\n")
    code, _, err = run_main(capsys, kv_cmd.main, "get", "found")
    assert code == 3 and "through $PYXOS_ENDPOINTS=127.0.0.1:1" in err


def test_an_http_port_given_as_a_client_port_is_named_at_once(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    code, out, err = run_main(
        capsys, kv_cmd.main, "get", "k", "--endpoints", str(cluster.http[1]), "--timeout", "10"
    )
    assert time.monotonic() - began < 3.0  # not the whole --timeout
    assert (code, out) == (3, "")
    assert err == (
        f"pyxos kv get: error: no node reachable: {cluster.http[1]} answered in HTTP: "
        f"it is a node's HTTP port; its client port is {cluster.client[1]}\n"
    )
    assert "frame length" not in err

"""Options every test may use: `--rewrite` regenerates the checked-in transcripts under
`tests/**/testdata/` instead of comparing against them (review the diff before committing)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--rewrite",
        action="store_true",
        default=False,
        help="rewrite transcript files under tests/**/testdata/ with the actual output",
    )


@pytest.fixture
def rewrite(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite transcripts rather than compare them."""
    return bool(request.config.getoption("--rewrite"))

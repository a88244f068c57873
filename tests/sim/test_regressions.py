"""Seeds that once found a bug. Each stays here, so the bug can never come back unnoticed.

Each entry names the seed, the options it ran with (if any were overridden) and what went
wrong; the fix is in the commit that added it.
"""

from __future__ import annotations

import pytest

from pyxos.sim.runner import run_seed

REGRESSIONS: list[tuple[int, dict[str, int | float], str]] = [
    (
        906,
        {},
        "a node rebuilt after corruption was released by a leader whose phase 1 started above a "
        "slot the rebuilt node had voted for and forgotten; it never learned that slot, then led "
        "with a quorum in which nobody remembered it, and chose another value there",
    ),
]


@pytest.mark.parametrize(
    ("seed", "overrides", "bug"), REGRESSIONS, ids=[f"seed{s}" for s, _, _ in REGRESSIONS]
)
def test_seed_stays_clean(seed: int, overrides: dict[str, int | float], bug: str) -> None:
    result = run_seed(seed, **overrides)
    assert result.violations == [], f"{bug}\nreplay: {result.replay}\n" + "\n".join(
        result.violations[:5]
    )

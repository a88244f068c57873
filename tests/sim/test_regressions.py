"""Seeds that once found a bug. Each stays here, so the bug can never come back unnoticed.

Each entry names the seed, the options it ran with (if any were overridden) and what went
wrong; the fix is in the commit that added it.
"""

from __future__ import annotations

import pytest

from pyxos.core.quorum import parse_quorums
from pyxos.faults import Heal
from pyxos.faults.partitions import split
from pyxos.sim.options import expand_options
from pyxos.sim.runner import Simulation, run_seed

REGRESSIONS: list[tuple[int, dict[str, int | float], str]] = [
    (
        906,
        {},
        "a node rebuilt after corruption was released by a leader whose phase 1 started above a "
        "slot the rebuilt node had voted for and forgotten; it never learned that slot, then led "
        "with a quorum in which nobody remembered it, and chose another value there",
    ),
    (
        701,
        {},
        "a thrifty leader cut off at ballot 2.3 learned later slots by catch-up (a reply with no "
        "ballot), never heard of the higher ballot that chose another value in a slot it had "
        "proposed, and its Commit(2.3) made the follower that accepted its value decide it "
        "(also seed 684); the scripted version is in tests/core/multipaxos/test_replica.py",
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


WPAXOS_REGRESSIONS: list[tuple[int, str, dict[str, int | float], str]] = [
    # (seed, quorums, overrides, what went wrong); the policy is the default unless named
    (
        43,
        "majority",
        {},
        "a node restarted and numbered its reads through the log from 1 again; a read command "
        "its earlier incarnation had proposed was decided after the restart and answered the "
        "new incarnation's read of the same number with a value from before a later write "
        "(a stale read); reads now carry a per-incarnation nonce in their seq",
    ),
    (
        269,
        "majority",
        {},
        "a member answered a resent commit with how far it had learned before the values it "
        "had just learned were durable; it crashed, came back behind that point, and its peers "
        "had already forgotten the slot it lacked: it never caught up. A member now says how "
        "far it learned only behind a barrier",
    ),
    (
        191,
        "grid:zones=3,fz=0,fn=0",
        {"nodes": 6},
        "the same as seed 269, on a grid of three zones",
    ),
]


@pytest.mark.parametrize(
    ("seed", "quorums", "overrides", "bug"),
    WPAXOS_REGRESSIONS,
    ids=[f"wpaxos-seed{s}" for s, _, _, _ in WPAXOS_REGRESSIONS],
)
def test_wpaxos_seed_stays_clean(
    seed: int, quorums: str, overrides: dict[str, int | float], bug: str
) -> None:
    result = run_seed(seed, protocol="wpaxos", quorums=parse_quorums(quorums), **overrides)
    assert result.violations == [], f"{bug}\nreplay: {result.replay}\n" + "\n".join(
        result.violations[:5]
    )


@pytest.mark.parametrize("nodes", [3, 5])
def test_a_healed_minority_does_not_depose_a_healthy_leader(nodes: int) -> None:
    """A follower cut off for seconds timed out again and again and raised its view each time;
    the partition healed, its `ViewChange` deposed the leader of the majority for nothing. Now
    it only asks (`PreViewChange`), is refused by the majority, and follows the leader again."""
    options = expand_options(
        1,
        nodes=nodes,
        ops=60,
        partition_episodes=0,
        crash_episodes=0,
        network_episodes=0,
        corruptions=0,
        fault_phase_us=4_000_000,
    )
    sim = Simulation(options)
    # Node 1 owns view 0 and leads from the start; the last node is a follower.
    sim.schedule(300_000, split([nodes], range(1, nodes), kind="minority"))
    sim.schedule(3_000_000, Heal())
    result = sim.run()
    assert result.violations == [], result.replay
    notes = result.stats.notes
    assert notes.get("leader") == 1, notes  # node 1, elected once, for the whole run
    assert notes.get("view_change", 0) == 0, notes
    assert notes.get("pre_vote", 0) >= 3, notes  # the cut-off node kept asking

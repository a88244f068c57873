"""The simulated wide-area network and `pyxos bench wan`: the latency model matches the papers'
sites, a run is a pure function of its seed, and the figures show what the protocols promise
(WPaxos commits inside a zone at LAN latency, Multi-Paxos makes a remote zone pay its round trip
to the leader). Small runs, virtual time only."""

from __future__ import annotations

import json
from random import Random
from statistics import mean

import pytest

from pyxos.cli.main import main
from pyxos.core.quorum import QuorumSpec
from pyxos.sim.network import SimNetwork
from pyxos.sim.wan import PAPER_RTT_MS, PAPER_SITES, Topology, isolate_zone, paper_topology
from pyxos.sim.wan_bench import run_wan_bench
from pyxos.sim.wan_options import WanBenchOptions
from pyxos.sim.wan_workload import ConflictKeys, NormalKeys, zone_mean

# The reference's matrix (round trips in ms between the five AWS sites, 2017).
REFERENCE = {
    ("VA", "CA"): 72.2,
    ("VA", "OR"): 87.8,
    ("VA", "IR"): 80.5,
    ("VA", "JP"): 145.3,
    ("CA", "OR"): 19.3,
    ("CA", "IR"): 153.2,
    ("CA", "JP"): 102.5,
    ("OR", "IR"): 137.0,
    ("OR", "JP"): 89.1,
    ("IR", "JP"): 212.4,
}
SMALL = {"zones": 3, "clients_per_zone": 3, "duration_s": 1.0, "warmup_s": 0.5}


# ---- the latency model ------------------------------------------------------------------------
def test_the_default_matrix_is_the_papers_and_symmetric() -> None:
    topology = Topology()
    assert topology.sites == PAPER_SITES == ("VA", "CA", "OR", "IR", "JP")
    for (a, b), rtt_ms in REFERENCE.items():
        i, j = topology.zone_named(a), topology.zone_named(b)
        assert PAPER_RTT_MS[i][j] == PAPER_RTT_MS[j][i] == rtt_ms
        assert topology.rtt_between_us(i, j) == topology.rtt_between_us(j, i) == rtt_ms * 1000
    assert all(PAPER_RTT_MS[i][i] == 0 for i in range(5))
    assert topology.rtt_between_us(2, 2) == topology.lan_rtt_us == 400


def test_a_matrix_that_is_not_symmetric_is_refused() -> None:
    with pytest.raises(ValueError, match="not symmetric"):
        Topology(sites=("A", "B"), rtt_ms=((0.0, 10.0), (12.0, 0.0)))
    with pytest.raises(ValueError, match="2 x 2"):
        Topology(sites=("A", "B"), rtt_ms=((0.0, 10.0),))


def test_delays_average_half_the_round_trip_and_stay_local_inside_a_zone() -> None:
    topology = Topology()  # node 1001 in VA, 5001 in JP, 1002 in VA
    rng = Random(7)
    wan = [topology.delay_us(1001, 5001, rng) for _ in range(4000)]
    assert abs(mean(wan) - 145_300 / 2) < 200  # jitter is centred
    assert min(wan) > 65_000 and max(wan) < 80_000
    lan = [topology.delay_us(1001, 1002, rng) for _ in range(1000)]
    assert min(lan) >= 100 and max(lan) <= 300 and abs(mean(lan) - 200) < 10


def test_delays_are_a_function_of_the_generator() -> None:
    topology = Topology()
    first = [topology.delay_us(2001, 4003, Random(3)) for _ in range(5)]
    again = [topology.delay_us(2001, 4003, Random(3)) for _ in range(5)]
    assert first == again


def test_an_address_without_a_site_is_refused_and_placement_gives_one() -> None:
    topology = paper_topology(3)
    with pytest.raises(ValueError, match="no site"):
        topology.zone_of(4001)  # zone 4 of a 3-site topology
    assert topology.placed({100_001: 2}).zone_of(100_001) == 2


def test_the_network_takes_its_delays_from_the_topology() -> None:
    topology = Topology()
    network = SimNetwork(Random(1), delay_us_min=1, delay_us_max=1, topology=topology)
    (delay,) = network.transit(1001, 3001)  # VA -> OR
    assert 40_000 < delay < 48_000
    assert network.transit(1001, 1001) == (0,)


def test_isolating_a_zone_cuts_every_link_across_and_none_inside() -> None:
    topology = paper_topology(3).placed({100_001: 0})
    nodes = (1001, 1002, 2001, 2002, 3001)
    cut = isolate_zone(topology, 0, (*nodes, 100_001))
    inside, outside = (1001, 1002, 100_001), (2001, 2002, 3001)
    assert cut.blocked == {(a, b) for a in inside for b in outside} | {
        (b, a) for a in inside for b in outside
    }


# ---- the workloads ----------------------------------------------------------------------------
def test_each_zone_draws_around_the_centre_of_its_band() -> None:
    assert [zone_mean(z, 5, 1000) for z in range(5)] == [100, 300, 500, 700, 900]
    keys = NormalKeys(1000, zone_mean(3, 5, 1000), 50, Random(1))
    drawn = [keys.next(0) for _ in range(2000)]
    assert sum(600 <= k < 800 for k in drawn) / len(drawn) > 0.9  # about 95% at sigma 50
    moving = NormalKeys(1000, 100, 0, Random(1), speed_us=500_000)
    assert [moving.next(t) for t in (0, 499_999, 500_000, 2_000_000)] == [100, 100, 101, 104]


def test_conflict_sends_its_share_to_the_hot_key_and_the_rest_to_the_clients_own() -> None:
    never, always, some_of = (ConflictKeys(p, 17, Random(p)) for p in (0, 100, 25))
    assert {never.next(0) for _ in range(200)} == {17}
    assert {always.next(0) for _ in range(200)} == {0}
    some = [some_of.next(0) for _ in range(4000)]
    assert set(some) == {0, 17} and abs(some.count(0) / 4000 - 0.25) < 0.03


# ---- the benchmark ----------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_figures() -> None:
    options = WanBenchOptions(protocol="wpaxos", workload="normal", sigma=50, **SMALL)
    first, again = run_wan_bench(options), run_wan_bench(options)
    assert first.zones == again.zones and first.notes == again.notes
    assert first.events == again.events
    assert not first.violations and first.converged
    other = run_wan_bench(
        WanBenchOptions(protocol="wpaxos", workload="normal", sigma=50, seed=2, **SMALL)
    )
    assert other.zones != first.zones


def test_wpaxos_with_a_key_per_zone_commits_at_lan_latency() -> None:
    # sigma 0: every client of a zone writes the key at its zone's centre, owned in the zone.
    options = {**SMALL, "clients_per_zone": 2, "duration_s": 0.3, "warmup_s": 0.5}
    report = run_wan_bench(
        WanBenchOptions(protocol="wpaxos", workload="normal", sigma=0, **options)
    )
    assert not report.violations
    for zone in report.zones:
        assert zone.latency.ops > 50
        # LAN round trips plus the disk's sync: far below the 19.3 ms of the nearest sites.
        assert zone.latency.median_ms < 5, zone


def test_multipaxos_makes_a_remote_zone_pay_its_round_trip_to_the_leader() -> None:
    report = run_wan_bench(WanBenchOptions(leader_zone="VA", **SMALL))
    assert report.leader_zone == "VA" and not report.violations
    figures = {zone.zone: zone.latency for zone in report.zones}
    assert figures["OR"].median_ms >= 87.8  # OR -> VA and back, at least
    assert figures["CA"].median_ms >= 72.2
    assert figures["VA"].median_ms < figures["CA"].median_ms


def test_a_zone_loss_moves_phase_2_to_the_next_nearest_zone() -> None:
    options = WanBenchOptions(
        protocol="wpaxos",
        quorums=QuorumSpec(kind="grid", fz=1, fn=1),
        workload="normal",
        sigma=0,
        zone_loss_at_s=0.3,
        lost_zone="OR",
        **{**SMALL, "duration_s": 1.6},
    )
    report = run_wan_bench(options)
    assert report.lost_zone == "OR" and not report.violations and report.converged
    before = {f.zone: f.before for f in report.loss}
    after = {f.zone: f.after for f in report.loss}
    # fz = 1: phase 2 takes two zones. CA's nearest was OR (19.3 ms); once OR is lost it is
    # VA (72.2 ms), and VA keeps CA.
    assert 19.3 <= before["CA"].median_ms < 25
    assert 72.2 <= after["CA"].median_ms < 80
    assert 72.2 <= before["VA"].median_ms < 80 and 72.2 <= after["VA"].median_ms < 80


# ---- the command ------------------------------------------------------------------------------
def test_the_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "wan", "--zones", "3", "--clients-per-zone", "2", "-T", "0.5"]
    assert main([*argv, "--warmup", "0.3", "--leader-zone", "ca", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [z["zone"] for z in document["zones"]] == ["VA", "CA", "OR"]
    assert document["leader_zone"] == "CA" and document["violations"] == []
    assert document["overall"]["ops"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--leader-zone", "Mars"], "unknown zone 'Mars': the sites are VA, CA, OR, IR, JP"),
        (["--zones", "6"], "zones must be between 1 and 5"),
        (["--conflict", "120", "--workload", "conflict"], "within 0..100"),
        (["--lost-zone", "VA"], "needs the time of its loss"),
        (["--zone-loss-at-s", "9", "-T", "5"], "before the end"),
    ],
)
def test_a_bad_option_is_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "wan", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pyxos bench wan: error: ") and message in err

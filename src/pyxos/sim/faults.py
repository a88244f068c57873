"""The fault schedule of one run, drawn from the run's random generator.

Three independent timelines overlap during the fault phase:

- partitions: one episode of each shape (halves, minority, one-way, bridge, swizzle-clog) plus
  extra episodes of random shapes, in random order, each in its own window and healed before
  the window ends. The groups are drawn when the partition fires (`PartitionPick`), and most
  of the time the current leader is put on the losing side (the minority, the node cut off,
  one half of a bridge), so that a deposed leader that still believes it leads is exercised;
- crashes: `crash_episodes` crash/restart episodes, one at a time. Most crash one node, some a
  majority or the whole cluster at once (a power loss, where every node loses its unsynced
  writes together). Which nodes crash is decided when the crash fires (`CrashPick`): the current
  leader half of the time, so that leader failover is exercised, otherwise random live nodes;
  and half of the crashes wait (briefly) until a victim has a sync in flight, so that unsynced
  writes are really lost;
- network quality: one loss, one duplication and one delay-spike episode plus extras, each
  switched on and back off.

With zones (a grid of quorums), a zone can be lost whole: one more partition shape (`zone`: one
zone cut off from the others, usually the leader's) and one more crash scope (`zone`: every node
of one zone at once). Runs without zones draw exactly as before.

The runner heals everything when the fault phase ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from pyxos.faults import Fault, Heal, Partition, SetDelay, SetDrop, SetDuplicate
from pyxos.faults.partitions import bridge, one_way, split, swizzle_clog
from pyxos.sim.options import SimOptions

PARTITION_KINDS = ("halves", "minority", "one-way", "bridge", "swizzle")
ZONE_PARTITION_KINDS = (*PARTITION_KINDS, "zone")
NETWORK_KINDS = ("drop", "duplicate", "delay")


CRASH_SCOPES = ("one", "majority", "all", "zone")
Zones = tuple[tuple[int, ...], ...]
MID_SYNC_TRIES = 50
"""How many times a mid-sync crash looks again (every `MID_SYNC_RETRY_US`) for a victim with a
sync in flight before it crashes whatever it picked."""
MID_SYNC_RETRY_US = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class CrashPick:
    """Crash nodes chosen when this fires; `RestartPick` with the same episode restarts them.

    `scope` is how many: `one`, a `majority` or `all` of the members, or every node of one
    `zone`.
    """

    episode: int
    scope: str = "one"
    prefer_leader: bool = False
    mid_sync: bool = False
    tries_left: int = MID_SYNC_TRIES


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartPick:
    episode: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionPick:
    """A partition of shape `kind` whose groups are drawn when it fires; with `target_leader`
    the current leader (if any) goes on the losing side."""

    kind: str
    target_leader: bool


PlanAction = Fault | CrashPick | RestartPick | PartitionPick


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFault:
    at_us: int
    action: PlanAction


def plan_faults(
    rng: Random, options: SimOptions, members: tuple[int, ...], zones: Zones = ()
) -> list[PlannedFault]:
    """The whole fault phase's schedule, sorted by time (ties keep their planning order)."""
    phase_us = options.fault_phase_us
    plan: list[PlannedFault] = []
    plan += _partitions(rng, options, members, phase_us, zoned=bool(zones))
    plan += _crashes(rng, options, phase_us, zoned=bool(zones))
    plan += _network(rng, options, phase_us)
    plan.sort(key=lambda p: p.at_us)  # stable: ties keep their order
    return plan


def _windows(count: int, phase_us: int) -> list[tuple[int, int]]:
    start, end = phase_us * 5 // 100, phase_us * 95 // 100
    if count <= 0:
        return []
    width = (end - start) // count
    return [(start + i * width, start + (i + 1) * width) for i in range(count)]


def _kinds(rng: Random, base: tuple[str, ...], count: int) -> list[str]:
    kinds = list(base[:count])
    while len(kinds) < count:
        kinds.append(rng.choice(base))
    rng.shuffle(kinds)
    return kinds


def _partitions(
    rng: Random, options: SimOptions, members: tuple[int, ...], phase_us: int, *, zoned: bool
) -> list[PlannedFault]:
    plan: list[PlannedFault] = []
    count = options.partition_episodes
    kinds = ZONE_PARTITION_KINDS if zoned else PARTITION_KINDS
    for kind, (w0, w1) in zip(_kinds(rng, kinds, count), _windows(count, phase_us), strict=True):
        width = w1 - w0
        start = w0 + rng.randint(0, width // 10)
        end = start + rng.randint(width * 3 // 10, width * 9 // 10)
        if kind == "swizzle":
            steps = _swizzle(rng, members)
            gap = max(1, (end - start) // len(steps))
            plan += [PlannedFault(at_us=start + i * gap, action=p) for i, p in enumerate(steps)]
        else:
            pick = PartitionPick(kind=kind, target_leader=rng.random() < 0.7)
            plan.append(PlannedFault(at_us=start, action=pick))
        plan.append(PlannedFault(at_us=end, action=Heal()))
    return plan


def partition_shape(
    rng: Random,
    kind: str,
    members: tuple[int, ...],
    target: int | None = None,
    zones: Zones = (),
) -> Partition:
    """A partition of shape `kind` over `members` with random groups. `target` (a member, e.g.
    the leader) goes on the losing side: the smaller half, the cut-off minority, the one-way
    node, one half of a bridge, or the zone cut off."""
    if kind == "zone":
        return _zone_cut(rng, members, target, zones)
    order = list(members)
    rng.shuffle(order)
    n = len(order)
    if target is not None and target in order:
        order.remove(target)
        # A bridge's first node is the bridge itself: the target goes into a half instead.
        order.insert(1 if kind == "bridge" and n >= 3 else 0, target)
    if n < 2:
        return Partition(blocked=frozenset(), kind=kind)
    if kind == "halves":
        return split(order[: n // 2], order[n // 2 :], kind="halves")
    if kind == "minority":
        size = rng.randint(1, max(1, (n - 1) // 2))
        return split(order[:size], order[size:], kind="minority")
    if kind == "one-way":
        if rng.random() < 0.5:
            return one_way(order[:1], order[1:])
        return one_way(order[1:], order[:1])
    if kind == "bridge":
        if n < 3:
            return split(order[:1], order[1:], kind="bridge")
        rest = order[1:]
        return bridge(rest[: len(rest) // 2], rest[len(rest) // 2 :], order[0])
    raise ValueError(f"unknown partition kind {kind!r}")


def _zone_cut(rng: Random, members: tuple[int, ...], target: int | None, zones: Zones) -> Partition:
    """One zone (the target's, else a random one) cut off from every other."""
    if len(zones) < 2:
        raise ValueError("a zone partition needs at least two zones")
    lost = next((z for z in zones if target in z), None) if target is not None else None
    if lost is None:
        lost = zones[int(rng.random() * len(zones))]
    rest = [m for m in members if m not in lost]
    return split(list(lost), rest, kind="zone")


def zone_victims(rng: Random, zones: Zones, prefer: int | None) -> tuple[int, ...]:
    """Every node of one zone: `prefer`'s if given, else a random zone's."""
    lost = next((z for z in zones if prefer in z), None) if prefer is not None else None
    return lost if lost is not None else zones[int(rng.random() * len(zones))]


def _swizzle(rng: Random, members: tuple[int, ...]) -> list[Partition]:
    """Cut 2..n-1 nodes off one at a time, then reconnect them in a different order."""
    order = list(members)
    rng.shuffle(order)
    cut = order[: rng.randint(min(2, len(order) - 1), max(1, len(order) - 1))]
    heal = list(cut)
    rng.shuffle(heal)
    if heal == cut and len(cut) > 1:
        heal.reverse()
    steps = swizzle_clog(cut, heal, members)
    assert not steps[-1].blocked
    return steps[:-1] if steps else []  # the caller ends the episode with a Heal


def _crashes(rng: Random, options: SimOptions, phase_us: int, *, zoned: bool) -> list[PlannedFault]:
    plan: list[PlannedFault] = []
    for episode, (w0, w1) in enumerate(_windows(options.crash_episodes, phase_us), start=1):
        at = w0 + rng.randint(0, (w1 - w0) * 2 // 5)
        down = rng.randint(options.crash_down_us_min, options.crash_down_us_max)
        roll = rng.random()
        scope = "one" if roll < 0.7 else "majority" if roll < 0.85 else "all"
        if zoned and scope == "majority" and rng.random() < 0.7:
            scope = "zone"  # with zones, most large crashes take a zone down whole
        crash = CrashPick(
            episode=episode,
            scope=scope,
            prefer_leader=rng.random() < 0.5,
            mid_sync=rng.random() < 0.5,
        )
        plan.append(PlannedFault(at_us=at, action=crash))
        plan.append(PlannedFault(at_us=min(at + down, w1), action=RestartPick(episode=episode)))
    return plan


def _network(rng: Random, options: SimOptions, phase_us: int) -> list[PlannedFault]:
    plan: list[PlannedFault] = []
    count = options.network_episodes
    base = SetDelay(delay_us_min=options.delay_us_min, delay_us_max=options.delay_us_max)
    for kind, (w0, w1) in zip(
        _kinds(rng, NETWORK_KINDS, count), _windows(count, phase_us), strict=True
    ):
        width = w1 - w0
        start = w0 + rng.randint(0, width // 4)
        end = start + rng.randint(width * 2 // 5, width * 7 // 10)
        on: Fault
        off: Fault
        if kind == "drop":
            on, off = SetDrop(p=options.drop_p), SetDrop(p=0.0)
        elif kind == "duplicate":
            on, off = SetDuplicate(p=options.duplicate_p), SetDuplicate(p=0.0)
        else:
            on = SetDelay(
                delay_us_min=options.delay_us_max, delay_us_max=options.spike_delay_us_max
            )
            off = base
        plan.append(PlannedFault(at_us=start, action=on))
        plan.append(PlannedFault(at_us=end, action=off))
    return plan

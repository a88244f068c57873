"""Rejoining after losing the disk: a replica that forgot its votes must not vote until safe.

Theory of operation. A replica whose log was damaged is rebuilt empty: it has forgotten which
ballots it promised and which values it accepted. Voting at once could break Paxos in two ways:
it could accept below a ballot it promised before (a leader counted that promise), and it could
report nothing in phase 1 for a slot where its forgotten vote helped choose a value.

The rule, after *Paxos Made Live* ("a replica rebuilding its state does not vote until it has
observed a complete instance started after it began rebuilding"):

1. Ask every peer for its promise and take the highest, `floor`, then durably promise `floor`
   and ask for a new view (a stable leader at `floor` would otherwise never release us).
   A leader durably promises its own ballot before it sends `Prepare`, so every ballot this
   replica could have promised is at most `floor`: it will never accept below one again.
   Every peer must answer (a peer that is down could be the owner of the highest ballot).
2. Stay mute (no `Promise`, `Accepted` or `HeartbeatAck`, never lead) until a leader whose
   ballot is above `floor` is heard in phase 2. That leader completed phase 1 without this
   replica, so its phase-1 quorum met every quorum that chose a value with a forgotten vote, and
   it re-proposed all of them. From then on the replica's votes are all remembered.

While mute the replica still follows views and learns decided values (catch-up, snapshots).
Two replicas must not rejoin at the same time: a rejoining replica does not answer queries
until it knows its own floor, so each would wait for the other.
"""

from __future__ import annotations

from pyxos.core.ids import Ballot, NodeId


class Rejoin:
    """The state of a replica that is rejoining: who answered, and the floor once known."""

    __slots__ = ("answers", "floor", "query_tick")

    def __init__(self) -> None:
        self.answers: dict[NodeId, Ballot] = {}
        self.floor: Ballot | None = None
        self.query_tick = -(10**9)

    def on_info(self, sender: NodeId, promised: Ballot, peers: tuple[NodeId, ...]) -> bool:
        """Record a peer's promise; True when the last missing answer fixed the floor."""
        if self.floor is not None or sender not in peers:
            return False
        self.answers[sender] = max(promised, self.answers.get(sender, promised))
        if len(self.answers) < len(peers):
            return False
        self.floor = max(self.answers.values())
        return True

    def releases(self, ballot: Ballot) -> bool:
        """True if a leader in phase 2 at `ballot` makes it safe to vote again."""
        return self.floor is not None and ballot > self.floor

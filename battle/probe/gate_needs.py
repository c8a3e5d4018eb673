"""Which of the probe's capability groups a run's gates need: the one mapping from invariant ids to them.

A run probes only what its gates rest on, so a failed capability that no gate needs does not stop it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from battle.probe.capabilities import CLOUD_EDIT, EVENTS, HEALTH, QUEUE_STATE, WRITE

# Every run: the health checks (the stack must answer) and the queue state (settling waits for it to drain).
ALWAYS = (HEALTH, QUEUE_STATE)
GATE_NEEDS: Mapping[str, tuple[str, ...]] = {
    "I1": (HEALTH,),  # responsiveness probes the tool's health route
    "I3": (EVENTS,),  # the PLC's connect and restore events (the events capability expects them with a PLC)
    "I4": (WRITE,),  # a bot's write read back locally and seen in the cloud
    "I5": (EVENTS,),  # server starts (and PLC disconnects) are counted from the tool's log
    "I6": (WRITE,),
    "I7": (CLOUD_EDIT,),  # a cloud edit reaching the field
}
# A healthy tool logs its push and pull events only once something was written and edited.
IMPLIES: Mapping[str, tuple[str, ...]] = {EVENTS: (WRITE, CLOUD_EDIT)}


def groups_for(gates: Iterable[str]) -> frozenset[str]:
    """The capability groups the given gating invariant ids need (an id without needs adds nothing)."""
    groups = set(ALWAYS)
    for gate in gates:
        groups.update(GATE_NEEDS.get(gate, ()))
    for group in list(groups):
        groups.update(IMPLIES.get(group, ()))
    return frozenset(groups)


def gates_needing(capability: str, gates: Iterable[str]) -> list[str]:
    """The gates among `gates` that rest on the capability (named as the probe names it: 'group: ...')."""
    group = capability.split(":", 1)[0]
    return [gate for gate in gates if group in GATE_NEEDS.get(gate, ())]

"""The evidence bundle: everything the judges see, as plain frozen data.

The observer gathers it from artifacts (`battle.observer.gather`); invariants
read it and nothing else. Times are epoch seconds (float, UTC) so judges can do
arithmetic without parsing; ordering of ops is the journal's append order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from battle.chaos.kinds.base import NO_EFFECTS, Effects


@dataclass(frozen=True)
class Probe:
    t: float
    ok: bool
    latency_ms: float | None
    status: int | None
    phase: str  # warmup | calm | fault | recovery | judging


@dataclass(frozen=True)
class MemSample:
    t: float
    service: str
    lifetime: str  # pid or container start id: each process lifetime is fitted separately
    rss_mb: float


@dataclass(frozen=True)
class Op:
    bot: int
    op: int
    type: str  # invoke | ok | fail | info
    target: int
    value: dict[str, Any]
    hot: bool
    t: float
    status: int | None = None
    latency_ms: float | None = None
    lifetime: str = ""  # the writer's process lifetime: op numbers restart when a writer restarts


@dataclass(frozen=True)
class Fault:
    fault: str  # ledger id
    kind: str
    target: str
    params: dict[str, Any]
    planned_at: float | None
    applied_at: float | None
    restored_at: float | None
    failed: str | None = None  # error text when a step failed
    duration: float | None = None  # the planned seconds from apply to restore, when the ledger says
    effects: Effects = NO_EFFECTS  # what its kind declares it does to its target (battle.chaos.kinds)

    def declared_end(self) -> float | None:
        """When the fault's declared effect ends: its restore, or apply + duration if that is later."""
        if self.applied_at is None:
            return None
        ends = [t for t in (self.restored_at,
                            None if self.duration is None else self.applied_at + self.duration) if t is not None]
        return max(ends, default=None)


@dataclass(frozen=True)
class ToolEvent:
    t: float
    event: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class PlcReadback:
    """The harness's own read of the PLC after a download came back."""

    fault: str  # the download fault id
    returned_at: float  # simulator back up
    flags_ok_at: float | None  # first time every expected flag read back correctly, None if never
    mismatched: tuple[str, ...] = ()  # tag names still wrong at the last read


@dataclass(frozen=True)
class Mutation:
    op: int
    action: str  # add | edit | retire
    io_id: int | None
    fields: dict[str, Any]
    type: str  # ok | fail | info
    t: float


@dataclass(frozen=True)
class DockerEvent:
    t: float
    service: str
    action: str  # start | die | oom | kill | stop | restart


@dataclass(frozen=True)
class QueueState:
    active: int
    parked: int
    parked_rows: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Evidence:
    run_id: str
    started_at: float
    soak_end: float
    warmup_s: float
    probes: tuple[Probe, ...] = ()
    memory: tuple[MemSample, ...] = ()
    ops: tuple[Op, ...] = ()  # all bots, each bot's ops in its append order
    faults: tuple[Fault, ...] = ()
    events: tuple[ToolEvent, ...] = ()
    docker_events: tuple[DockerEvent, ...] = ()
    mutations: tuple[Mutation, ...] = ()
    plc_readbacks: tuple[PlcReadback, ...] = ()
    # ioId -> {"result", "comments", "description", "isSpare", "version", ...}
    local: dict[int, dict[str, Any]] = field(default_factory=dict)
    cloud: dict[int, dict[str, Any]] | None = None  # None when the cloud could not be read
    queue: QueueState | None = None  # tool queue after settle; None if unreadable
    settle_s: float | None = None  # seconds until the active queue drained; None = never drained
    propagation_s: tuple[float, ...] = ()  # cloud edit -> seen locally, measured during the soak
    problems: tuple[str, ...] = ()  # every evidence problem (damaged lines, broken files), for the record
    broken: dict[str, str] = field(default_factory=dict)  # artifact -> why it could not be used at all

"""The evidence bundle: everything the judges see, as plain frozen data.

The observer gathers it from artifacts (`battle.observer.gather`); invariants
read it and nothing else. Times are epoch seconds (float, UTC) so judges can do
arithmetic without parsing; ordering of ops is the journal's append order.

The op journals are not kept op by op: a night holds millions of ops. Gathering
reduces them in one streaming pass (`battle.observer.journals`) to a
`JournalDigest`: per target the last acknowledged write and the indeterminate
writes after it, the hot, multi-writer and never-acknowledged targets, the
comments bots sent (for I7) and per-bot tallies (for the report). Memory is
O(targets), not O(ops).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from battle.chaos.kinds.base import NO_EFFECTS, Effects


class Probe(NamedTuple):  # (a tuple: a night has 28,800 of them)
    t: float
    ok: bool
    latency_ms: float | None
    status: int | None
    phase: str  # warmup | calm | fault | recovery | judging


class MemSample(NamedTuple):  # (a tuple: a night has thousands per process)
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
    kind: str = "io"  # the record kind written (journal schema 1 wrote none: the IO, LEGACY_KIND)


Write = tuple[str | None, str]  # a whole write, normalised: (result, comments); see invariants/targets.py


class TargetWrites(NamedTuple):
    """One single-writer target, reduced to the writes that may be what stuck: the last acknowledged one
    (its op, when its outcome was journaled, its latency, the write) and the indeterminate (`info`, or never
    answered) ones after it in the bot's append order. A tuple: a night has ~100,000 of them."""

    target: int
    bot: int
    op: int  # of the last acknowledged write
    t: float  # when its outcome was journaled
    latency_ms: float | None  # as journaled: the request went out at t - latency
    write: Write  # the last acknowledged write
    later_info: tuple[Write, ...] = ()

    def accepted_writes(self) -> set[Write]:
        """The last acknowledged write, or any indeterminate one after it: each may be what stuck."""
        return {self.write, *self.later_info}

    def accepted_results(self) -> set[str | None]:
        return {result for result, _ in self.accepted_writes()}


@dataclass(frozen=True)
class WrittenTargets:
    """Which targets the loss and convergence judges may judge (invariants/targets.py says why)."""

    judged: Mapping[int, TargetWrites] = field(default_factory=dict)  # single writer, not hot, at least one ok
    hot: frozenset[int] = frozenset()
    multi_writer: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # target -> bots: the partition was broken
    never_ok: frozenset[int] = frozenset()  # single writer but nothing acknowledged: nothing to expect


@dataclass(frozen=True)
class BotTally:
    """One bot's journal counted, for the report: lines by type and the latency of its outcomes."""

    bot: int
    invokes: int = 0
    ok: int = 0
    fail: int = 0
    info: int = 0
    outcomes: int = 0  # ok + fail + info
    hot: int = 0  # outcomes on the hot set
    latencies: Mapping[float, int] = field(default_factory=dict)  # outcome latency (ms) -> how many: exact percentiles, small


@dataclass(frozen=True)
class JournalDigest:
    """The op journals reduced in one pass: what the judges and the report need, not every op."""

    # A target is a (record kind, id): record kind -> its targets. A kind no bot wrote has no entry.
    targets: Mapping[str, WrittenTargets] = field(default_factory=dict)
    # record kind -> target -> comments of ok/info writes bots sent (for I7)
    comments: Mapping[str, Mapping[int, frozenset[str]]] = field(default_factory=dict)
    bots: tuple[BotTally, ...] = ()  # by bot id
    ops: int = 0  # journal lines read as ops (invokes and outcomes)


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


class ToolEvent(NamedTuple):  # (a tuple: a night has 30,000 of them)
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
    journal: JournalDigest = field(default_factory=JournalDigest)  # every bot's journal, reduced (see JournalDigest)
    faults: tuple[Fault, ...] = ()
    events: tuple[ToolEvent, ...] = ()
    docker_events: tuple[DockerEvent, ...] = ()
    mutations: tuple[Mutation, ...] = ()
    plc_readbacks: tuple[PlcReadback, ...] = ()
    # The first record kind's snapshots: ioId -> {"result", "comments", "description", "isSpare", "version", ...}
    local: dict[int, dict[str, Any]] = field(default_factory=dict)
    cloud: dict[int, dict[str, Any]] | None = None  # None when the cloud could not be read
    # The run's record kinds (manifest `recordKinds`; the first is the one `local`/`cloud` hold), and the
    # snapshots of the others, by kind (a cloud None: could not be read).
    record_kinds: tuple[str, ...] = ("io",)
    other_local: Mapping[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    other_cloud: Mapping[str, dict[int, dict[str, Any]] | None] = field(default_factory=dict)
    queue: QueueState | None = None  # tool queue after settle; None if unreadable
    settle_s: float | None = None  # seconds until the active queue drained; None = never drained
    propagation_s: tuple[float, ...] = ()  # cloud edit -> seen locally, measured during the soak
    # ioId -> [(event time, the write the cloud applied)] from the tool's `records_pushed` events, in event order.
    # Gathered only when a fault that loses the tool's data was applied: the only case a judge reads it (I4).
    applied: Mapping[int, tuple[tuple[float, Write], ...]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # every evidence problem (damaged lines, broken files), for the record
    broken: dict[str, str] = field(default_factory=dict)  # artifact -> why it could not be used at all

    def targets_of(self, kind: str) -> WrittenTargets:
        """The targets of one record kind (none when no bot wrote it)."""
        return self.journal.targets.get(kind, WrittenTargets())

    def local_of(self, kind: str) -> dict[int, dict[str, Any]]:
        return self.local if kind == self.record_kinds[0] else self.other_local.get(kind, {})

    def cloud_of(self, kind: str) -> dict[int, dict[str, Any]] | None:
        return self.cloud if kind == self.record_kinds[0] else self.other_cloud.get(kind)

"""The observer's run: watch the soak, quiesce, calm, settle, snapshot, judge.

Probing starts first and stops last: the judging phase is observed too.
Every phase's time is recorded in the manifest so the morning reader can see
where a run spent its minutes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from battle.adapters.base import SutAdapter
from battle.common.control import ack_problems, heartbeat_path, request_stop, wait_for_acks
from battle.common.jsonl import JsonlWriter, read_jsonl, write_json_atomic
from battle.common.timefmt import iso_utc
from battle.observer.cost import CostSource, cost_sampler
from battle.observer.follow import EventSink, FileFollower
from battle.observer.heartbeat import Heartbeat
from battle.observer.memory import MemorySampler, MemorySource
from battle.observer.phases import PhaseTracker
from battle.observer.plcwatch import FlagChecker, RestoreWatcher
from battle.observer.probe import HealthProber
from battle.observer.settle import settle, wait_converged
from battle.observer.snapshot import take_snapshots, wait_for_propagation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObserverSettings:
    run_dir: Path
    soak_start: float  # epoch
    soak_end: float  # epoch
    warmup_s: float
    settle_max_s: float
    propagation_max_s: float
    restore_max_s: float
    quiesce_max_s: float = 60.0
    writers: tuple[str, ...] = ()  # ack names: bot0.. and mutator


@dataclass
class ObserverHooks:
    adapter: SutAdapter
    memory_source: MemorySource
    calm: Callable[[], dict[str, Any]]
    plc_checker: Callable[[], FlagChecker] | None = None
    expected_flags: dict[str, Any] = field(default_factory=dict)
    cost_source: CostSource | None = None  # cost.csv (informational); the Docker backend samples it in chaos
    # files the tool (and other services) print structured events into: (path, source name)
    event_logs: tuple[tuple[Path, str], ...] = ()
    # extra event producers (e.g. the Docker event stream): started with the events writer, stopped at the end
    event_streams: tuple[Callable[[JsonlWriter], Callable[[], None]], ...] = ()
    progress: Callable[[str], None] = lambda line: None


class Observer:
    def __init__(self, settings: ObserverSettings, hooks: ObserverHooks,
                 clock: Callable[[], float] = time.time) -> None:
        self.s = settings
        self.h = hooks
        self.clock = clock
        run_dir = settings.run_dir
        self.times: dict[str, str] = {}
        self.notes: list[str] = []
        self.errors: list[str] = []  # harness failures: each makes the verdict an error, naming the part
        self.phase = PhaseTracker(settings.soak_start + settings.warmup_s, clock)
        self.prober = HealthProber(hooks.adapter.tool_health_url(), run_dir / "health.csv", self.phase)
        self.sampler = MemorySampler(hooks.memory_source, run_dir / "memory.csv")
        self.cost = None if hooks.cost_source is None else cost_sampler(hooks.cost_source, run_dir / "cost.csv")
        self.events = JsonlWriter(run_dir / "events.jsonl")
        vocabulary = hooks.adapter.vocabulary()
        self.sinks = [EventSink(self.events, source, vocabulary) for _, source in hooks.event_logs]
        self.followers = [FileFollower(path, sink) for (path, _), sink in zip(hooks.event_logs, self.sinks,
                                                                              strict=True)]
        self.watcher = None
        if hooks.plc_checker is not None and hooks.expected_flags:
            self.watcher = RestoreWatcher(hooks.plc_checker, hooks.expected_flags, run_dir / "plc-readback.jsonl",
                                          give_up_s=settings.restore_max_s + 30.0)
        self.ledger_follower = FileFollower(run_dir / "injected.jsonl", self._on_ledger_line)
        self._stream_stops: list[Callable[[], None]] = []
        self.heartbeat = Heartbeat(heartbeat_path(run_dir))  # chaos's dead-man's switch watches it

    def _on_ledger_line(self, line: str) -> None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return  # a damaged ledger line is reported when the evidence is gathered
        if isinstance(record, dict):
            self.phase.on_ledger(record)
            if self.watcher is not None:
                self.watcher.on_ledger(record)

    def loop_errors(self) -> list[str]:
        """The observer's own supervisor loops log and count what they catch; a nonzero count is a
        harness failure in the verdict (what the tool did wrong is data, never counted here)."""
        loops: list[tuple[str, Any]] = [("health prober", self.prober), ("memory sampler", self.sampler),
                                        ("cost sampler", self.cost),
                                        ("ledger follower", self.ledger_follower), ("heartbeat", self.heartbeat),
                                        ("PLC read-back watcher", self.watcher)]
        loops += [(f"event follower of {path.name}", follower)
                  for (path, _), follower in zip(self.h.event_logs, self.followers, strict=True)]
        problems = []
        for name, loop in loops:
            count = 0 if loop is None else int(getattr(loop, "errors", 0))
            if count:
                problems.append(f"harness: the observer's {name} caught {count} error(s) in its loop (logged "
                                "with tracebacks in the observer's log)")
        return problems

    def _mark(self, name: str) -> None:
        self.times[name] = iso_utc(self.clock())

    def start(self) -> None:
        self.heartbeat.start()
        self.prober.start()
        self.sampler.start()
        if self.cost is not None:
            self.cost.start()
        for follower in self.followers:
            follower.start()
        self.ledger_follower.start()
        if self.watcher is not None:
            self.watcher.start()
        for stream in self.h.event_streams:
            self._stream_stops.append(stream(self.events))

    def progress_line(self) -> str:
        elapsed = max(0.0, self.clock() - self.s.soak_start)
        total = self.s.soak_end - self.s.soak_start
        return (f"soak {elapsed / 60:5.1f}/{total / 60:.1f} min | probes ok {self.prober.ok} failed "
                f"{self.prober.failed} | faults applied {self.phase.applied} restored {self.phase.restored} "
                f"failed {self.phase.failed} | events {sum(s.count for s in self.sinks)} | phase {self.phase()}")

    def wait_soak(self, sleep: Callable[[float], None] = time.sleep, every_s: float = 15.0) -> None:
        last = 0.0
        while self.clock() < self.s.soak_end:
            if self.clock() - last >= every_s:
                last = self.clock()
                self.h.progress(self.progress_line())
            sleep(min(1.0, max(0.0, self.s.soak_end - self.clock())))
        self._mark("soakEnd")

    def finish(self) -> dict[str, Any]:
        """Quiesce, calm, settle, snapshot; returns what happened (for the manifest)."""
        request_stop(self.s.run_dir)
        missing = wait_for_acks(self.s.run_dir, self.s.writers, self.s.quiesce_max_s)
        if missing:
            # A writer acks only after it saw STOP: no ack means it died or hung, and its journal may
            # lack writes the tool took. That is the harness's failure, never the system's.
            self.errors.append(f"harness: no ack from {', '.join(missing)} within {self.s.quiesce_max_s:.0f} s "
                               "after STOP: the writer died or hung (see its log: logs/crew.log or logs/mutator.log)")
        self.errors.extend(ack_problems(self.s.run_dir, self.s.writers))
        self._mark("quiesced")
        try:
            calm = self.h.calm()
        except Exception as exc:  # a calm that fails is reported; judging still happens
            calm = {"error": f"{type(exc).__name__}: {exc}"}
            self.errors.append(f"harness: calm failed, faults may still be applied: {calm['error']}")
        self._mark("calmed")
        result = settle(self.h.adapter, self.s.settle_max_s)
        converged, converge_s, differing = False, 0.0, -1
        if result.drained:
            converged, converge_s, differing = wait_converged(
                self.h.adapter, max(0.0, self.s.settle_max_s - (result.seconds or 0.0)))
        write_json_atomic(self.s.run_dir / "settle.json",
                          {"drained": result.drained, "seconds": result.seconds, "lastQueue": result.last_queue,
                           "lastError": result.last_error, "polls": result.polls, "converged": converged,
                           "convergeS": round(converge_s, 3), "stillDiffering": differing})
        if result.drained and not converged:
            self.notes.append(f"tool and cloud still differ on {differing} record(s) {converge_s:.0f} s after "
                              "the queue drained")
        self._mark("settled")
        expected = self._expected_mutations()
        if expected:
            seen, waited = wait_for_propagation(self.h.adapter, expected, self.s.propagation_max_s)
            self.notes.append(f"cloud edits {'all seen' if seen else 'NOT all seen'} locally after {waited:.0f} s")
        if self.watcher is not None:
            self.watcher.stop(wait_s=self.s.restore_max_s + 40.0)
        self.phase.enter_judging()
        self.notes.extend(take_snapshots(self.h.adapter, self.s.run_dir))
        self._mark("snapshotted")
        for follower in [*self.followers, self.ledger_follower]:
            follower.stop()
        for stop in self._stream_stops:
            stop()
        self.sampler.stop()
        if self.cost is not None:
            self.cost.stop()
        self.notes.extend(note for note in (sink.note() for sink in self.sinks) if note)
        return {"calm": calm, "missingAcks": missing, "settle": result.drained, "notes": self.notes,
                "errors": [*self.errors, *self.loop_errors()]}

    def _expected_mutations(self) -> list[tuple[int, dict[str, Any]]]:
        records, _ = read_jsonl(self.s.run_dir / "mutations.jsonl")
        merged: dict[int, dict[str, Any]] = {}
        for record in records:
            if record.get("type") == "ok" and record.get("ioId") is not None:
                merged.setdefault(int(record["ioId"]), {}).update(record.get("fields") or {})
        return sorted(merged.items())

    def close(self) -> None:
        """Stop probing and the heartbeat: the very last step, after the verdict is written."""
        self.prober.stop()
        self.heartbeat.stop()
        self.events.close()


"""The conformance probe itself: each capability of an adapter driven once against a running system.

Pure over its inputs: the adapter, a function that sends a bot's write to the tool, a function that says
which battle events the tool's log has shown so far, and a clock. Every wait is bounded by `wait_s`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from battle.adapters.base import AdapterError, BotWrite, RecordKind, SutAdapter, classify_http_status
from battle.adapters.events import BattleEvent
from battle.probe.results import CapabilityResult, Status

T = TypeVar("T")
SendWrite = Callable[[BotWrite], int]  # the HTTP status the tool answered; AdapterError if none
EventsSeen = Callable[[], set[str]]
PROBE_USER = "battle-probe"
WRITE_ATTEMPTS = 8  # draws of (target, write) until one the tool accepts with a value the cloud lacks
# A healthy system shows these without any fault; the others need one (a dropped link, a refused row).
HEALTHY_EVENTS = (BattleEvent.TOOL_STARTED, BattleEvent.PLC_CONNECTED, BattleEvent.PLC_RESTORED,
                  BattleEvent.RECORDS_PUSHED, BattleEvent.PULL_APPLIED)
PLC_EVENTS = (BattleEvent.PLC_CONNECTED, BattleEvent.PLC_DISCONNECTED, BattleEvent.PLC_RESTORED)
# The probe's groups of capabilities, in the order they run; a caller may run only some (battle run does).
HEALTH, WRITE, CLOUD_EDIT, QUEUE_STATE, EVENTS = "health", "write", "cloud edit", "queue state", "events"
GROUPS = (HEALTH, WRITE, CLOUD_EDIT, QUEUE_STATE, EVENTS)


@dataclass(frozen=True)
class ProbeClock:
    now: Callable[[], float]
    sleep: Callable[[float], None]


@dataclass(frozen=True)
class ProbeSettings:
    wait_s: float = 30.0
    poll_s: float = 0.2
    seed: int = 1


class CapabilityFailed(Exception):
    """The capability did not work; the message is the table's `why`."""


@dataclass
class Probe:
    adapter: SutAdapter
    send_write: SendWrite
    events_seen: EventsSeen | None
    clock: ProbeClock
    settings: ProbeSettings = field(default_factory=ProbeSettings)
    results: list[CapabilityResult] = field(default_factory=list)

    @contextmanager
    def capability(self, name: str, kind: str | None = None) -> Iterator[list[str]]:
        """Time one capability; the body appends its detail, raises CapabilityFailed/AdapterError to fail."""
        started = self.clock.now()
        detail: list[str] = []
        status: Status = "ok"
        try:
            yield detail
        except (CapabilityFailed, AdapterError) as exc:
            status, detail = "failed", [str(exc)]
        self.results.append(CapabilityResult(name, status, "; ".join(detail), round(self.clock.now() - started, 3),
                                             kind))

    def wait_for(self, what: str, check: Callable[[], T | None]) -> T:
        """Poll `check` until it gives a value; CapabilityFailed naming `what` (and the last error) at the bound."""
        deadline = self.clock.now() + self.settings.wait_s
        last_error = ""
        while True:
            try:
                found = check()
                if found is not None:
                    return found
            except AdapterError as exc:
                last_error = f" (last read failed: {exc})"
            if self.clock.now() >= deadline:
                raise CapabilityFailed(f"{what} not seen within {self.settings.wait_s:g} s{last_error}")
            self.clock.sleep(self.settings.poll_s)

    # ---- the capabilities

    def run(self, groups: frozenset[str] = frozenset(GROUPS)) -> list[CapabilityResult]:
        """Every capability of the given groups (all by default), in GROUPS order."""
        unknown = groups - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown probe groups {sorted(unknown)}; accepted: {', '.join(GROUPS)}")
        rng = random.Random(self.settings.seed)
        if HEALTH in groups:
            with self.capability("health: tool"):
                if not self.adapter.tool_healthy():
                    raise CapabilityFailed(f"{self.adapter.tool_health_url()} does not answer healthy")
            with self.capability("health: cloud"):
                if not self.adapter.cloud_healthy():
                    raise CapabilityFailed("the cloud's health check does not answer healthy")
        if WRITE in groups:
            for kind in self.adapter.record_kinds().values():
                self.probe_kind(kind, rng)
        if CLOUD_EDIT in groups:
            self.probe_cloud_edit(rng)
        if QUEUE_STATE in groups:
            with self.capability("queue state: read") as detail:
                state = self.adapter.queue_state()
                detail.append(f"active={state.active} parked={state.parked}")
        if EVENTS in groups:
            self.probe_events()
        return self.results

    def probe_kind(self, kind: RecordKind, rng: random.Random) -> None:
        written: tuple[int, tuple[Any, ...]] | None = None
        with self.capability(f"write: read back locally [{kind.name}]", kind.name) as detail:
            target_id, value = written = self.write_once(kind, rng)
            self.wait_for(f"{kind.name} {target_id} holding {value} locally",
                          lambda: True if _value_of(kind, kind.local_snapshot(), target_id) == value else None)
            detail.append(f"{kind.name} {target_id} = {value}")
        with self.capability(f"write: seen in the cloud [{kind.name}]", kind.name) as detail:
            if written is None:
                raise CapabilityFailed("no write to look for: the local write failed")
            target_id, value = written
            self.wait_for(f"{kind.name} {target_id} holding {value} in the cloud",
                          lambda: True if _value_of(kind, kind.cloud_snapshot(), target_id) == value else None)
            detail.append(f"{kind.name} {target_id} = {value}")

    def write_once(self, kind: RecordKind, rng: random.Random) -> tuple[int, tuple[Any, ...]]:
        """One write the tool accepts, with a value the cloud does not hold yet (so seeing it there means it
        was synced); its target id and compared value."""
        targets = kind.list_targets()
        if not targets:
            raise CapabilityFailed(f"the tool lists no {kind.name} records to write")
        cloud = {int(record["id"]): kind.compared_value(record) for record in kind.cloud_snapshot()}
        refusals = []
        for _ in range(WRITE_ATTEMPTS):
            target = rng.choice(targets)
            write = kind.bot_write(rng, target, PROBE_USER)
            value = kind.compared_value(write.value)
            if cloud.get(target.id) == value:
                continue
            status = self.send_write(write)
            if kind.classify_status(status) == "ok":
                return target.id, value
            refusals.append(f"{write.method} {write.path} answered HTTP {status}")
        raise CapabilityFailed(f"no write accepted in {WRITE_ATTEMPTS} draws: " + ("; ".join(refusals[:3]) or
                               "every draw matched the cloud's value"))

    def probe_cloud_edit(self, rng: random.Random) -> None:
        kind = self.adapter.primary_kind()
        with self.capability("cloud edit: reached the field", kind.name) as detail:
            edit = self.adapter.choose_cloud_edit(rng, 1)
            result = self.adapter.apply_cloud_edit(edit)
            if classify_http_status(result.status) != "ok":
                raise CapabilityFailed(f"the cloud answered HTTP {result.status} to {edit.action}: {result.text}")
            record_id = result.record_id

            def visible() -> bool | None:
                local = {int(record["id"]): record for record in kind.local_snapshot()}
                return True if self.adapter.edit_visible(local.get(record_id or -1), edit.fields) else None

            self.wait_for(f"the cloud's {edit.action} of {kind.name} {record_id} in the tool", visible)
            detail.append(f"{edit.action} {kind.name} {record_id}: {dict(edit.fields)}")

    def probe_events(self) -> None:
        mapped = mapped_events(self.adapter)
        healthy = [event for event in mapped if event in HEALTHY_EVENTS]
        fault_only = [event for event in mapped if event not in HEALTHY_EVENTS]
        with self.capability("events: observed in the tool's log") as detail:
            if self.events_seen is None:
                raise CapabilityFailed("no tool log to follow (give --tool-log FILE)")
            events_seen = self.events_seen
            try:
                self.wait_for("every event", lambda: True if set(healthy) <= events_seen() else None)
            except CapabilityFailed:
                missing = [event for event in healthy if event not in events_seen()]
                raise CapabilityFailed(f"not observed within {self.settings.wait_s:g} s: {', '.join(missing)}; "
                                       f"observed: {', '.join(sorted(events_seen())) or 'none'}") from None
            detail.append(", ".join(healthy))
        if fault_only:
            seen = self.events_seen() if self.events_seen is not None else set()
            self.results.append(CapabilityResult(
                "events: only under faults", "skipped",
                f"a healthy probe does not provoke {', '.join(e for e in fault_only if e not in seen) or 'none'}"
                + (f"; observed anyway: {', '.join(e for e in fault_only if e in seen)}"
                   if any(e in seen for e in fault_only) else ""), 0.0))


def mapped_events(adapter: SutAdapter) -> list[str]:
    """The battle events the adapter's vocabulary maps, in battle's order (PLC events only with a PLC)."""
    vocabulary = adapter.vocabulary()
    declared = {rule.event for rule in vocabulary.json_rules} | {rule.event for rule in vocabulary.text_rules}
    return [str(event) for event in BattleEvent if event in declared and event is not BattleEvent.OTHER
            and (adapter.has_plc or event not in PLC_EVENTS)]


def _value_of(kind: RecordKind, records: list[dict[str, Any]], record_id: int) -> tuple[Any, ...] | None:
    return next((kind.compared_value(record) for record in records if int(record["id"]) == record_id), None)

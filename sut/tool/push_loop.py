"""The push cycle every outbox shares: read a batch, send it, settle each item by the cloud's outcome.

Outcome rules (docs/contracts.md section 3):
- transient (429, 5xx, network): the whole batch waits with capped exponential
  backoff, honouring Retry-After; such rows are never parked or dropped;
- applied: the row goes, unless a newer edit re-wrote it meanwhile; the local
  version follows the cloud's; `sync.pushed` names each applied item with the
  value and version the cloud stored (`appliedItems`), so the event log alone
  tells whether a write reached the cloud before the tool was wiped;
- conflict: rebase on the cloud's version and try again; at the conflict cap the
  row is parked (kind `conflict`), kept for a human;
- rejected: parked (kind `business`) with the cloud's reason.

A kind of record subclasses `PushLoop` with its outbox, its cloud call and the
name of its id in events; planted bugs hook into `on_conflict` / `on_batch_failure`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sut.tool.backoff import Backoff
from sut.tool.cloud_client import CloudClient, ItemOutcome, classify_item
from sut.tool.config import ToolConfig
from sut.tool.errors import CloudCallFailed
from sut.tool.events import EventLog
from sut.tool.outbox_rows import OutboxRows

BATCH_LIMIT = 50


class PushableRow(Protocol):
    @property
    def record_id(self) -> int: ...
    @property
    def base_version(self) -> int: ...

    def match(self) -> tuple[object, ...]: ...
    def push_item(self) -> dict[str, object]: ...
    def applied_item(self, cloud_version: int) -> dict[str, object]: ...


@dataclass
class PushTally:
    applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    other: int = 0
    applied_items: list[dict[str, object]] = field(default_factory=list)


class PushLoop(ABC):
    name: str
    id_field: str  # how events and the cloud name a record's id: ioId, cellId
    event_tags: dict[str, Any] = {}  # added to every event: tells one kind's events from another's

    def __init__(self, config: ToolConfig, events: EventLog, outbox: OutboxRows,
                 client_factory: Callable[[], CloudClient] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self._config = config
        self._events = events
        self._outbox = outbox
        self._backoff = Backoff(config.backoff_base_s, config.backoff_max_s, rand)
        self._client_factory = client_factory or (lambda: CloudClient(
            config.cloud_url or "", config.cloud_api_key, config.http_timeout_s))
        self._client: CloudClient | None = None
        self.last_error: str | None = None

    @abstractmethod
    def active_batch(self, limit: int) -> list[Any]:
        """Up to `limit` active outbox rows, oldest edit first."""

    @abstractmethod
    def send(self, client: CloudClient, items: list[dict[str, object]]) -> list[Any]:
        """Push the items; one result per item, in order (CloudCallFailed for the whole batch)."""

    def on_applied(self, row: Any, cloud_version: int, answer: dict[str, Any]) -> None:
        self._outbox.settle(row, cloud_version)

    def on_conflict(self, row: Any, cloud_version: int) -> None:
        cap = self._config.conflict_cap
        conflicts = self._outbox.rebase(row, cloud_version, self.conflict_error(row, cloud_version))
        if conflicts >= cap:
            self.park(row, "conflict", f"{self.conflict_error(row, cloud_version)} ({conflicts} conflicts, cap {cap})")

    def on_batch_failure(self, batch: list[Any], exc: CloudCallFailed) -> float:
        if exc.transient:
            delay = self._backoff.next_delay(exc.retry_after_s)
            self.emit("sync.retry", count=len(batch), error=str(exc)[:200], delayS=round(delay, 3), status=exc.status)
            return delay
        for row in batch:
            self.count_failure(row, str(exc))
        return self._backoff.next_delay()

    # ---- the cycle ---------------------------------------------------------------------------------

    def run_once(self) -> float:
        """One push cycle; returns how long to wait before the next."""
        batch = self.active_batch(BATCH_LIMIT)
        if not batch:
            self._backoff.reset()
            return self._config.push_interval_s
        if self._client is None:
            self._client = self._client_factory()
        try:
            results = self.send(self._client, [row.push_item() for row in batch])
        except CloudCallFailed as exc:
            self.last_error = str(exc)
            return self.on_batch_failure(batch, exc)
        self._backoff.reset()
        self.last_error = None
        tally = self._settle(batch, results)
        self.emit("sync.pushed", count=len(batch), applied=tally.applied, conflicts=tally.conflicts,
                  rejected=tally.rejected, appliedItems=tally.applied_items)
        # A full batch means more is probably waiting: keep draining without a pause.
        return 0.0 if len(batch) == BATCH_LIMIT else self._config.push_interval_s

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def emit(self, event: str, **fields: Any) -> None:
        self._events.emit(event, **fields, **self.event_tags)

    def conflict_error(self, row: PushableRow, cloud_version: int) -> str:
        return f"version conflict: pushed against v{row.base_version}, cloud at v{cloud_version}"

    def count_failure(self, row: PushableRow, error: str) -> None:
        attempts = self._outbox.count_failure(row, error)
        if attempts >= self._config.retry_cap:
            self.park(row, "other", f"{error} ({attempts} failed attempts, cap {self._config.retry_cap})")

    def park(self, row: PushableRow, kind: str, reason: str) -> None:
        if self._outbox.park(row, kind, reason):
            self.emit("sync.parked", **{self.id_field: row.record_id}, reason=reason, kind=kind)

    def drop(self, row: PushableRow, kind: str, reason: str) -> None:
        """Planted bugs only: the row is thrown away, and only this event says so."""
        self._outbox.delete(row.record_id)
        self.emit("sync.dropped", **{self.id_field: row.record_id}, reason=reason, kind=kind)

    def _settle(self, batch: list[Any], results: list[Any]) -> PushTally:
        tally = PushTally()
        for row, item in zip(batch, results, strict=True):
            outcome = classify_item(item, self.id_field)
            if outcome.status != "malformed" and outcome.record_id != row.record_id:
                outcome = ItemOutcome("malformed", outcome.record_id, reason=f"result names {self.id_field}"
                                      f" {outcome.record_id}, expected {row.record_id}")
            if outcome.status == "applied":
                assert outcome.version is not None
                self.on_applied(row, outcome.version, item)
                tally.applied += 1
                tally.applied_items.append(row.applied_item(outcome.version))
            elif outcome.status == "conflict":
                assert outcome.version is not None
                self.on_conflict(row, outcome.version)
                tally.conflicts += 1
            elif outcome.status == "rejected":
                self.park(row, "business", outcome.reason or "rejected")
                tally.rejected += 1
            else:
                self.count_failure(row, f"unusable push result for {self.id_field} {row.record_id}: {outcome.reason}")
                tally.other += 1
        return tally

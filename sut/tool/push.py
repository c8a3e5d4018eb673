"""Push worker: drains the outbox to the cloud in small batches.

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sut.tool.backoff import Backoff
from sut.tool.cloud_client import CloudClient, ItemOutcome, classify_item
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.errors import CloudCallFailed
from sut.tool.events import EventLog
from sut.tool.outbox import Outbox, PendingRow

BATCH_LIMIT = 50


@dataclass
class PushTally:
    applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    other: int = 0
    dropped: list[int] = field(default_factory=list)
    applied_items: list[dict[str, object]] = field(default_factory=list)


class PushWorker:
    name = "push"

    def __init__(self, config: ToolConfig, db: ToolDb, events: EventLog,
                 client_factory: Callable[[], CloudClient] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self._config = config
        self._events = events
        self._outbox = Outbox(db)
        self._backoff = Backoff(config.backoff_base_s, config.backoff_max_s, rand)
        self._client_factory = client_factory or (lambda: CloudClient(
            config.cloud_url or "", config.cloud_api_key, config.http_timeout_s))
        self._client: CloudClient | None = None
        self.last_error: str | None = None

    def run_once(self) -> float:
        """One push cycle; returns how long to wait before the next."""
        batch = self._outbox.active_batch(BATCH_LIMIT)
        if not batch:
            self._backoff.reset()
            return self._config.push_interval_s
        if self._client is None:
            self._client = self._client_factory()
        try:
            results = self._client.push([row.push_item() for row in batch])
        except CloudCallFailed as exc:
            self.last_error = str(exc)
            return self._on_batch_failure(batch, exc)
        self._backoff.reset()
        self.last_error = None
        tally = self._settle(batch, results)
        self._events.emit("sync.pushed", count=len(batch), applied=tally.applied,
                          conflicts=tally.conflicts, rejected=tally.rejected, appliedItems=tally.applied_items)
        # A full batch means more is probably waiting: keep draining without a pause.
        return 0.0 if len(batch) == BATCH_LIMIT else self._config.push_interval_s

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # ---- whole-batch failures -----------------------------------------------------------------------

    def _on_batch_failure(self, batch: list[PendingRow], exc: CloudCallFailed) -> float:
        if exc.status == 429 and self._config.has_bug("drop_429"):
            # Planted bug `drop_429`: the historic client lumped 429 in with the other 4xx
            # ("the request itself is bad, retrying cannot help") and threw the batch away.
            for row in batch:
                self._outbox.delete(row.io_id)
                self._events.emit("sync.dropped", ioId=row.io_id, reason="HTTP 429", kind="transient")
            return self._config.push_interval_s
        if exc.transient:
            delay = self._backoff.next_delay(exc.retry_after_s)
            self._events.emit("sync.retry", count=len(batch), error=str(exc)[:200], delayS=round(delay, 3),
                              status=exc.status)
            return delay
        for row in batch:
            self._count_failure(row, str(exc))
        return self._backoff.next_delay()

    # ---- per-item outcomes ----------------------------------------------------------------------------

    def _settle(self, batch: list[PendingRow], results: list[Any]) -> PushTally:
        tally = PushTally()
        for row, item in zip(batch, results, strict=True):
            outcome = classify_item(item)
            if outcome.status != "malformed" and outcome.io_id != row.io_id:
                outcome = ItemOutcome("malformed", outcome.io_id,
                                      reason=f"result names IO {outcome.io_id}, expected IO {row.io_id}")
            if outcome.status == "applied":
                assert outcome.version is not None
                self._on_applied(row, outcome.version, item)
                tally.applied += 1
                tally.applied_items.append(row.applied_item(outcome.version))
            elif outcome.status == "conflict":
                assert outcome.version is not None
                self._on_conflict(row, outcome.version)
                tally.conflicts += 1
            elif outcome.status == "rejected":
                self._park(row, "business", outcome.reason or "rejected")
                tally.rejected += 1
            else:
                self._count_failure(row, f"unusable push result for IO {row.io_id}: {outcome.reason}")
                tally.other += 1
        return tally

    def _on_applied(self, row: PendingRow, cloud_version: int, answer: dict[str, Any]) -> None:
        # Planted bug `lose_comment`: the outbox adopts a "canonical copy" built from this answer
        # (outbox.py, `_adopt_cloud_copy`); the pull then skips the echo (pull.py, `skip_echo`).
        adopt = answer if self._config.has_bug("lose_comment") else None
        self._outbox.settle_applied(row, cloud_version, adopt_answer=adopt)

    def _on_conflict(self, row: PendingRow, cloud_version: int) -> None:
        cap = self._config.conflict_cap
        error = f"version conflict: pushed against v{row.base_version}, cloud at v{cloud_version}"
        if self._config.has_bug("conflict_drop"):
            # Planted bug `conflict_drop`: no rebase, so the same stale base conflicts every
            # time, and the cap "cleans up" the row instead of keeping it.
            conflicts = self._outbox.count_conflict(row, error)
            if conflicts >= cap:
                self._outbox.delete(row.io_id)
                self._events.emit("sync.dropped", ioId=row.io_id, kind="conflict",
                                  reason=f"{error} ({conflicts} conflicts, cap {cap})")
            return
        conflicts = self._outbox.rebase(row, cloud_version, error)
        if conflicts >= cap:
            self._park(row, "conflict", f"{error} ({conflicts} conflicts, cap {cap})")

    def _count_failure(self, row: PendingRow, error: str) -> None:
        attempts = self._outbox.count_failure(row, error)
        if attempts >= self._config.retry_cap:
            self._park(row, "other", f"{error} ({attempts} failed attempts, cap {self._config.retry_cap})")

    def _park(self, row: PendingRow, kind: str, reason: str) -> None:
        if self._outbox.park(row, kind, reason):
            self._events.emit("sync.parked", ioId=row.io_id, reason=reason, kind=kind)

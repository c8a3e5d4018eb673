"""Push worker of IO marks: drains `PendingSyncs` to the cloud (the cycle and its rules: push_loop.py).

Here: the IO's cloud call and the IO's planted bugs (`drop_429`, `conflict_drop`, `lose_comment`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sut.tool.cloud_client import CloudClient
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.errors import CloudCallFailed
from sut.tool.events import EventLog
from sut.tool.outbox import Outbox, PendingRow
from sut.tool.push_loop import BATCH_LIMIT, PushLoop, PushTally

__all__ = ["BATCH_LIMIT", "PushTally", "PushWorker"]


class PushWorker(PushLoop):
    name = "push"
    id_field = "ioId"

    def __init__(self, config: ToolConfig, db: ToolDb, events: EventLog,
                 client_factory: Callable[[], CloudClient] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self._ios = Outbox(db)
        super().__init__(config, events, self._ios, client_factory, rand)

    def active_batch(self, limit: int) -> list[PendingRow]:
        return self._ios.active_batch(limit)

    def send(self, client: CloudClient, items: list[dict[str, object]]) -> list[Any]:
        return client.push(items)

    def on_batch_failure(self, batch: list[PendingRow], exc: CloudCallFailed) -> float:
        if exc.status == 429 and self._config.has_bug("drop_429"):
            # Planted bug `drop_429`: the historic client lumped 429 in with the other 4xx
            # ("the request itself is bad, retrying cannot help") and threw the batch away.
            for row in batch:
                self.drop(row, "transient", "HTTP 429")
            return self._config.push_interval_s
        return super().on_batch_failure(batch, exc)

    def on_applied(self, row: PendingRow, cloud_version: int, answer: dict[str, Any]) -> None:
        # Planted bug `lose_comment`: the outbox adopts a "canonical copy" built from this answer
        # (outbox.py, `_adopt_cloud_copy`); the pull then skips the echo (pull.py, `skip_echo`).
        adopt = answer if self._config.has_bug("lose_comment") else None
        self._ios.settle_applied(row, cloud_version, adopt_answer=adopt)

    def on_conflict(self, row: PendingRow, cloud_version: int) -> None:
        if not self._config.has_bug("conflict_drop"):
            super().on_conflict(row, cloud_version)
            return
        # Planted bug `conflict_drop`: no rebase, so the same stale base conflicts every
        # time, and the cap "cleans up" the row instead of keeping it.
        cap, error = self._config.conflict_cap, self.conflict_error(row, cloud_version)
        conflicts = self._outbox.count_conflict(row, error)
        if conflicts >= cap:
            self.drop(row, "conflict", f"{error} ({conflicts} conflicts, cap {cap})")

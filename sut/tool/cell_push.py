"""Push worker of sheet cells: drains `PendingCellSyncs` to the cloud (the cycle and its rules: push_loop.py).

Its events are the IO push's (`sync.pushed`, `sync.parked`, `sync.dropped`) with
`cellId` for the id and `recordKind: "cell"`; `kind` keeps its meaning (why a row
was parked or dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sut.tool.cell_outbox import CellOutbox, PendingCell
from sut.tool.cloud_client import CloudClient
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.events import EventLog
from sut.tool.push_loop import PushLoop

CELL_RECORD_KIND = "cell"


class CellPushWorker(PushLoop):
    name = "cell-push"
    id_field = "cellId"
    event_tags = {"recordKind": CELL_RECORD_KIND}

    def __init__(self, config: ToolConfig, db: ToolDb, events: EventLog,
                 client_factory: Callable[[], CloudClient] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self._cells = CellOutbox(db)
        super().__init__(config, events, self._cells, client_factory, rand)

    def active_batch(self, limit: int) -> list[PendingCell]:
        return self._cells.active_batch(limit)

    def send(self, client: CloudClient, items: list[dict[str, object]]) -> list[Any]:
        return client.push_cells(items)

    def on_conflict(self, row: PendingCell, cloud_version: int) -> None:
        if self._config.has_bug("cell_conflict_drop"):
            # Planted bug `cell_conflict_drop`: the historic sheet sync treated a conflict as
            # "someone in the office already filled this cell" and threw the field's entry away.
            self.drop(row, "conflict", self.conflict_error(row, cloud_version))
            return
        super().on_conflict(row, cloud_version)

"""The sheet cells' outbox (`PendingCellSyncs`): one row per cell, its row shape and its batch read."""

from __future__ import annotations

from dataclasses import dataclass

from sut.tool.db import ToolDb
from sut.tool.outbox_rows import OutboxRows, OutboxTable

CELL_OUTBOX = OutboxTable(table="PendingCellSyncs", key="cellId", values=("value",), records="SheetCells")


@dataclass(frozen=True)
class PendingCell:
    record_id: int  # the cell id
    value: str | None
    base_version: int
    attempts: int
    conflicts: int
    updated_at: str | None

    def push_item(self) -> dict[str, object]:
        return {"cellId": self.record_id, "value": self.value, "baseVersion": self.base_version}

    def applied_item(self, cloud_version: int) -> dict[str, object]:
        return {"cellId": self.record_id, "version": cloud_version, "value": self.value}

    def match(self) -> tuple[object, ...]:
        return (self.record_id, self.updated_at, self.value)


class CellOutbox(OutboxRows):
    def __init__(self, db: ToolDb) -> None:
        super().__init__(db, CELL_OUTBOX)

    def active_batch(self, limit: int) -> list[PendingCell]:
        return [PendingCell(r["cellId"], r["value"], int(r["baseVersion"] or 0), int(r["attempts"] or 0),
                            int(r["conflicts"] or 0), r["updatedAt"]) for r in self._active_rows(limit)]

"""The tool's functional-validation sheet: read cells, write one editable cell with its outbox row.

A write lands with its outbox row in one transaction, coalesced per cell like
IO marks (db.py `mark_io`): the latest value wins, a parked row becomes active
again and its counters restart, the base version stays.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from seed.schema import CELL_COLUMNS
from sut.tool.db import ToolDb
from sut.tool.errors import BadRequest

_SELECT = ", ".join(f"c.{column}" for column in CELL_COLUMNS)
_JOINED = (f"SELECT {_SELECT}, k.name AS columnName, k.editable, p.DeadLettered AS dead FROM SheetCells c"
           " LEFT JOIN SheetColumns k ON k.id = c.columnId LEFT JOIN PendingCellSyncs p ON p.cellId = c.id")


class CellSheet:
    def __init__(self, db: ToolDb) -> None:
        self._db = db

    def list_cells(self, subsystem_id: int) -> list[dict[str, Any]]:
        rows = self._db.connection().execute(f"{_JOINED} WHERE c.subsystemId = ? ORDER BY c.id", (subsystem_id,))
        return [_cell(row) for row in rows.fetchall()]

    def get_cell(self, cell_id: int, conn: sqlite3.Connection | None = None) -> dict[str, Any] | None:
        row = (conn or self._db.connection()).execute(f"{_JOINED} WHERE c.id = ?", (cell_id,)).fetchone()
        return None if row is None else _cell(row)

    def write_cell(self, cell_id: int, value: str | None, now: str) -> dict[str, Any]:
        """Store the value and its outbox row; BadRequest 404 for an unknown cell, 409 for a read-only column."""
        with self._db.write() as conn:
            current = conn.execute(
                "SELECT c.version, k.name, k.editable, k.lockedReason FROM SheetCells c"
                " LEFT JOIN SheetColumns k ON k.id = c.columnId WHERE c.id = ?", (cell_id,)).fetchone()
            if current is None:
                raise BadRequest(f"unknown cell {cell_id}; GET /api/cells lists the cells", status=404)
            if not current["editable"]:
                raise BadRequest(f"cell {cell_id} is in column {current['name']!r}, which is read-only"
                                 f" ({current['lockedReason'] or 'not editable'}); only editable columns may be"
                                 " written", status=403)
            conn.execute("UPDATE SheetCells SET value = ?, updatedAt = ? WHERE id = ?", (value, now, cell_id))
            conn.execute(
                "INSERT INTO PendingCellSyncs (cellId, value, baseVersion, attempts, conflicts, lastError,"
                " DeadLettered, parkedReason, parkedKind, createdAt, updatedAt)"
                " VALUES (?, ?, ?, 0, 0, NULL, 0, NULL, NULL, ?, ?)"
                " ON CONFLICT(cellId) DO UPDATE SET value = excluded.value, attempts = 0, conflicts = 0,"
                " lastError = NULL, DeadLettered = 0, parkedReason = NULL, parkedKind = NULL,"
                " updatedAt = excluded.updatedAt",
                (cell_id, value, current["version"], now, now))
            cell = self.get_cell(cell_id, conn)
            assert cell is not None
            return cell

    def queue_state(self) -> dict[str, Any]:
        """The cells' outbox: active and parked rows (parked rows counted apart, as for IOs)."""
        conn = self._db.connection()
        counts = conn.execute("SELECT COALESCE(SUM(DeadLettered = 0), 0) AS active,"
                              " COALESCE(SUM(DeadLettered = 1), 0) AS parked FROM PendingCellSyncs").fetchone()
        parked = conn.execute("SELECT cellId, parkedReason, parkedKind FROM PendingCellSyncs"
                              " WHERE DeadLettered = 1 ORDER BY cellId").fetchall()
        return {"active": int(counts["active"]), "parked": int(counts["parked"]),
                "parkedRows": [{"cellId": r["cellId"], "reason": r["parkedReason"], "kind": r["parkedKind"]}
                               for r in parked]}


def _cell(row: sqlite3.Row) -> dict[str, Any]:
    cell = {column: row[column] for column in CELL_COLUMNS}
    cell["columnName"] = row["columnName"]
    cell["editable"] = int(row["editable"] or 0)
    dead = row["dead"]
    cell["pending"] = None if dead is None else ("parked" if dead else "active")
    return cell

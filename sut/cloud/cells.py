"""The cloud's side of the functional-validation sheet: seed, push with conflict detection, pull, admin edit.

It shares the IO store's backend, and so its writer slot: on Postgres the write
transaction locks the IO table, which serialises every writer, cells included,
so a cell's `changeSeq` becomes visible in commit order exactly like an IO's.
Conflicts work as for IOs: an item pushed against another version than the
cloud's current one is not applied, and the answer carries the cloud's value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .cell_schema import CELL_FIELDS, MAX_CELL_VALUE, SHEET_COLUMN_FIELDS
from .errors import CursorAhead, NotFound, RequestError
from .store import Backend, Tx, utc_now_iso

_SELECT = ", ".join(f'"{c}"' for c in CELL_FIELDS)


@dataclass(frozen=True)
class CellPushItem:
    cell_id: int
    value: Any  # as sent; a value the sheet cannot hold is a per-item rejection, not a 400
    base_version: int


def stored_value(raw: Any) -> tuple[bool, str | None]:
    """(accepted, stored value). An empty cell is NULL, whether sent as null or ""."""
    if raw is None or raw == "":
        return True, None
    if isinstance(raw, str) and len(raw) <= MAX_CELL_VALUE:
        return True, raw
    return False, None


class CellStore:
    def __init__(self, backend: Backend, now: Callable[[], str] = utc_now_iso) -> None:
        self.backend = backend
        self._now = now

    def load_seed_if_empty(self, columns: Sequence[dict[str, Any]], cells: Sequence[dict[str, Any]]) -> int:
        """Insert the seed's sheet as the baseline (changeSeq 0) unless the sheet holds any cell."""
        with self.backend.write() as tx:
            if tx.fetchone('SELECT COUNT(*) AS n FROM "SheetCells"')["n"]:  # type: ignore[index]
                return 0
            tx.execute('DELETE FROM "SheetColumns"')
            if columns:
                tx.executemany(_insert("SheetColumns", SHEET_COLUMN_FIELDS),
                               [[c[f] for f in SHEET_COLUMN_FIELDS] for c in columns])
            if cells:
                tx.executemany(_insert("SheetCells", (*CELL_FIELDS, "changeSeq")),
                               [[c[f] for f in CELL_FIELDS] + [0] for c in cells])
            return len(cells)

    def push(self, items: Sequence[CellPushItem]) -> list[dict[str, Any]]:
        """Apply a batch in one transaction; one outcome per item, in order."""
        now = self._now()
        with self.backend.write() as tx:
            columns = _columns(tx)
            seq = _cursor(tx)
            outcomes = []
            for item in items:
                row = tx.fetchone(f'SELECT {_SELECT} FROM "SheetCells" WHERE "id" = ?', [item.cell_id])
                outcome = _decide(item, row, columns)
                if outcome is None:
                    assert row is not None
                    seq += 1
                    version = row["version"] + 1
                    tx.execute('UPDATE "SheetCells" SET "value" = ?, "version" = ?, "updatedAt" = ?, "changeSeq" = ?'
                               ' WHERE "id" = ?', [stored_value(item.value)[1], version, now, seq, item.cell_id])
                    outcome = {"cellId": item.cell_id, "status": "applied", "version": version}
                outcomes.append(outcome)
            return outcomes

    def pull(self, subsystem_id: int) -> dict[str, Any]:
        with self.backend.read() as tx:
            cells = tx.fetchall(f'SELECT {_SELECT} FROM "SheetCells" WHERE "subsystemId" = ? ORDER BY "id"',
                                [subsystem_id])
            return {"cells": cells, "columns": list(_columns(tx).values()), "cursor": _cursor(tx)}

    def changes(self, subsystem_id: int, since: int) -> dict[str, Any]:
        with self.backend.read() as tx:
            cursor = _cursor(tx)
            if since > cursor:
                raise CursorAhead(since, cursor)
            cells = tx.fetchall(f'SELECT {_SELECT} FROM "SheetCells" WHERE "changeSeq" > ? AND "subsystemId" = ?'
                                ' ORDER BY "changeSeq", "id"', [since, subsystem_id])
            return {"changes": cells, "columns": list(_columns(tx).values()), "cursor": cursor}

    def get_cell(self, cell_id: int) -> dict[str, Any]:
        with self.backend.read() as tx:
            return _existing(tx, cell_id)

    def edit_cell(self, cell_id: int, value: str | None) -> dict[str, Any]:
        """An office edit of an editable cell: bumps its version and the sheet's change cursor."""
        now = self._now()
        with self.backend.write() as tx:
            row = _existing(tx, cell_id)
            locked = _locked_reason(_columns(tx), row["columnId"])
            if locked:
                raise RequestError(f"cell {cell_id} is in a read-only column ({locked}); only editable columns change",
                                   status=403)
            row.update(value=value, version=row["version"] + 1, updatedAt=now)
            tx.execute('UPDATE "SheetCells" SET "value" = ?, "version" = ?, "updatedAt" = ?, "changeSeq" = ?'
                       ' WHERE "id" = ?', [value, row["version"], now, _cursor(tx) + 1, cell_id])
            return row


def _decide(item: CellPushItem, row: dict[str, Any] | None, columns: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The outcome of a pushed cell that is not applied, or None when it should be applied."""
    if row is None:
        return _rejected(item, "unknown cell")
    locked = _locked_reason(columns, row["columnId"])
    if locked:
        return _rejected(item, f"column {columns.get(row['columnId'], {}).get('name')!r} is read-only ({locked})")
    if not stored_value(item.value)[0]:
        return _rejected(item, f"invalid value {json.dumps(item.value)[:80]}; accepted: a string of at most"
                               f" {MAX_CELL_VALUE} characters, \"\" or null (empty)")
    if item.base_version != row["version"]:
        return {"cellId": item.cell_id, "status": "conflict", "version": row["version"], "value": row["value"]}
    return None


def _locked_reason(columns: dict[int, dict[str, Any]], column_id: int) -> str | None:
    column = columns.get(column_id)
    if column is None:
        return "unknown column"
    return None if column["editable"] else (column["lockedReason"] or "read-only")


def _rejected(item: CellPushItem, reason: str) -> dict[str, Any]:
    return {"cellId": item.cell_id, "status": "rejected", "reason": reason}


def _columns(tx: Tx) -> dict[int, dict[str, Any]]:
    cols = ", ".join(f'"{c}"' for c in SHEET_COLUMN_FIELDS)
    return {int(r["id"]): r for r in tx.fetchall(f'SELECT {cols} FROM "SheetColumns" ORDER BY "id"')}


def _cursor(tx: Tx) -> int:
    return int(tx.fetchone('SELECT COALESCE(MAX("changeSeq"), 0) AS c FROM "SheetCells"')["c"])  # type: ignore[index]


def _existing(tx: Tx, cell_id: int) -> dict[str, Any]:
    row = tx.fetchone(f'SELECT {_SELECT} FROM "SheetCells" WHERE "id" = ?', [cell_id])
    if row is None:
        raise NotFound(f"cell {cell_id} not found")
    return dict(row)


def _insert(table: str, fields: Sequence[str]) -> str:
    quoted = ", ".join(f'"{f}"' for f in fields)
    return f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(fields))})'

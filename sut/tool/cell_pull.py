"""Pull worker of sheet cells: brings the office's cell edits into the field.

The rules are the IO pull's (pull.py), on the sheet's own cursor and outbox: it
runs only while no ACTIVE cell outbox row is queued, and even then never touches
the value or version of a cell that has an outbox row (active or parked), nor
rolls a cell back to an older cloud copy. The sheet's columns always follow the cloud.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from seed.schema import CELL_COLUMNS, SHEET_COLUMN_COLUMNS
from sut.tool.backoff import Backoff
from sut.tool.cell_push import CELL_RECORD_KIND
from sut.tool.cells import CellSheet
from sut.tool.cloud_client import CloudClient
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.errors import CloudCallFailed
from sut.tool.events import EventLog
from sut.tool.pull import cloud_copy_is_current, fetch_feed, pull_gate_open

CELL_VALUE_FIELDS = ("value", "version", "updatedAt")


def cell_cursor_key(subsystem_id: int) -> str:
    return f"pull.cells.cursor.{subsystem_id}"


def cell_changes(local: dict[str, Any] | None, has_outbox_row: bool, cloud: dict[str, Any]) -> dict[str, Any]:
    """The local columns a pulled cloud cell should change (all of them for a cell the field lacks)."""
    if local is None:
        return {c: cloud[c] for c in CELL_COLUMNS}
    changes = {c: cloud[c] for c in ("device", "columnId", "subsystemId") if local.get(c) != cloud[c]}
    if not has_outbox_row and cloud_copy_is_current(int(local.get("version") or 0), int(cloud["version"])):
        changes.update({c: cloud[c] for c in CELL_VALUE_FIELDS if local.get(c) != cloud[c]})
    return changes


class CellPullWorker:
    name = "cell-pull"

    def __init__(self, config: ToolConfig, db: ToolDb, events: EventLog,
                 client_factory: Callable[[], CloudClient] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self._config = config
        self._db = db
        self._sheet = CellSheet(db)
        self._events = events
        self._backoff = Backoff(config.backoff_base_s, config.backoff_max_s, rand)
        self._client_factory = client_factory or (lambda: CloudClient(
            config.cloud_url or "", config.cloud_api_key, config.http_timeout_s))
        self._client: CloudClient | None = None
        self.last_error: str | None = None

    def run_once(self) -> float:
        queue = self._sheet.queue_state()
        if not pull_gate_open(queue["active"], queue["parked"]):
            return self._config.pull_interval_s
        if self._client is None:
            self._client = self._client_factory()
        client, subsystem = self._client, self._config.subsystem_id
        try:
            (cells, cursor, columns), full = fetch_feed(
                self._db.sync_state(cell_cursor_key(subsystem)), lambda: client.pull_cells_full(subsystem),
                lambda since: client.cell_changes(subsystem, since))
        except CloudCallFailed as exc:
            self.last_error = str(exc)
            return max(self._backoff.next_delay(exc.retry_after_s), self._config.pull_interval_s)
        self._backoff.reset()
        self.last_error = None
        changed = self.apply(cells, columns, cursor)
        # Only a pull that changed cells is reported: the start-up full pull of a sheet seeded like the
        # cloud's changes nothing, and a reader waiting for the (IO) full pull must not take this one for it.
        if changed:
            self._events.emit("pull.applied", count=changed, full=full, received=len(cells), cursor=cursor,
                              recordKind=CELL_RECORD_KIND)
        return self._config.pull_interval_s

    def apply(self, cells: list[dict[str, Any]], columns: list[dict[str, Any]], cursor: int) -> int:
        """Apply pulled columns and cells and store the cursor in one transaction; returns cells changed."""
        changed = 0
        with self._db.write() as conn:
            for column in columns:
                if all(key in column for key in SHEET_COLUMN_COLUMNS):
                    _upsert(conn, "SheetColumns", {k: column[k] for k in SHEET_COLUMN_COLUMNS})
            for cloud in cells:
                if not all(key in cloud for key in CELL_COLUMNS):
                    continue  # a row we cannot read is skipped; the next full pull retries it
                changed += _merge(conn, cloud)
            conn.execute("INSERT INTO SyncState (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                         " SET value = excluded.value", (cell_cursor_key(self._config.subsystem_id), str(cursor)))
        return changed

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _merge(conn: sqlite3.Connection, cloud: dict[str, Any]) -> int:
    found = conn.execute(f"SELECT {', '.join(CELL_COLUMNS)} FROM SheetCells WHERE id = ?", (cloud["id"],)).fetchone()
    has_row = conn.execute("SELECT 1 FROM PendingCellSyncs WHERE cellId = ?", (cloud["id"],)).fetchone() is not None
    changes = cell_changes(None if found is None else dict(found), has_row, cloud)
    if not changes:
        return 0
    if found is None:
        _upsert(conn, "SheetCells", changes)
    else:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        conn.execute(f"UPDATE SheetCells SET {assignments} WHERE id = ?", [*changes.values(), cloud["id"]])
    return 1


def _upsert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                 list(row.values()))

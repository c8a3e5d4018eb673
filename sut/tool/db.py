"""The tool's SQLite store: WAL, a busy timeout, one connection per thread.

Every write goes through `write()` (BEGIN IMMEDIATE), so a field write and its
outbox row land in one transaction or not at all, and readers never see half.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seed.schema import IO_COLUMNS, TOOL_SCHEMA_SQL

BUSY_TIMEOUT_MS = 10_000
_IO_SELECT = ", ".join(f"i.{c}" for c in IO_COLUMNS)


class ToolDb:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def initialise(self) -> None:
        """Switch the file to WAL (persistent) and make sure every table exists."""
        conn = self.connection()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(TOOL_SCHEMA_SQL)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # NORMAL is durable against a killed process (the OS keeps the WAL pages);
            # only an OS crash could lose the last commits.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so concurrent writers queue instead of deadlocking."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close_all(self) -> None:
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    # ---- IO reads -------------------------------------------------------------------------------

    def list_ios(self, subsystem_id: int) -> list[dict[str, Any]]:
        rows = self.connection().execute(
            f"SELECT {_IO_SELECT}, p.DeadLettered AS dead FROM Ios i "
            "LEFT JOIN PendingSyncs p ON p.ioId = i.id WHERE i.subsystemId = ? ORDER BY i.id",
            (subsystem_id,),
        ).fetchall()
        return [_io_with_pending(row) for row in rows]

    def get_io(self, io_id: int, conn: sqlite3.Connection | None = None) -> dict[str, Any] | None:
        row = (conn or self.connection()).execute(
            f"SELECT {_IO_SELECT}, p.DeadLettered AS dead FROM Ios i "
            "LEFT JOIN PendingSyncs p ON p.ioId = i.id WHERE i.id = ?",
            (io_id,),
        ).fetchone()
        return _io_with_pending(row) if row else None

    # ---- the field write --------------------------------------------------------------------------

    def mark_io(self, io_id: int, result: str | None, comments: str, now: str) -> dict[str, Any] | None:
        """Store a mark and coalesce it into the IO's outbox row; None when the IO does not exist.

        The outbox keeps one row per IO: the latest value wins, a parked row becomes
        active again (the technician's new intent deserves a fresh try) and the
        counters restart. The base version stays: it is the cloud version this
        edit was made against (possibly already rebased by the push worker).
        """
        with self.write() as conn:
            current = conn.execute("SELECT version FROM Ios WHERE id = ?", (io_id,)).fetchone()
            if current is None:
                return None
            conn.execute("UPDATE Ios SET result = ?, comments = ?, updatedAt = ? WHERE id = ?",
                         (result, comments, now, io_id))
            conn.execute(
                "INSERT INTO PendingSyncs (ioId, result, comments, baseVersion, attempts, conflicts, lastError,"
                " DeadLettered, parkedReason, parkedKind, createdAt, updatedAt)"
                " VALUES (?, ?, ?, ?, 0, 0, NULL, 0, NULL, NULL, ?, ?)"
                " ON CONFLICT(ioId) DO UPDATE SET result = excluded.result, comments = excluded.comments,"
                " attempts = 0, conflicts = 0, lastError = NULL, DeadLettered = 0, parkedReason = NULL,"
                " parkedKind = NULL, updatedAt = excluded.updatedAt",
                (io_id, result, comments, current["version"], now, now),
            )
            return self.get_io(io_id, conn)

    # ---- queue state -------------------------------------------------------------------------------

    def queue_counts(self) -> tuple[int, int]:
        """(active, parked) outbox rows; parked rows are counted apart everywhere."""
        row = self.connection().execute(
            "SELECT COALESCE(SUM(DeadLettered = 0), 0) AS active, COALESCE(SUM(DeadLettered = 1), 0) AS parked"
            " FROM PendingSyncs"
        ).fetchone()
        return int(row["active"]), int(row["parked"])

    def parked_rows(self) -> list[dict[str, Any]]:
        rows = self.connection().execute(
            "SELECT ioId, parkedReason, parkedKind FROM PendingSyncs WHERE DeadLettered = 1 ORDER BY ioId"
        ).fetchall()
        return [{"ioId": r["ioId"], "reason": r["parkedReason"], "kind": r["parkedKind"]} for r in rows]

    def sync_state(self, key: str) -> str | None:
        row = self.connection().execute("SELECT value FROM SyncState WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

    def vfds(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.connection().execute("SELECT * FROM Vfds ORDER BY id").fetchall()]


def _io_with_pending(row: sqlite3.Row) -> dict[str, Any]:
    io = {c: row[c] for c in IO_COLUMNS}
    dead = row["dead"]
    io["pending"] = None if dead is None else ("parked" if dead else "active")
    return io

"""What every outbox of the tool shares: settling a row read for a push, whatever the record kind.

Each kind of record (IO marks, sheet cells) keeps its own outbox table, one row
per record, coalesced: the latest value wins. A row read for a push may be
re-written by a technician while the request is in flight, so every settle
matches the row as it was read (updatedAt and the values): a newer edit is never
deleted or parked on the strength of an answer about an older one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sut.tool.db import ToolDb


@dataclass(frozen=True)
class OutboxTable:
    """Where one kind's outbox lives: its table, its record-id column, its value columns, the records' table."""

    table: str
    key: str
    values: tuple[str, ...]
    records: str

    @property
    def same_row(self) -> str:
        return " AND ".join([f"{self.key} = ?", "updatedAt IS ?", *(f"{v} IS ?" for v in self.values)])


class PendingRecord(Protocol):
    @property
    def record_id(self) -> int: ...

    def match(self) -> tuple[object, ...]:
        """(record id, updatedAt, *values) as read: what `OutboxTable.same_row` compares."""


class OutboxRows:
    def __init__(self, db: ToolDb, table: OutboxTable) -> None:
        self._db = db
        self._t = table

    def _active_rows(self, limit: int) -> list[sqlite3.Row]:
        t = self._t
        return self._db.connection().execute(
            f"SELECT {t.key}, {', '.join(t.values)}, baseVersion, attempts, conflicts, updatedAt FROM {t.table}"
            f" WHERE DeadLettered = 0 ORDER BY updatedAt, {t.key} LIMIT ?", (limit,)).fetchall()

    def settle(self, row: PendingRecord, cloud_version: int,
                then: Callable[[sqlite3.Connection, bool], None] | None = None) -> bool:
        """The cloud stored this value at `cloud_version`. True when the row is gone (not re-written).

        `then(conn, deleted)` runs in the same transaction (a kind's own follow-up)."""
        t = self._t
        with self._db.write() as conn:
            deleted = conn.execute(f"DELETE FROM {t.table} WHERE {t.same_row}", row.match()).rowcount == 1
            if not deleted:
                # A newer edit waits in the row: it must be pushed against the version we just made.
                conn.execute(f"UPDATE {t.table} SET baseVersion = ? WHERE {t.key} = ?", (cloud_version, row.record_id))
            conn.execute(f"UPDATE {t.records} SET version = MAX(version, ?) WHERE id = ?",
                         (cloud_version, row.record_id))
            if then is not None:
                then(conn, deleted)
            return deleted

    def rebase(self, row: PendingRecord, cloud_version: int, error: str) -> int:
        """Take the cloud's version as the new base; returns the row's conflict count."""
        return self._bump(row, "conflicts", error, base=cloud_version)

    def count_conflict(self, row: PendingRecord, error: str) -> int:
        """Count a conflict without touching the base version; returns the conflict count."""
        return self._bump(row, "conflicts", error)

    def count_failure(self, row: PendingRecord, error: str) -> int:
        """Count a non-transient failure against the retry cap; returns the attempt count."""
        return self._bump(row, "attempts", error)

    def park(self, row: PendingRecord, kind: str, reason: str) -> bool:
        """Keep the row but stop pushing it. False when a newer edit arrived (it gets its own try)."""
        t = self._t
        with self._db.write() as conn:
            return conn.execute(
                f"UPDATE {t.table} SET DeadLettered = 1, parkedKind = ?, parkedReason = ?, lastError = ?"
                f" WHERE {t.same_row}", (kind, reason, reason, *row.match())).rowcount == 1

    def delete(self, record_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(f"DELETE FROM {self._t.table} WHERE {self._t.key} = ?", (record_id,))

    def _bump(self, row: PendingRecord, counter: str, error: str, base: int | None = None) -> int:
        t = self._t
        rebase = "" if base is None else "baseVersion = ?, "
        with self._db.write() as conn:
            conn.execute(f"UPDATE {t.table} SET {rebase}{counter} = {counter} + 1, lastError = ? WHERE {t.key} = ?",
                         (*(() if base is None else (base,)), error, row.record_id))
            found = conn.execute(f"SELECT {counter} FROM {t.table} WHERE {t.key} = ?", (row.record_id,)).fetchone()
            return 0 if found is None else int(found[counter])

"""The push worker's view of the outbox (`PendingSyncs`): read a batch, settle each row.

A row read for a push may be re-written by a technician while the request is in
flight. Every settle therefore matches the row as it was read (updatedAt and
value): a newer edit is never deleted or parked on the strength of an answer
about an older one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sut.tool.db import ToolDb

_SAME_ROW = "ioId = ? AND updatedAt IS ? AND result IS ? AND comments IS ?"


@dataclass(frozen=True)
class PendingRow:
    io_id: int
    result: str | None
    comments: str | None
    base_version: int
    attempts: int
    conflicts: int
    updated_at: str | None

    def push_item(self) -> dict[str, object]:
        return {"ioId": self.io_id, "result": self.result, "comments": self.comments,
                "baseVersion": self.base_version}

    def applied_item(self, cloud_version: int) -> dict[str, object]:
        """What the cloud stored when it applied this row: the pushed value at `cloud_version`."""
        return {"ioId": self.io_id, "version": cloud_version, "result": self.result, "comments": self.comments}

    def _match(self) -> tuple[object, ...]:
        return (self.io_id, self.updated_at, self.result, self.comments)


class Outbox:
    def __init__(self, db: ToolDb) -> None:
        self._db = db

    def active_batch(self, limit: int) -> list[PendingRow]:
        rows = self._db.connection().execute(
            "SELECT ioId, result, comments, baseVersion, attempts, conflicts, updatedAt FROM PendingSyncs"
            " WHERE DeadLettered = 0 ORDER BY updatedAt, ioId LIMIT ?",
            (limit,),
        ).fetchall()
        return [PendingRow(r["ioId"], r["result"], r["comments"], int(r["baseVersion"] or 0),
                           int(r["attempts"] or 0), int(r["conflicts"] or 0), r["updatedAt"]) for r in rows]

    def settle_applied(self, row: PendingRow, cloud_version: int,
                       adopt_answer: Mapping[str, Any] | None = None) -> bool:
        """The cloud stored this value at `cloud_version`. True when the row is gone (not re-written).

        `adopt_answer` is the planted bug `lose_comment`: the push answer to build the
        "canonical copy" from (see `_adopt_cloud_copy`); None in the correct tool.
        """
        with self._db.write() as conn:
            deleted = conn.execute(f"DELETE FROM PendingSyncs WHERE {_SAME_ROW}", row._match()).rowcount == 1
            if not deleted:
                # A newer edit waits in the row: it must be pushed against the version we just made.
                conn.execute("UPDATE PendingSyncs SET baseVersion = ? WHERE ioId = ?", (cloud_version, row.io_id))
            conn.execute("UPDATE Ios SET version = MAX(version, ?) WHERE id = ?", (cloud_version, row.io_id))
            if deleted and adopt_answer is not None:
                _adopt_cloud_copy(conn, row, adopt_answer)
            return deleted

    def rebase(self, row: PendingRow, cloud_version: int, error: str) -> int:
        """Take the cloud's version as the new base; returns the row's conflict count."""
        with self._db.write() as conn:
            conn.execute("UPDATE PendingSyncs SET baseVersion = ?, conflicts = conflicts + 1, lastError = ?"
                         " WHERE ioId = ?", (cloud_version, error, row.io_id))
            return _conflicts(conn, row.io_id)

    def count_conflict(self, row: PendingRow, error: str) -> int:
        """Count a conflict without touching the base version; returns the conflict count."""
        with self._db.write() as conn:
            conn.execute("UPDATE PendingSyncs SET conflicts = conflicts + 1, lastError = ? WHERE ioId = ?",
                         (error, row.io_id))
            return _conflicts(conn, row.io_id)

    def count_failure(self, row: PendingRow, error: str) -> int:
        """Count a non-transient failure against the retry cap; returns the attempt count."""
        with self._db.write() as conn:
            conn.execute("UPDATE PendingSyncs SET attempts = attempts + 1, lastError = ? WHERE ioId = ?",
                         (error, row.io_id))
            found = conn.execute("SELECT attempts FROM PendingSyncs WHERE ioId = ?", (row.io_id,)).fetchone()
            return 0 if found is None else int(found["attempts"])

    def park(self, row: PendingRow, kind: str, reason: str) -> bool:
        """Keep the row but stop pushing it. False when a newer edit arrived (it gets its own try)."""
        with self._db.write() as conn:
            return conn.execute(
                f"UPDATE PendingSyncs SET DeadLettered = 1, parkedKind = ?, parkedReason = ?, lastError = ?"
                f" WHERE {_SAME_ROW}", (kind, reason, reason, *row._match())).rowcount == 1

    def delete(self, io_id: int) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM PendingSyncs WHERE ioId = ?", (io_id,))


def _adopt_cloud_copy(conn: sqlite3.Connection, row: PendingRow, answer: Mapping[str, Any]) -> None:
    """Planted bug `lose_comment`: keep the result, lose the comment.

    The historic tool, once the cloud applied a row, "adopted the cloud's canonical
    copy" of the IO. That code was written against the *conflict* answer, which
    carries the cloud's `result` and `comments`; the *applied* answer carries only
    `ioId`, `status` and `version`. The result was taken from the row just pushed
    (the developer knew the cloud had stored it), the comment from the answer, where
    it is missing: the local comment becomes NULL while the cloud keeps it. Only a
    row that was not re-written meanwhile is adopted (a newer edit keeps its value),
    so it strikes exactly when the field thinks the IO is in sync.
    """
    conn.execute("UPDATE Ios SET result = ?, comments = ? WHERE id = ?",
                 (row.result, answer.get("comments"), row.io_id))


def _conflicts(conn: sqlite3.Connection, io_id: int) -> int:
    found = conn.execute("SELECT conflicts FROM PendingSyncs WHERE ioId = ?", (io_id,)).fetchone()
    return 0 if found is None else int(found["conflicts"])

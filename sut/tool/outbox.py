"""The push worker's view of the IO outbox (`PendingSyncs`): read a batch, settle each row.

The settle rules every outbox shares are in outbox_rows.py; this module adds the
IO's row shape and the planted bug `lose_comment`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sut.tool.db import ToolDb
from sut.tool.outbox_rows import OutboxRows, OutboxTable

IO_OUTBOX = OutboxTable(table="PendingSyncs", key="ioId", values=("result", "comments"), records="Ios")


@dataclass(frozen=True)
class PendingRow:
    io_id: int
    result: str | None
    comments: str | None
    base_version: int
    attempts: int
    conflicts: int
    updated_at: str | None

    @property
    def record_id(self) -> int:
        return self.io_id

    def push_item(self) -> dict[str, object]:
        return {"ioId": self.io_id, "result": self.result, "comments": self.comments,
                "baseVersion": self.base_version}

    def applied_item(self, cloud_version: int) -> dict[str, object]:
        """What the cloud stored when it applied this row: the pushed value at `cloud_version`."""
        return {"ioId": self.io_id, "version": cloud_version, "result": self.result, "comments": self.comments}

    def match(self) -> tuple[object, ...]:
        return (self.io_id, self.updated_at, self.result, self.comments)


class Outbox(OutboxRows):
    def __init__(self, db: ToolDb) -> None:
        super().__init__(db, IO_OUTBOX)

    def active_batch(self, limit: int) -> list[PendingRow]:
        return [PendingRow(r["ioId"], r["result"], r["comments"], int(r["baseVersion"] or 0),
                           int(r["attempts"] or 0), int(r["conflicts"] or 0), r["updatedAt"])
                for r in self._active_rows(limit)]

    def settle_applied(self, row: PendingRow, cloud_version: int,
                       adopt_answer: Mapping[str, Any] | None = None) -> bool:
        """The cloud stored this value at `cloud_version`. True when the row is gone (not re-written).

        `adopt_answer` is the planted bug `lose_comment`: the push answer to build the
        "canonical copy" from (see `_adopt_cloud_copy`); None in the correct tool.
        """
        def adopt(conn: sqlite3.Connection, deleted: bool) -> None:
            if deleted and adopt_answer is not None:
                _adopt_cloud_copy(conn, row, adopt_answer)

        return self.settle(row, cloud_version, adopt)


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

"""The cloud's storage: one Store with the business rules, over a SQLite or Postgres backend.

The change cursor is `changeSeq`, stored with every row: each write takes the
next value above the current maximum. Writers are serialised (SQLite's write
lock; a table lock on Postgres), so sequence values become visible in commit
order and a delta reader that has seen cursor N can never later find a row
committed with a value <= N. A Postgres SEQUENCE would not give that: values are
handed out at call time, and a slow transaction can commit a lower value after
a reader has already moved past it. Deleted IOs stay as tombstones
(`deleted = 1`) so the delta feed can report the deletion and ids are never reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from .cell_schema import CELL_SCHEMA_SQL
from .config import CloudConfig
from .errors import CursorAhead, NotFound

IO_FIELDS = (
    "id", "subsystemId", "name", "description", "tagName", "isSpare",
    "result", "comments", "version", "updatedAt",
)
ACCEPTED_RESULTS = ("Passed", "Failed", "Cleared")

SCHEMA_SQL = (
    """CREATE TABLE IF NOT EXISTS "Ios" (
        "id" INTEGER PRIMARY KEY,
        "subsystemId" INTEGER NOT NULL,
        "name" TEXT NOT NULL,
        "description" TEXT NOT NULL DEFAULT '',
        "tagName" TEXT NOT NULL DEFAULT '',
        "isSpare" INTEGER NOT NULL DEFAULT 0,
        "result" TEXT,
        "comments" TEXT NOT NULL DEFAULT '',
        "version" INTEGER NOT NULL DEFAULT 1,
        "updatedAt" TEXT NOT NULL,
        "changeSeq" BIGINT NOT NULL DEFAULT 0,
        "deleted" INTEGER NOT NULL DEFAULT 0
    )""",
    'CREATE INDEX IF NOT EXISTS "Ios_changeSeq" ON "Ios" ("changeSeq")',
    *CELL_SCHEMA_SQL,
)

_SELECT_COLUMNS = ", ".join(f'"{c}"' for c in (*IO_FIELDS, "deleted"))


class Tx(Protocol):
    """One open transaction. SQL uses `?` placeholders and double-quoted identifiers on every backend."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None: ...


class Backend(Protocol):
    name: str

    def init_schema(self) -> None: ...
    def write(self) -> AbstractContextManager[Tx]:
        """A transaction that holds the single writer slot until commit."""
    def read(self) -> AbstractContextManager[Tx]:
        """A read-only transaction on one consistent snapshot."""
    def close(self) -> None: ...


@dataclass(frozen=True)
class PushItem:
    io_id: int
    result: Any  # as sent; an unaccepted value is a per-item business rejection, not a 400
    comments: str
    base_version: int


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalize_result(raw: Any) -> tuple[bool, str | None]:
    """(accepted, stored value). Cleared and null are both stored as null."""
    if raw is None or raw == "Cleared":
        return True, None
    if raw in ("Passed", "Failed"):
        return True, raw
    return False, None


def io_out(row: dict[str, Any]) -> dict[str, Any]:
    io = {f: row[f] for f in IO_FIELDS}
    io["isSpare"] = int(io["isSpare"])
    if row.get("deleted"):
        io["deleted"] = True
    return io


class Store:
    def __init__(self, backend: Backend, now: Callable[[], str] = utc_now_iso) -> None:
        self.backend = backend
        self._now = now

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def close(self) -> None:
        self.backend.close()

    # -- seed -------------------------------------------------------------------------------

    def load_seed_if_empty(self, ios: Sequence[dict[str, Any]]) -> int:
        """Insert the seed IOs as the baseline (changeSeq 0) unless the database holds any row."""
        with self.backend.write() as tx:
            if tx.fetchone('SELECT COUNT(*) AS n FROM "Ios"')["n"]:  # type: ignore[index]
                return 0
            tx.executemany(
                f'INSERT INTO "Ios" ({_cols(IO_FIELDS)}, "changeSeq", "deleted") '
                f"VALUES ({_marks(len(IO_FIELDS) + 2)})",
                [[io[f] for f in IO_FIELDS] + [0, 0] for io in ios],
            )
            return len(ios)

    # -- sync -------------------------------------------------------------------------------

    def push(self, items: Sequence[PushItem]) -> list[dict[str, Any]]:
        """Apply a batch in one transaction; one outcome per item, in order."""
        now = self._now()
        with self.backend.write() as tx:
            ids = sorted({item.io_id for item in items})
            rows = {
                r["id"]: r
                for r in tx.fetchall(
                    f'SELECT {_SELECT_COLUMNS} FROM "Ios" WHERE "deleted" = 0 AND "id" IN ({_marks(len(ids))})',
                    ids,
                )
            } if ids else {}
            seq = _current_cursor(tx)
            outcomes: list[dict[str, Any]] = []
            updates: list[list[Any]] = []
            for item in items:
                row = rows.get(item.io_id)
                outcome = _decide(item, row)
                if outcome is None:
                    assert row is not None
                    seq += 1
                    row.update(
                        result=normalize_result(item.result)[1], comments=item.comments,
                        version=row["version"] + 1, updatedAt=now, changeSeq=seq,
                    )
                    updates.append([row["result"], row["comments"], row["version"], now, seq, item.io_id])
                    outcome = {"ioId": item.io_id, "status": "applied", "version": row["version"]}
                outcomes.append(outcome)
            if updates:
                tx.executemany(
                    'UPDATE "Ios" SET "result" = ?, "comments" = ?, "version" = ?, "updatedAt" = ?, '
                    '"changeSeq" = ? WHERE "id" = ?',
                    updates,
                )
            return outcomes

    def pull(self, subsystem_id: int) -> tuple[list[dict[str, Any]], int]:
        with self.backend.read() as tx:
            rows = tx.fetchall(
                f'SELECT {_SELECT_COLUMNS} FROM "Ios" WHERE "subsystemId" = ? AND "deleted" = 0 ORDER BY "id"',
                [subsystem_id],
            )
            return [io_out(r) for r in rows], _current_cursor(tx)

    def changes(self, subsystem_id: int, since: int) -> tuple[list[dict[str, Any]], int]:
        """Rows of the subsystem changed after `since` (tombstones included), in change order."""
        with self.backend.read() as tx:
            cursor = _current_cursor(tx)
            if since > cursor:
                raise CursorAhead(since, cursor)
            rows = tx.fetchall(
                f'SELECT {_SELECT_COLUMNS} FROM "Ios" WHERE "changeSeq" > ? AND "subsystemId" = ? '
                'ORDER BY "changeSeq", "id"',
                [since, subsystem_id],
            )
            return [io_out(r) for r in rows], cursor

    def cursor(self) -> int:
        with self.backend.read() as tx:
            return _current_cursor(tx)

    # -- admin ------------------------------------------------------------------------------

    def get_io(self, io_id: int) -> dict[str, Any]:
        with self.backend.read() as tx:
            return io_out(_live_row(tx, io_id))

    def add_io(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A new IO with the next id (tombstoned ids are never reused), version 1, no result."""
        now = self._now()
        with self.backend.write() as tx:
            new_id = tx.fetchone('SELECT COALESCE(MAX("id"), 0) + 1 AS n FROM "Ios"')["n"]  # type: ignore[index]
            row = {
                "id": new_id, "subsystemId": fields["subsystemId"], "name": fields["name"],
                "description": fields["description"], "tagName": fields.get("tagName", ""),
                "isSpare": fields.get("isSpare", 0), "result": None, "comments": "", "version": 1,
                "updatedAt": now, "changeSeq": _current_cursor(tx) + 1, "deleted": 0,
            }
            tx.execute(f'INSERT INTO "Ios" ({_cols(row)}) VALUES ({_marks(len(row))})', list(row.values()))
            return io_out(row)

    def update_io(self, io_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Edit metadata/comments (never result); bumps version and the change cursor."""
        return self._change(io_id, fields)

    def delete_io(self, io_id: int) -> dict[str, Any]:
        """Tombstone the IO so the delta feed reports it (`deleted: true`); later lookups are 404."""
        return self._change(io_id, {"deleted": 1})

    def _change(self, io_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        with self.backend.write() as tx:
            row = _live_row(tx, io_id)
            row.update(fields, version=row["version"] + 1, updatedAt=now, changeSeq=_current_cursor(tx) + 1)
            changed = {k: row[k] for k in (*fields, "version", "updatedAt", "changeSeq")}
            assignments = ", ".join(f'"{k}" = ?' for k in changed)
            tx.execute(f'UPDATE "Ios" SET {assignments} WHERE "id" = ?', [*changed.values(), io_id])
            return io_out(row)


def _decide(item: PushItem, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The outcome of a push item that is not applied, or None when it should be applied."""
    if row is None:
        return _rejected(item, "unknown IO")
    accepted, stored = normalize_result(item.result)
    if not accepted:
        return _rejected(item, f"invalid result {json.dumps(item.result)}; accepted: {', '.join(ACCEPTED_RESULTS)}")
    if int(row["isSpare"]) and stored == "Passed":
        return _rejected(item, "SPARE cannot be Passed")
    if item.base_version != row["version"]:
        return {
            "ioId": item.io_id, "status": "conflict", "version": row["version"],
            "result": row["result"], "comments": row["comments"],
        }
    return None


def _rejected(item: PushItem, reason: str) -> dict[str, Any]:
    return {"ioId": item.io_id, "status": "rejected", "reason": reason}


def _current_cursor(tx: Tx) -> int:
    return int(tx.fetchone('SELECT COALESCE(MAX("changeSeq"), 0) AS c FROM "Ios"')["c"])  # type: ignore[index]


def _live_row(tx: Tx, io_id: int) -> dict[str, Any]:
    row = tx.fetchone(f'SELECT {_SELECT_COLUMNS} FROM "Ios" WHERE "id" = ? AND "deleted" = 0', [io_id])
    if row is None:
        raise NotFound(f"IO {io_id} not found (never existed or deleted)")
    return dict(row)


def _cols(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def open_store(config: CloudConfig, now: Callable[[], str] = utc_now_iso) -> Store:
    """Open the configured backend and make sure the schema exists."""
    backend: Backend
    if config.database_url:
        from .postgres_backend import PostgresBackend

        backend = PostgresBackend(config.database_url)
    else:
        from .sqlite_backend import SqliteBackend

        backend = SqliteBackend(config.sqlite_path)
    try:
        backend.init_schema()
    except BaseException:
        backend.close()
        raise
    return Store(backend, now)

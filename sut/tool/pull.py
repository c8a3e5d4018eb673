"""Pull worker: brings cloud-side changes (adds, edits, retirements) into the field.

It runs only while no ACTIVE outbox row is queued: while the field has edits in
flight, the cloud's copy of those IOs is older than ours. Parked rows do not
block (they wait for a human and would otherwise stop every pull forever).
Even when it runs, a pull never touches the result, comments or version of an
IO that has an outbox row, active or parked: those belong to the field until
the cloud has them. Metadata (name, description, tag, spare) always follows
the cloud.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sut.tool.backoff import Backoff
from sut.tool.cloud_client import CloudClient
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.errors import CloudCallFailed, CloudResync
from sut.tool.events import EventLog

METADATA_FIELDS = ("name", "description", "tagName", "isSpare")
FIELD_VALUE_FIELDS = ("result", "comments", "version", "updatedAt")
T = TypeVar("T")


def cursor_key(subsystem_id: int) -> str:
    return f"pull.cursor.{subsystem_id}"


def pull_gate_open(active: int, parked: int, *, count_parked: bool = False) -> bool:
    """May a pull run now? `count_parked` is the planted `parked_gate` bug."""
    blocking = active + (parked if count_parked else 0)
    return blocking == 0


def fetch_feed(stored_cursor: str | None, full: Callable[[], T], delta: Callable[[int], T]) -> tuple[T, bool]:
    """A full pull without a cursor (or when the cloud asks for a resync), else the delta since it.

    Returns the answer and whether it was a full pull. CloudCallFailed passes through."""
    if stored_cursor is None:
        return full(), True
    try:
        return delta(int(stored_cursor)), False
    except CloudResync:
        return full(), True


def cloud_copy_is_current(local_version: int, cloud_version: int, *, skip_echo: bool = False) -> bool:
    """A pull fetched before a push landed must not roll a record back: take the cloud's values only
    when its copy is not older than ours (`skip_echo`: the planted `lose_comment`, see fields_to_apply)."""
    return cloud_version > local_version if skip_echo else cloud_version >= local_version


def normalise_cloud_io(io: dict[str, Any]) -> dict[str, Any]:
    result = io.get("result")
    return {
        "id": int(io["id"]),
        "subsystemId": io.get("subsystemId"),
        "name": io.get("name") or f"IO_{io['id']}",
        "description": io.get("description"),
        "tagName": io.get("tagName"),
        "isSpare": 1 if io.get("isSpare") else 0,
        "result": None if result in (None, "Cleared") else result,
        "comments": io.get("comments") if io.get("comments") is not None else "",
        "version": int(io.get("version") or 1),
        "updatedAt": io.get("updatedAt"),
    }


def fields_to_apply(local: dict[str, Any], has_outbox_row: bool, cloud: dict[str, Any], *,
                    clobber: bool = False, skip_echo: bool = False) -> dict[str, Any]:
    """The local columns a pulled cloud IO should change (empty: nothing to do).

    Field values follow the cloud only for IOs with no outbox row, and only when the
    cloud copy is not older than ours: a pull fetched before a push landed must not
    roll the IO back. `clobber` is the planted bug that skips both guards.

    A copy at the version we already hold is taken too: it is normally the same
    value, and when it is not, the cloud's is the one that was stored. `skip_echo`
    is the second half of the planted bug `lose_comment`: the historic tool, sure it
    had adopted the cloud's copy when its push was applied (outbox.py), skipped the
    feed's echo of its own push, so the comment it had blanked never came back.
    """
    changes = {f: cloud[f] for f in METADATA_FIELDS if local.get(f) != cloud[f]}
    local_version = int(local.get("version") or 0)
    current = cloud_copy_is_current(local_version, cloud["version"], skip_echo=skip_echo)
    take_values = clobber or (not has_outbox_row and current)
    if take_values:
        changes.update({f: cloud[f] for f in FIELD_VALUE_FIELDS
                        if local.get(f) != cloud[f] and not (f == "updatedAt" and cloud[f] is None)})
    return changes


class PullWorker:
    name = "pull"

    def __init__(self, config: ToolConfig, db: ToolDb, events: EventLog,
                 client_factory: Callable[[], CloudClient] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self._config = config
        self._db = db
        self._events = events
        self._backoff = Backoff(config.backoff_base_s, config.backoff_max_s, rand)
        self._client_factory = client_factory or (lambda: CloudClient(
            config.cloud_url or "", config.cloud_api_key, config.http_timeout_s))
        self._client: CloudClient | None = None
        self.skipped = 0
        self.last_error: str | None = None

    def run_once(self) -> float:
        clobber = self._config.has_bug("clobber")
        if not clobber:  # planted bug `clobber`: the pull does not look at the outbox at all
            active, parked = self._db.queue_counts()
            if not pull_gate_open(active, parked, count_parked=self._config.has_bug("parked_gate")):
                self.skipped += 1
                return self._config.pull_interval_s
        if self._client is None:
            self._client = self._client_factory()
        subsystem = self._config.subsystem_id
        stored = self._db.sync_state(cursor_key(subsystem))
        client = self._client
        try:
            (ios, cursor), full = fetch_feed(stored, lambda: client.pull_full(subsystem),
                                             lambda since: client.changes(subsystem, since))
        except CloudCallFailed as exc:
            self.last_error = str(exc)
            delay = self._backoff.next_delay(exc.retry_after_s)
            return max(delay, self._config.pull_interval_s)
        self._backoff.reset()
        self.last_error = None
        changed = self.apply(ios, cursor, clobber=clobber, skip_echo=self._config.has_bug("lose_comment"))
        if changed or full:
            self._events.emit("pull.applied", count=changed, full=full, received=len(ios), cursor=cursor)
        return self._config.pull_interval_s

    def apply(self, cloud_ios: list[dict[str, Any]], cursor: int, *, clobber: bool = False,
              skip_echo: bool = False) -> int:
        """Apply pulled IOs and store the cursor in one transaction; returns how many IOs changed."""
        changed = 0
        with self._db.write() as conn:
            for raw in cloud_ios:
                try:
                    cloud = normalise_cloud_io(raw)
                except (KeyError, TypeError, ValueError):
                    continue  # a row we cannot read is skipped; the next full pull retries it
                if raw.get("deleted"):
                    changed += _retire(conn, cloud["id"])
                    continue
                changed += _merge(conn, cloud, clobber, skip_echo)
            conn.execute("INSERT INTO SyncState (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                         " SET value = excluded.value", (cursor_key(self._config.subsystem_id), str(cursor)))
        return changed

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _retire(conn: sqlite3.Connection, io_id: int) -> int:
    # The cloud retired the IO: it no longer exists for anyone, so its outbox row goes with it.
    conn.execute("DELETE FROM PendingSyncs WHERE ioId = ?", (io_id,))
    return conn.execute("DELETE FROM Ios WHERE id = ?", (io_id,)).rowcount


def _merge(conn: sqlite3.Connection, cloud: dict[str, Any], clobber: bool, skip_echo: bool) -> int:
    local_row = conn.execute("SELECT * FROM Ios WHERE id = ?", (cloud["id"],)).fetchone()
    if local_row is None:
        columns = list(cloud)
        conn.execute(f"INSERT INTO Ios ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                     [cloud[c] for c in columns])
        return 1
    has_row = conn.execute("SELECT 1 FROM PendingSyncs WHERE ioId = ?", (cloud["id"],)).fetchone() is not None
    changes = fields_to_apply(dict(local_row), has_row, cloud, clobber=clobber, skip_echo=skip_echo)
    if clobber and has_row:
        # Planted bug `clobber`: "the cloud copy is the truth" - the unsynced local edit is discarded.
        conn.execute("DELETE FROM PendingSyncs WHERE ioId = ?", (cloud["id"],))
    if not changes:
        return 0
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(f"UPDATE Ios SET {assignments} WHERE id = ?", [*changes.values(), cloud["id"]])
    return 1

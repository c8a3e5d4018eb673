"""SQLite backend: one connection per thread (waitress serves from a thread pool), WAL, busy timeout."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import StoreUnavailable
from .store import SCHEMA_SQL


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute(sql, params).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None


class SqliteBackend:
    name = "sqlite"

    def __init__(self, path: Path, busy_timeout_s: float = 10.0) -> None:
        self._path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()

    def init_schema(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        # WAL lets pulls read while a push writes; the mode is persistent in the file.
        conn.execute("PRAGMA journal_mode=WAL")
        with self.write() as tx:
            for statement in SCHEMA_SQL:
                tx.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False only so
            # close() can close every thread's connection; each one is used by its own thread alone.
            conn = sqlite3.connect(
                self._path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            # FULL: an "applied" answer must survive a power cut of the host, not just a process kill.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[_SqliteTx]:
        try:
            conn = self._conn()
            conn.execute(begin)
            try:
                yield _SqliteTx(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite {self._path}: {exc}; retry later") from exc

    def write(self) -> Any:
        # IMMEDIATE takes the write lock up front, so two pushes never deadlock upgrading read locks.
        return self._transaction("BEGIN IMMEDIATE")

    def read(self) -> Any:
        # In WAL mode a deferred transaction reads one snapshot from its first SELECT to COMMIT.
        return self._transaction("BEGIN")

    def close(self) -> None:
        with self._opened_lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()

"""Postgres backend (psycopg 3): one connection per thread, reconnected after a failure.

Connections carry TCP keepalives and a user timeout so that a request never hangs
for minutes on a link the chaos layer has cut; it fails fast as 503 instead and the
next request reconnects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .errors import StoreUnavailable
from .store import SCHEMA_SQL

_CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


def _pg(sql: str) -> str:
    # The shared SQL uses `?` placeholders and contains no literal `?` or `%`.
    return sql.replace("?", "%s")


class _PgTx:
    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(_pg(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(_pg(sql), rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._conn.execute(_pg(sql), params).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        return self._conn.execute(_pg(sql), params).fetchone()


class PostgresBackend:
    name = "postgres"

    def __init__(self, url: str) -> None:
        self._url = url
        self._local = threading.local()
        self._opened: list[psycopg.Connection[Any]] = []
        self._opened_lock = threading.Lock()

    def init_schema(self) -> None:
        with self._transaction(lock=False, snapshot=False) as tx:
            for statement in SCHEMA_SQL:
                tx.execute(statement)

    def _conn(self) -> psycopg.Connection[dict[str, Any]]:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self._url, autocommit=True, row_factory=dict_row, **_CONNECT_OPTIONS)
            self._local.conn = conn
            with self._opened_lock:
                self._opened = [c for c in self._opened if not c.closed]
                self._opened.append(conn)
        return conn

    def _discard(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass  # already broken; we only want it gone

    def _begin(self, lock: bool, snapshot: bool) -> psycopg.Connection[dict[str, Any]]:
        """BEGIN on this thread's connection. A connection that died while idle (database restart,
        network cut) fails right here, before anything was done, so one reconnect-and-retry is safe
        for reads and writes alike; only then does the caller see StoreUnavailable."""
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.execute("BEGIN")
                break
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._discard()
                if attempt == 2:
                    raise
        if snapshot:
            # pull/changes read rows and the cursor together: they must come from one snapshot.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if lock:
            # Serialises writers (readers are not blocked) so changeSeq commits in order.
            conn.execute('LOCK TABLE "Ios" IN SHARE ROW EXCLUSIVE MODE')
        return conn

    @contextmanager
    def _transaction(self, lock: bool, snapshot: bool) -> Iterator[_PgTx]:
        try:
            conn = self._begin(lock, snapshot)
            try:
                yield _PgTx(conn)
            except BaseException:
                if not conn.broken:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._discard()
            raise StoreUnavailable(f"Postgres unavailable: {exc}".strip() + "; retry later") from exc

    def write(self) -> Any:
        return self._transaction(lock=True, snapshot=False)

    def read(self) -> Any:
        return self._transaction(lock=False, snapshot=True)

    def close(self) -> None:
        with self._opened_lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()

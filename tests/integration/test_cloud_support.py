"""Helpers for the cloud tests: a real waitress server on a free loopback port, a throwaway
Postgres cluster, and synthetic seed IOs. This module holds no tests."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import waitress
from flask import Flask
from waitress import wasyncore

API_KEY = "battle-key"
SUBSYSTEM = 38


def make_seed_ios(count: int = 40) -> list[dict[str, Any]]:
    """IOs in cloud_seed.json form: every 10th a SPARE; some results already set; versions 1..3."""
    ios = []
    for i in range(1, count + 1):
        spare = i % 10 == 0
        ios.append({
            "id": i, "subsystemId": SUBSYSTEM, "name": f"MCM02_DI_{i:04d}",
            "description": "SPARE" if spare else f"Photo eye {i}", "tagName": f"MCM02:I.Data[{i}]",
            "isSpare": int(spare), "result": None if spare else (None, "Passed", "Failed")[i % 3],
            "comments": "" if i % 4 else f"seed note {i}", "version": 1 + i % 3,
            "updatedAt": "2026-11-01T08:00:00.000Z",
        })
    return ios


def first_id(ios: list[dict[str, Any]], *, spare: bool) -> int:
    return next(io["id"] for io in ios if bool(io["isSpare"]) == spare)


class ServerThread:
    """The real app under waitress on 127.0.0.1, port chosen by the OS."""

    def __init__(self, app: Flask, threads: int = 4) -> None:
        self._server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.url = f"http://127.0.0.1:{self._server.effective_port}"  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._server.run, name="cloud-waitress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        # server.close() only shuts the listening socket (keep-alive channels keep the loop running)
        # and is not thread-safe; instead the loop thread itself closes every socket it serves, which
        # empties its map and ends run() at once.
        server: Any = self._server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        assert not self._thread.is_alive(), "waitress loop did not stop"


class CloudClient:
    def __init__(self, base_url: str, api_key: str | None = API_KEY) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if api_key is not None:
            self.session.headers["X-API-Key"] = api_key

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=10, **kwargs)

    def push(self, *items: dict[str, Any]) -> requests.Response:
        return self.request("POST", "/api/sync/push", json={"items": list(items)})

    def pull(self) -> dict[str, Any]:
        response = self.request("GET", "/api/sync/pull", params={"subsystemId": SUBSYSTEM})
        assert response.status_code == 200, response.text
        return response.json()

    def changes(self, since: int) -> requests.Response:
        return self.request("GET", "/api/sync/changes", params={"subsystemId": SUBSYSTEM, "since": since})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_postgres_bin() -> Path | None:
    """The directory holding initdb and pg_ctl (PATH first, then Debian's /usr/lib/postgresql/<ver>/bin)."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    return None


class PostgresCluster:
    """A throwaway cluster in a temp dir on a free loopback port, run as a non-root user."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="battle-cloud-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root.
            user = "postgres" if _user_exists("postgres") else "nobody"
            self._run_as = ["runuser", "-u", user, "--"]
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _pg(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._run_as, str(self.bindir / tool), *args], capture_output=True, text=True, timeout=60
        )

    def start(self) -> None:
        if not self.data.exists():
            done = self._pg("initdb", "-D", str(self.data), "-U", "battle", "-A", "trust", "-E", "UTF8", "--no-sync")
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        last_error = ""
        for _ in range(3):  # another test run may grab the free port between probe and bind
            self.port = self.port or free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            done = self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", options, "start")
            if done.returncode == 0:
                return
            last_error = (done.stderr or done.stdout) + self.log.read_text(errors="replace")[-2000:]
            self.port = 0
        raise RuntimeError(f"pg_ctl start failed: {last_error}")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://battle@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"cloud_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip(
            "Postgres server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; "
            "install them with `apt-get install -y postgresql`"
        )
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()

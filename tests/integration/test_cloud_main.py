"""`python -m sut.cloud` as a real process: start-up line, seed once, restart, bad settings, Postgres."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cloud_support import SUBSYSTEM, CloudClient, PostgresCluster, make_seed_ios, postgres_cluster

REPO = Path(__file__).resolve().parents[2]


class CloudProcess:
    def __init__(self, env: dict[str, str]) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_")}
        full_env = {**inherited, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "CLOUD_HOST": "127.0.0.1",
                    "CLOUD_PORT": "0", **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sut.cloud"], cwd=REPO, env=full_env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_event(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(f"cloud exited {self.proc.returncode}: {self.proc.stderr.read()}") from None
                continue
            event = json.loads(line)
            if event["event"] == name:
                return event
        raise AssertionError(f"no {name} event within {timeout} s")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


@pytest.fixture
def seed_file(tmp_path) -> Path:
    path = tmp_path / "cloud_seed.json"
    path.write_text(json.dumps({"schema": 1, "subsystemId": SUBSYSTEM, "ios": make_seed_ios(25)}))
    return path


@pytest.fixture
def processes() -> Iterator[list[CloudProcess]]:
    started: list[CloudProcess] = []
    yield started
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=10)


def start(processes: list[CloudProcess], env: dict[str, str]) -> tuple[CloudProcess, dict[str, Any]]:
    process = CloudProcess(env)
    processes.append(process)
    return process, process.wait_event("server.start")


def assert_seeded_then_persistent(processes, env: dict[str, str], backend: str) -> None:
    process, started = start(processes, env)
    assert set(started) >= {"ts", "event", "pid", "port", "backend", "seeded", "cursor"}
    assert started["ts"].endswith("Z") and started["pid"] == process.proc.pid
    assert (started["backend"], started["seeded"], started["cursor"]) == (backend, 25, 0)
    client = CloudClient(f"http://127.0.0.1:{started['port']}")
    assert len(client.pull()["ios"]) == 25
    outcome = client.push({"ioId": 1, "result": "Failed", "comments": "kept", "baseVersion": 2}).json()
    assert outcome["results"][0]["status"] == "applied"
    assert process.stop() == 0
    assert process.wait_event("server.stop")

    again, restarted = start(processes, env)
    assert restarted["seeded"] == 0, "the seed must load only into an empty database"
    client = CloudClient(f"http://127.0.0.1:{restarted['port']}")
    io = next(i for i in client.pull()["ios"] if i["id"] == 1)
    assert (io["result"], io["comments"], io["version"]) == ("Failed", "kept", 3)
    assert again.stop() == 0


def test_sqlite_process_seeds_once_and_keeps_data_across_restart(processes, tmp_path, seed_file) -> None:
    env = {"CLOUD_SQLITE_PATH": str(tmp_path / "nested" / "cloud.db"), "CLOUD_SEED_FILE": str(seed_file)}
    assert_seeded_then_persistent(processes, env, "sqlite")


def test_postgres_process_seeds_once_and_keeps_data_across_restart(processes, seed_file) -> None:
    with postgres_cluster() as cluster:
        env = {"CLOUD_DATABASE_URL": cluster.new_database(), "CLOUD_SEED_FILE": str(seed_file)}
        assert_seeded_then_persistent(processes, env, "postgres")


def test_postgres_outage_is_503_then_recovers_without_restart(processes, seed_file) -> None:
    with postgres_cluster() as cluster:
        cluster_db: PostgresCluster = cluster
        env = {"CLOUD_DATABASE_URL": cluster_db.new_database(), "CLOUD_SEED_FILE": str(seed_file)}
        process, started = start(processes, env)
        client = CloudClient(f"http://127.0.0.1:{started['port']}")
        assert client.pull()["cursor"] == 0
        cluster_db.stop("fast")
        down = client.request("GET", "/api/sync/pull", params={"subsystemId": SUBSYSTEM})
        assert down.status_code == 503
        assert down.headers["Retry-After"] == "1" and "database unavailable" in down.json()["error"]
        cluster_db.start()
        assert len(client.pull()["ios"]) == 25
        assert process.stop() == 0


@pytest.mark.parametrize(("env", "message"), [
    ({"CLOUD_RATE_LIMIT_PER_MIN": "lots"}, "CLOUD_RATE_LIMIT_PER_MIN='lots' is not an integer"),
    ({"CLOUD_PORT": "70000"}, "CLOUD_PORT=70000"),
    ({"CLOUD_DATABASE_URL": "mysql://x"}, "CLOUD_DATABASE_URL"),
    ({"CLOUD_SEED_FILE": "/nonexistent/cloud_seed.json"}, "does not exist"),
])
def test_bad_settings_exit_2_naming_the_setting(processes, tmp_path, env, message) -> None:
    process = CloudProcess({"CLOUD_SQLITE_PATH": str(tmp_path / "cloud.db"), **env})
    processes.append(process)
    assert process.proc.wait(timeout=30) == 2
    assert message in process.proc.stderr.read()

"""Shared helpers for the tool's integration tests (no tests here): real processes on loopback.

Every service is the real one, started as a subprocess on a port it picks itself
(port 0) and reports in its start event: the cloud (`python -m sut.cloud`, SQLite),
the PLC simulator (`python -m sut.plcsim`, real CIP) and the tool (`python -m sut.tool`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
API_KEY = "battle-key"  # the tool's key
OBSERVER_KEY = "test-observer"  # the tests' own key: its own rate-limit budget, so checking never starves the tool
FAST_TOOL_ENV = {
    "TOOL_PUSH_INTERVAL_S": "0.2",
    "TOOL_PULL_INTERVAL_S": "0.3",
    "TOOL_PLC_POLL_S": "0.3",
    "TOOL_BACKOFF_BASE_S": "0.2",
    "TOOL_BACKOFF_MAX_S": "2",
    "TOOL_HEALTH_INTERVAL_S": "1",
}


class Service:
    """A subprocess whose stdout lines are kept (and parsed when they are JSON events)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.lines: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the reader
        self.proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.write(line)
            self._log.flush()
            event = None
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                if isinstance(event, dict) and "event" in event:
                    self.events.append(event)
                self._cond.notify_all()
        self._log.close()
        with self._cond:
            self._cond.notify_all()

    def wait_event(self, name: str, where: Callable[[dict[str, Any]], bool] = lambda e: True,
                   timeout: float = 20.0, after: int = 0) -> dict[str, Any]:
        """The first event `name` (from index `after`) matching `where`; fails with the log tail."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if event.get("event") == name and where(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    tail = "\n".join(self.lines[-25:])
                    pytest.fail(f"{self.name}: no {name!r} event within {timeout}s "
                                f"(exit code {self.proc.poll()}); last output:\n{tail}")
                self._cond.wait(min(left, 0.2))

    def named(self, name: str) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e.get("event") == name]

    def mark(self) -> int:
        """Index to pass as `after=` so a wait only sees events from now on."""
        with self._cond:
            return len(self.events)

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        return self.proc.returncode


class Cloud:
    def __init__(self, service: Service, port: int) -> None:
        self.service = service
        self.url = f"http://127.0.0.1:{port}"
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = OBSERVER_KEY

    def io(self, io_id: int) -> dict[str, Any]:
        return self._call("GET", f"/api/admin/ios/{io_id}")

    def patch(self, io_id: int, **fields: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/api/admin/ios/{io_id}", json=fields)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        # A rate-limited test cloud may refuse the checker too: wait as told, like a polite client.
        for _ in range(20):
            response = self.session.request(method, self.url + path, timeout=10, **kwargs)
            if response.status_code != 429:
                response.raise_for_status()
                return response.json()
            time.sleep(float(response.headers.get("Retry-After", "1")))
        pytest.fail(f"{method} {path}: the cloud kept answering 429")


class Tool:
    def __init__(self, service: Service, port: int, data_dir: Path) -> None:
        self.service = service
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = data_dir
        self.session = requests.Session()

    def mark(self, io_id: int, result: str, comments: str = "", user: str = "tester") -> requests.Response:
        return self.session.put(f"{self.url}/api/ios/{io_id}",
                                json={"result": result, "comments": comments, "currentUser": user}, timeout=30)

    def io(self, io_id: int) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/api/ios/{io_id}", timeout=10)
        response.raise_for_status()
        return response.json()

    def queue(self) -> dict[str, Any]:
        return self.session.get(f"{self.url}/api/sync/queue", timeout=10).json()

    def outbox_row(self, io_id: int) -> dict[str, Any] | None:
        import sqlite3

        conn = sqlite3.connect(self.data_dir / "tool.db")
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute("SELECT * FROM PendingSyncs WHERE ioId = ?", (io_id,)).fetchone()
            return None if row is None else dict(row)
        finally:
            conn.close()

    @property
    def pid(self) -> int:
        return self.service.proc.pid


def wait_until(check: Callable[[], Any], timeout: float = 15.0, every: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout}s waiting for {what or check}; last value {last!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate_seed(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "seed", "generate", "--out", str(out)], cwd=REPO, check=True,
                   capture_output=True, timeout=120)
    return out


def seed_ios(seed_dir: Path) -> list[dict[str, Any]]:
    return json.loads((seed_dir / "cloud_seed.json").read_text())["ios"]


class IoPicker:
    """Hands out distinct seed IOs, so tests sharing one cloud never touch the same IO."""

    def __init__(self, seed_dir: Path) -> None:
        self._ios = seed_ios(seed_dir)
        self._taken: set[int] = set()
        self._lock = threading.Lock()

    def take(self, *, spare: bool = False, last_digit: int | None = None) -> int:
        with self._lock:
            for io in self._ios:
                if io["id"] in self._taken or bool(io["isSpare"]) != spare:
                    continue
                if last_digit is not None and io["id"] % 10 != last_digit:
                    continue
                if last_digit is None and io["id"] % 10 == 7:
                    continue  # ids ending in 7 are kept for the crash pattern
                self._taken.add(io["id"])
                return io["id"]
        raise AssertionError("the seed has no IO left with these properties")


def start_cloud(workdir: Path, seed_dir: Path, *, rate_limit: int = 100_000,
                window_s: float | None = None) -> Cloud:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"CLOUD_HOST": "127.0.0.1", "CLOUD_PORT": "0", "CLOUD_SQLITE_PATH": str(workdir / "cloud.db"),
           "CLOUD_SEED_FILE": str(seed_dir / "cloud_seed.json"), "CLOUD_API_KEYS": f"{API_KEY},{OBSERVER_KEY}",
           "CLOUD_RATE_LIMIT_PER_MIN": str(rate_limit)}
    if window_s is not None:  # a window of seconds, so a test sees 429s with a short Retry-After
        env["CLOUD_RATE_WINDOW_S"] = str(max(1, round(window_s)))
    service = Service("cloud", [sys.executable, "-m", "sut.cloud"], env, workdir / "cloud.log")
    start = service.wait_event("server.start", timeout=60)
    return Cloud(service, int(start["port"]))


def start_plcsim(workdir: Path, seed_dir: Path, port: int = 0) -> tuple[Service, int]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"PLC_HOST": "127.0.0.1", "PLC_PORT": str(port), "PLC_TAGS_FILE": str(seed_dir / "plc_tags.json"),
           "PLC_DELAY_FILE": ""}  # no shared delay file: nothing else on the host can slow this simulator
    service = Service("plcsim", [sys.executable, "-m", "sut.plcsim"], env, workdir / "plcsim.log")
    start = service.wait_event("plcsim.start", timeout=60)
    return service, int(start["port"])


def start_tool(workdir: Path, seed_dir: Path, *, cloud: Cloud | None = None, plc_port: int | None = None,
               bugs: str = "", wait_pull: bool = True, **env_overrides: str) -> Tool:
    data_dir = workdir / "data"
    env = {**FAST_TOOL_ENV, "TOOL_HOST": "127.0.0.1", "TOOL_PORT": "0", "TOOL_DATA_DIR": str(data_dir),
           "TOOL_SEED_DIR": str(seed_dir), "TOOL_CLOUD_API_KEY": API_KEY, "BATTLE_SUT_BUGS": bugs,
           "TOOL_EVENT_LOG": str(workdir / "events.jsonl"), "TOOL_CLOUD_URL": cloud.url if cloud else "",
           "TOOL_PLC_HOST": "127.0.0.1" if plc_port else "", "TOOL_PLC_PORT": str(plc_port or 44818),
           **env_overrides}
    workdir.mkdir(parents=True, exist_ok=True)
    service = Service("tool", [sys.executable, "-m", "sut.tool"], env, workdir / "tool.log")
    start = service.wait_event("server.start", timeout=30)
    tool = Tool(service, int(start["port"]), data_dir)
    if cloud is not None and wait_pull:
        service.wait_event("pull.applied", lambda e: e["full"], timeout=30)  # in step with the cloud
    return tool


_SEED_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def tool_seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated seed per test session, shared by every tool test module."""
    if "seed" not in _SEED_CACHE:
        _SEED_CACHE["seed"] = generate_seed(tmp_path_factory.mktemp("tool-seed"))
    return _SEED_CACHE["seed"]


@pytest.fixture(scope="session")
def io_picker(tool_seed_dir: Path) -> IoPicker:
    if "picker" not in _PICKERS:
        _PICKERS["picker"] = IoPicker(tool_seed_dir)
    return _PICKERS["picker"]


_PICKERS: dict[str, IoPicker] = {}

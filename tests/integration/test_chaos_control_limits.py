"""The chaos API and the cloud-proxy's control API against hostile requests, each in its own process.

Each server runs as a subprocess, so the RSS measured is its own and nothing of the test's. The
client streams the body from one 64 KiB buffer (100 MB are never built in memory) and stops as
soon as the server answers or closes: a server that reads the body before checking the token
would take all 100 MB, one that checks first answers 401 after the headers and reads nothing.

RSS is measured at its peak while the request is in flight (sampled every 2 ms, and the kernel's
high-water mark VmHWM where /proc has it), not just afterwards: a server that reads a 100 MB body
into one buffer frees it when the request ends, and its RSS afterwards looks untouched.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok"
LIMIT = 64 * 1024
BIG = 100 * 1024 * 1024
CHUNK = memoryview(bytes(64 * 1024))
RSS_GROWTH_MAX = 5 * 1024 * 1024  # "a few MB": allocator noise, not a body
CHAOS_PROGRAM = """
import sys
from battle.chaos.recording_driver import RecordingDriver
from battle.chaos.service import ChaosServiceConfig, serve_chaos
sys.exit(serve_chaos(ChaosServiceConfig.from_env(), RecordingDriver(["tool", "plc-sim"])))
"""


class Server:
    def __init__(self, name: str, process: subprocess.Popen[str], port: int, method: str, path: str) -> None:
        self.name, self.process, self.port, self.method, self.path = name, process, port, method, path

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def head(self, length: int | str | None, token: str | None = None, extra: str = "") -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: battle", "Content-Type: application/json"]
        if token is not None:
            lines.append(f"X-Chaos-Token: {token}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHAOS_HOST", "PROXY_HOST")}  # the defaults
    return {**env, "PYTHONPATH": str(REPO), "CHAOS_TOKEN": TOKEN, **extra}


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    run = tmp_path_factory.mktemp("chaos")
    env = _env(CHAOS_PORT="0", CHAOS_LEDGER_FILE=str(run / "injected.jsonl"))
    process = subprocess.Popen(
        [sys.executable, "-c", CHAOS_PROGRAM], env=env, cwd=run, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        started = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        yield Server("chaos", process, int(started["port"]), "POST", "/faults/power")
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def proxy() -> Iterator[Server]:
    env = _env(PROXY_UPSTREAM="http://127.0.0.1:9", PROXY_LISTEN_PORT="0", PROXY_CONTROL_PORT="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "battle.chaos.proxy"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        started = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        yield Server("cloud-proxy", process, int(started["controlPort"]), "PUT", "/mode")
    finally:
        _stop(process)


@pytest.fixture(params=["chaos", "proxy"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)


def exchange(port: int, head: bytes, body_bytes: int = 0, body: bytes = b"") -> tuple[int, Any, int]:
    """Send head, then `body` or up to `body_bytes` zeros; stop when the server answers or closes.

    Returns (status, JSON answer, body bytes the client got into the socket before that)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        sent = 0
        try:
            while sent < body_bytes:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered (or closed) already: it will not read the rest
                sent += sock.send(CHUNK[: min(len(CHUNK), body_bytes - sent)])
        except OSError:
            pass  # reset or broken pipe: the server closed without reading the rest
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    head_part, _, payload = answer.partition(b"\r\n\r\n")
    assert head_part, f"no answer at all after {sent} body bytes"
    return int(head_part.split(b" ", 2)[1]), json.loads(payload or b"null"), sent


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 1 << 30  # read to the close


def high_water_mark(pid: int) -> int | None:
    """The kernel's peak RSS of the process (VmHWM), or None off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class PeakRss:
    """The highest RSS seen while the block runs, sampled every 2 ms in a thread."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = int(process.memory_info().rss)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.002):
            self.peak = max(self.peak, int(self.process.memory_info().rss))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.2)  # a server still reading what it took in keeps growing for a moment
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, int(self.process.memory_info().rss))


def _mb(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 1e6:.1f}"


def warm_up(server: Server) -> None:
    """Exercise every refusal path once, so the measurement sees no first-use allocations."""
    for _ in range(3):
        exchange(server.port, server.head(10), body=b"x" * 10)
        exchange(server.port, server.head(LIMIT + 1, TOKEN))
        exchange(server.port, server.head("abc", TOKEN))
    time.sleep(0.2)


@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token-401", "token-413"])
def test_a_100_mb_body_is_refused_without_being_read(server, token):
    warm_up(server)
    before, hwm_before = server.rss(), high_water_mark(server.process.pid)
    with PeakRss(psutil.Process(server.process.pid)) as sampled:
        status, answer, sent = exchange(server.port, server.head(BIG, token), body_bytes=BIG)
    after, hwm_after = server.rss(), high_water_mark(server.process.pid)
    growth = sampled.peak - before
    if hwm_before is not None and hwm_after is not None:
        growth = max(growth, hwm_after - hwm_before)
    print(
        f"\n{server.name} {'no token' if token is None else 'token'}: answered {status} after the client "
        f"pushed {sent / 1e6:.1f} MB into the socket; RSS {before / 1e6:.1f} MB, peak {sampled.peak / 1e6:.1f}, "
        f"after {after / 1e6:.1f}; VmHWM {_mb(hwm_before)} -> {_mb(hwm_after)}; growth {growth / 1e6:+.2f} MB"
    )
    if token is None:
        assert status == 401 and "X-Chaos-Token" in answer["error"]
    else:
        assert status == 413 and str(LIMIT) in answer["error"]
    assert growth < RSS_GROWTH_MAX, f"{server.name} grew {growth / 1e6:.1f} MB on a refused 100 MB body"
    assert sent < BIG  # the server stopped the client: the body was never taken in full
    assert exchange(server.port, server.head(None).replace(server.path.encode(), b"/health", 1)
                    .replace(server.method.encode(), b"GET", 1))[0] == 200  # still serving


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "5, 5"])
def test_a_bad_content_length_is_400_naming_what_is_accepted(server, length):
    status, answer, _ = exchange(server.port, server.head(length, TOKEN))
    assert status == 400 and "Content-Length" in answer["error"] and "decimal number" in answer["error"]


def test_a_missing_content_length_is_400(server):
    status, answer, _ = exchange(server.port, server.head(None, TOKEN))
    assert status == 400, answer


def test_a_chunked_body_is_400_asking_for_a_content_length(server):
    status, answer, _ = exchange(server.port, server.head(None, TOKEN, "Transfer-Encoding: chunked\r\n"))
    assert status == 400 and "Content-Length" in answer["error"]


def test_a_body_just_over_64_kib_is_413_naming_the_limit(server):
    status, answer, _ = exchange(server.port, server.head(LIMIT + 1, TOKEN), body=b" " * (LIMIT + 1))
    assert status == 413 and f"at most {LIMIT} bytes" in answer["error"]


def test_a_body_of_exactly_64_kib_is_read_and_judged_on_its_content(server):
    if server.name == "chaos":
        start = b'{"target": "nope", "duration": 1, "pad": "'
    else:
        start = b'{"pad": "'
    body = start + b"x" * (LIMIT - len(start) - 2) + b'"}'
    assert len(body) == LIMIT
    status, answer, _ = exchange(server.port, server.head(LIMIT, TOKEN), body=body)
    # the content was read and refused for what it says, not for its size
    assert status in (400, 403) and ("nope" in answer["error"] or "pad" in answer["error"]), answer


def test_both_bind_loopback_by_default(chaos, proxy):
    for server in (chaos, proxy):
        listening = [
            c.laddr for c in psutil.Process(server.process.pid).net_connections("tcp") if c.status == "LISTEN"
        ]
        assert listening and all(address.ip == "127.0.0.1" for address in listening), (server.name, listening)
        assert server.port in {address.port for address in listening}

"""Benchmark of the reference tool with the real cloud and PLC simulator on loopback.

    python bench/bench_tool.py [--seconds 30] [--clients 8] [--writes 10000] [--marks 20]

Prints:
- sustained PUT /api/ios/<id> rate with N concurrent clients, p50/p95/p99 latency;
- the tool's RSS after `--writes` marks in total;
- time for a mark to reach the cloud on a healthy link (p50/p95 over `--marks` marks).

The cloud runs on SQLite with a rate limit high enough not to throttle the tool: the
figures are the tool's, not the limiter's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
KEY = "battle-key"
OBSERVER_KEY = "bench-observer"


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        # Line-buffered: a follower of the log (battle probe --tool-log) sees each event as it is written.
        self._log = open(log, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by the reader thread
        self.proc = subprocess.Popen(argv, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.write(line)
            if line.startswith("{"):
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    pass
        self._log.close()

    def wait_event(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event.get("event") == name:
                    return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"{self.name}: no {name} event (exit code {self.proc.poll()}); see its log")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def start_stack(work: Path) -> tuple[list[Proc], str, str, int]:
    seed = work / "seed"
    subprocess.run([sys.executable, "-m", "seed", "generate", "--out", str(seed)], cwd=REPO, check=True,
                   capture_output=True)
    cloud = Proc("cloud", [sys.executable, "-m", "sut.cloud"], {
        "CLOUD_HOST": "127.0.0.1", "CLOUD_PORT": "0", "CLOUD_SQLITE_PATH": str(work / "cloud.db"),
        "CLOUD_SEED_FILE": str(seed / "cloud_seed.json"), "CLOUD_API_KEYS": f"{KEY},{OBSERVER_KEY}",
        "CLOUD_RATE_LIMIT_PER_MIN": "1000000"}, work / "cloud.log")
    cloud_url = f"http://127.0.0.1:{int(cloud.wait_event('server.start')['port'])}"
    plc = Proc("plcsim", [sys.executable, "-m", "sut.plcsim"], {
        "PLC_HOST": "127.0.0.1", "PLC_PORT": "0", "PLC_TAGS_FILE": str(seed / "plc_tags.json"),
        "PLC_DELAY_FILE": ""}, work / "plcsim.log")
    plc_port = int(plc.wait_event("plcsim.start")["port"])
    tool = Proc("tool", [sys.executable, "-m", "sut.tool"], {
        "TOOL_HOST": "127.0.0.1", "TOOL_PORT": "0", "TOOL_DATA_DIR": str(work / "tool"),
        "TOOL_SEED_DIR": str(seed), "TOOL_CLOUD_URL": cloud_url, "TOOL_CLOUD_API_KEY": KEY,
        "TOOL_PLC_HOST": "127.0.0.1", "TOOL_PLC_PORT": str(plc_port), "BATTLE_SUT_BUGS": ""}, work / "tool.log")
    tool_url = f"http://127.0.0.1:{int(tool.wait_event('server.start')['port'])}"
    tool.wait_event("pull.applied")
    tool.wait_event("plc.restore")
    return [tool, plc, cloud], tool_url, cloud_url, tool.proc.pid


def writable_ios(tool_url: str) -> list[int]:
    ios = requests.get(f"{tool_url}/api/ios", timeout=30).json()["ios"]
    return [io["id"] for io in ios if not io["isSpare"] and io["id"] % 10 != 7]


def load(tool_url: str, ios: list[int], clients: int, seconds: float | None, total: int | None,
         at_count: tuple[int, Any] | None = None) -> list[float]:
    """Closed-loop clients marking random IOs until the time or the count is reached.

    `at_count` = (n, callback): the callback runs once, right after the n-th mark of this load.
    """
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds if seconds else None
    counter = iter(range(total)) if total else None

    def client(n: int) -> None:
        rng = random.Random(n)
        session = requests.Session()
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return
            if counter is not None:
                with lock:
                    if next(counter, None) is None:
                        return
            io_id = rng.choice(ios)
            body = {"result": rng.choice(["Passed", "Failed", "Cleared"]), "comments": f"bench {n}",
                    "currentUser": f"bench{n}"}
            started = time.monotonic()
            response = session.put(f"{tool_url}/api/ios/{io_id}", json=body, timeout=60)
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:100]}")
                if at_count is not None and len(latencies) == at_count[0]:
                    at_count[1]()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} marks failed, e.g. {failures[0]}")
    return latencies


def wait_drained(tool_url: str, timeout: float = 120.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if requests.get(f"{tool_url}/api/sync/queue", timeout=10).json()["active"] == 0:
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit("the outbox did not drain")


def time_to_cloud(tool_url: str, cloud_url: str, ios: list[int], marks: int) -> list[float]:
    cloud = requests.Session()
    cloud.headers["X-API-Key"] = OBSERVER_KEY
    delays = []
    for k in range(marks):
        io_id, note = ios[k], f"reach-cloud {k} {time.time()}"
        started = time.monotonic()
        assert requests.put(f"{tool_url}/api/ios/{io_id}", timeout=10,
                            json={"result": "Failed", "comments": note, "currentUser": "bench"}).status_code == 200
        while cloud.get(f"{cloud_url}/api/admin/ios/{io_id}", timeout=10).json()["comments"] != note:
            if time.monotonic() - started > 60:
                raise SystemExit(f"mark on IO {io_id} never reached the cloud")
            time.sleep(0.01)
        delays.append(time.monotonic() - started)
        time.sleep(random.uniform(0.0, 1.0))  # do not phase-lock with the push interval
    return delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--marks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tool-") as folder:
        work = Path(folder)
        procs, tool_url, cloud_url, tool_pid = start_stack(work)
        try:
            process = psutil.Process(tool_pid)
            ios = writable_ios(tool_url)
            rss_start = process.memory_info().rss / 2**20
            rss_at: dict[str, float] = {}

            def sample() -> None:
                rss_at["mb"] = process.memory_info().rss / 2**20

            latencies = load(tool_url, ios, args.clients, args.seconds, None, (args.writes, sample))
            rate = len(latencies) / args.seconds
            print(f"PUT /api/ios/<id>, {args.clients} clients, {args.seconds:.0f} s (cloud + plcsim running): "
                  f"{len(latencies)} marks, {rate:.0f} marks/s")
            print(f"  latency ms: p50 {percentile(latencies, 50) * 1000:.1f}  p95 {percentile(latencies, 95) * 1000:.1f}"
                  f"  p99 {percentile(latencies, 99) * 1000:.1f}  max {max(latencies) * 1000:.1f}")
            drained = wait_drained(tool_url)
            print(f"  outbox drained {drained:.1f} s after the load stopped")
            if "mb" not in rss_at:
                load(tool_url, ios, args.clients, None, args.writes - len(latencies),
                     (args.writes - len(latencies), sample))
            rss_end = process.memory_info().rss / 2**20
            print(f"tool RSS: {rss_start:.1f} MB at start, {rss_at['mb']:.1f} MB after {args.writes} marks, "
                  f"{rss_end:.1f} MB after {max(args.writes, len(latencies))}")
            wait_drained(tool_url)
            delays = time_to_cloud(tool_url, cloud_url, random.Random(7).sample(ios, args.marks), args.marks)
            print(f"mark -> cloud on a healthy link (push interval 1 s), {args.marks} marks: "
                  f"p50 {statistics.median(delays) * 1000:.0f} ms  p95 {percentile(delays, 95) * 1000:.0f} ms  "
                  f"max {max(delays) * 1000:.0f} ms")
        finally:
            for proc in procs:
                proc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

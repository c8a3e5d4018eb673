"""Push throughput of the reference cloud on SQLite, in batches of 50 (the tool's batch size).

Runs `python -m sut.cloud` as its own process on a free loopback port (so client and
server do not share a GIL), seeds it with an MCM02-sized site, and pushes result
changes that always apply (each client owns a disjoint set of IOs and tracks versions).
Also measures the store alone, in-process, to show what HTTP costs.

    python bench/bench_cloud.py [--seconds 8] [--clients 1,4] [--batch 50]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
SUBSYSTEM = 38
API_KEY = "bench-key"


def site_ios(count: int = 1184) -> list[dict[str, Any]]:
    return [{
        "id": i, "subsystemId": SUBSYSTEM, "name": f"MCM02_DI_{i:04d}", "description": f"point {i}",
        "tagName": f"MCM02:I.Data[{i}]", "isSpare": 0, "result": None, "comments": "", "version": 1,
        "updatedAt": "2026-11-01T08:00:00.000Z",
    } for i in range(1, count + 1)]


def start_cloud(workdir: Path, seed: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CLOUD_")},
           "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "CLOUD_HOST": "127.0.0.1", "CLOUD_PORT": "0",
           "CLOUD_SQLITE_PATH": str(workdir / "cloud.db"), "CLOUD_SEED_FILE": str(seed),
           "CLOUD_API_KEYS": API_KEY, "CLOUD_RATE_LIMIT_PER_MIN": "100000000"}
    proc = subprocess.Popen([sys.executable, "-m", "sut.cloud"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            event = json.loads(lines.get(timeout=0.5))
        except queue.Empty:
            if proc.poll() is not None:
                raise SystemExit(f"cloud exited {proc.returncode}: {proc.stderr.read()}") from None  # type: ignore[union-attr]
            continue
        if event["event"] == "server.start":
            return proc, f"http://127.0.0.1:{event['port']}"
    proc.kill()
    raise SystemExit("cloud did not log server.start within 30 s")


def current_versions(url: str) -> dict[int, int]:
    response = requests.get(url + "/api/sync/pull", params={"subsystemId": SUBSYSTEM},
                            headers={"X-API-Key": API_KEY}, timeout=30)
    response.raise_for_status()
    return {io["id"]: io["version"] for io in response.json()["ios"]}


def push_client(url: str, versions: dict[int, int], batch: int, until: float, out: list[float],
                items: list[int], errors: list[str]) -> None:
    try:
        _push_until(url, versions, batch, until, out, items)
    except Exception as exc:  # a worker loop: report, do not die silently
        errors.append(repr(exc))


def _push_until(url: str, versions: dict[int, int], batch: int, until: float, out: list[float],
                items: list[int]) -> None:
    session = requests.Session()
    session.headers["X-API-Key"] = API_KEY
    ids = list(versions)
    n = 0
    while time.monotonic() < until:
        chunk = [ids[(n + k) % len(ids)] for k in range(batch)]
        n += batch
        body = {"items": [{"ioId": i, "result": ("Passed", "Failed")[n % 2], "comments": f"bench {n}",
                           "baseVersion": versions[i]} for i in chunk]}
        started = time.perf_counter()
        response = session.post(url + "/api/sync/push", json=body, timeout=30)
        out.append(time.perf_counter() - started)
        response.raise_for_status()
        for result in response.json()["results"]:
            if result["status"] != "applied":
                raise RuntimeError(f"bench push was not applied: {result}")
            versions[result["ioId"]] = result["version"]
        items.append(len(chunk))


def bench_http(url: str, clients: int, batch: int, seconds: float, ios: int) -> dict[str, float]:
    per_client = ios // clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    counts: list[list[int]] = [[] for _ in range(clients)]
    versions = current_versions(url)
    errors: list[str] = []
    until = time.monotonic() + seconds
    started = time.perf_counter()
    threads = [threading.Thread(target=push_client, args=(
        url, {i: versions[i] for i in range(1 + c * per_client, 1 + (c + 1) * per_client)},
        batch, until, latencies[c], counts[c], errors)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"bench clients failed: {errors}")
    flat = sorted(x for lat in latencies for x in lat)
    total = sum(sum(c) for c in counts)
    return {"items": total, "batches": len(flat), "seconds": elapsed, "items_per_s": total / elapsed,
            "p50_ms": 1000 * statistics.median(flat), "p95_ms": 1000 * flat[int(0.95 * (len(flat) - 1))]}


def bench_store(workdir: Path, batch: int, seconds: float, ios: list[dict[str, Any]]) -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    from sut.cloud.config import CloudConfig
    from sut.cloud.store import PushItem, open_store

    store = open_store(CloudConfig(sqlite_path=workdir / "store-only.db"))
    store.load_seed_if_empty(ios)
    versions = {io["id"]: 1 for io in ios}
    ids = list(versions)
    total, n = 0, 0
    started = time.perf_counter()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        chunk = [ids[(n + k) % len(ids)] for k in range(batch)]
        n += batch
        for outcome in store.push([PushItem(i, "Failed", "s", versions[i]) for i in chunk]):
            versions[outcome["ioId"]] = outcome["version"]
        total += len(chunk)
    elapsed = time.perf_counter() - started
    store.close()
    return {"items": total, "seconds": elapsed, "items_per_s": total / elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="1,4", help="comma list of concurrent client counts")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    ios = site_ios()
    with tempfile.TemporaryDirectory(prefix="bench-cloud-") as tmp:
        workdir = Path(tmp)
        seed = workdir / "cloud_seed.json"
        seed.write_text(json.dumps({"schema": 1, "subsystemId": SUBSYSTEM, "ios": ios}))
        print(f"cloud push bench: SQLite, {len(ios)} IOs, batches of {args.batch}, {args.seconds:.0f} s per run, "
              f"{os.cpu_count()} CPUs")
        proc, url = start_cloud(workdir, seed)
        try:
            for clients in (int(c) for c in args.clients.split(",")):
                r = bench_http(url, clients, args.batch, args.seconds, len(ios))
                print(f"  HTTP  clients={clients}: {r['items_per_s']:8.0f} items/s  "
                      f"({r['batches']:.0f} batches, {r['items']:.0f} items in {r['seconds']:.1f} s; "
                      f"batch latency p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms)")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
        r = bench_store(workdir, args.batch, args.seconds, ios)
        print(f"  store only (no HTTP): {r['items_per_s']:8.0f} items/s  ({r['items']:.0f} items in {r['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m sut up --data DIR`: the reference system alone, as local processes on loopback.

Seeds DIR (fresh), starts the cloud (SQLite), the PLC simulator and the tool,
prints their URLs, and stops them all cleanly on Ctrl-C or SIGTERM. A child that
dies on its own stops the others too, with its exit code reported.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


class UpError(Exception):
    """The reference system could not be started."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check, what: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UpError(f"{what} exited with code {proc.returncode} while starting; see its log")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise UpError(f"{what} did not answer within {timeout_s:.0f} s")


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
        return bool(response.status == 200)


def _tcp_ok(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def up(data: Path, seed: int, bugs: str, stop: threading.Event) -> int:
    data = data.resolve()
    seed_dir, logs = data / "seed", data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "seed", "generate", "--out", str(seed_dir), "--seed", str(seed)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UpError(f"seeding failed: {done.stderr.strip()}")
    ports = {name: _free_port() for name in ("cloud", "plc", "tool")}
    key = "local-" + secrets.token_hex(6)
    envs = {
        "cloud": {"CLOUD_HOST": "127.0.0.1", "CLOUD_PORT": str(ports["cloud"]),
                  "CLOUD_SQLITE_PATH": str(data / "cloud" / "cloud.db"),
                  "CLOUD_SEED_FILE": str(seed_dir / "cloud_seed.json"), "CLOUD_API_KEYS": key},
        "plcsim": {"PLC_HOST": "127.0.0.1", "PLC_PORT": str(ports["plc"]),
                   "PLC_TAGS_FILE": str(seed_dir / "plc_tags.json"), "PLC_DELAY_FILE": str(data / "plc_delay_ms")},
        "tool": {"TOOL_HOST": "127.0.0.1", "TOOL_PORT": str(ports["tool"]), "TOOL_DATA_DIR": str(data / "tool"),
                 "TOOL_SEED_DIR": str(seed_dir), "TOOL_CLOUD_URL": f"http://127.0.0.1:{ports['cloud']}",
                 "TOOL_CLOUD_API_KEY": key, "TOOL_PLC_HOST": "127.0.0.1", "TOOL_PLC_PORT": str(ports["plc"]),
                 "BATTLE_SUT_BUGS": bugs},
    }
    (data / "cloud").mkdir(exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    checks = {"cloud": lambda: _http_ok(f"http://127.0.0.1:{ports['cloud']}/api/health"),
              "plcsim": lambda: _tcp_ok(ports["plc"]),
              "tool": lambda: _http_ok(f"http://127.0.0.1:{ports['tool']}/api/health")}
    try:
        for name in ("cloud", "plcsim", "tool"):
            log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
            procs[name] = subprocess.Popen([sys.executable, "-m", f"sut.{name}"], env={**os.environ, **envs[name]},
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            _wait(checks[name], name, procs[name])
        print(f"cloud  http://127.0.0.1:{ports['cloud']}  (X-API-Key: {key})")
        print(f"plc    127.0.0.1:{ports['plc']}  (EtherNet/IP)")
        print(f"tool   http://127.0.0.1:{ports['tool']}")
        print(f"logs   {logs}   — Ctrl-C stops everything", flush=True)
        while not stop.is_set():
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping the rest", file=sys.stderr)
                    return 1
            stop.wait(0.5)
        return 0
    finally:
        for proc in reversed(list(procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sut")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("up", help="start cloud, PLC simulator and tool on loopback from a fresh seed")
    cmd.add_argument("--data", required=True, help="folder for the seed, databases and logs")
    cmd.add_argument("--seed", type=int, default=1)
    cmd.add_argument("--bugs", default=os.environ.get("BATTLE_SUT_BUGS", ""), help="planted bugs, comma list")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        return up(Path(args.data), args.seed, args.bugs, stop)
    except UpError as exc:
        print(f"sut up: {exc}", file=sys.stderr)
        return 2

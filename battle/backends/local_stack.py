"""The reference stack as local processes on loopback: seed, cloud, PLC simulator, cloud-proxy, tool.

Every start of a service (and every restart by chaos or the restart policy) is recorded in the run
dir's `local-stack.json` (battle/chaos/local_state.py), so `battle restore RUN_DIR` can find the
processes a SIGKILLed run left behind.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.chaos.local_processes import LocalProcessManager, ServiceSpec
from battle.chaos.local_state import StackStateRecorder
from battle.config import RunConfig


class StackError(Exception):
    """The local stack could not be brought up; the message names the service and its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_tcp(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.2)
    raise StackError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


@dataclass(frozen=True)
class LocalStack:
    run_dir: Path
    manager: LocalProcessManager
    tool_url: str
    cloud_url: str
    proxy_control_url: str
    plc_host: str
    plc_port: int
    api_key: str
    chaos_token: str
    plc_delay_file: Path
    seed_dir: Path

    def expected_flags(self) -> dict[str, Any]:
        tags = json.loads((self.seed_dir / "plc_tags.json").read_text(encoding="utf-8"))["tags"]
        return {tag["name"]: tag["expected"] for tag in tags if tag.get("kind") == "vfd_flag"}


def generate_seed(seed_dir: Path, seed: int, python: str = sys.executable) -> None:
    done = subprocess.run([python, "-m", "seed", "generate", "--out", str(seed_dir), "--seed", str(seed)],
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise StackError(f"the seed generator failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")


def build_local_stack(config: RunConfig, run_dir: Path, python: str = sys.executable) -> LocalStack:
    seed_dir = run_dir / "seed"
    data = run_dir / "data"
    generate_seed(seed_dir, config.seed, python)
    ports = {name: free_port() for name in ("cloud", "tool", "plc", "proxy", "proxy-control")}
    api_key = "battle-" + secrets.token_hex(8)
    token = secrets.token_hex(16)
    host = "127.0.0.1"
    cloud_url = f"http://{host}:{ports['cloud']}"
    proxy_url = f"http://{host}:{ports['proxy']}"
    delay_file = data / "plc_delay_ms"
    knobs_env = config.to_env()
    specs = [
        ServiceSpec("cloud", [python, "-m", "sut.cloud"], env={
            "CLOUD_HOST": host, "CLOUD_PORT": str(ports["cloud"]), "CLOUD_SQLITE_PATH": str(data / "cloud" / "cloud.db"),
            "CLOUD_SEED_FILE": str(seed_dir / "cloud_seed.json"), "CLOUD_API_KEYS": api_key,
            "BATTLE_SUT_BUGS": knobs_env.get("BATTLE_SUT_BUGS", "")}, data_dir=data / "cloud"),
        ServiceSpec("plc-sim", [python, "-m", "sut.plcsim"], env={
            "PLC_HOST": host, "PLC_PORT": str(ports["plc"]), "PLC_TAGS_FILE": str(seed_dir / "plc_tags.json"),
            "DELAY_MS": knobs_env["DELAY_MS"], "PLC_DELAY_FILE": str(delay_file)}),
        ServiceSpec("cloud-proxy", [python, "-m", "battle.chaos.proxy"], env={
            "PROXY_UPSTREAM": cloud_url, "CHAOS_TOKEN": token, "PROXY_HOST": host,
            "PROXY_LISTEN_PORT": str(ports["proxy"]), "PROXY_CONTROL_PORT": str(ports["proxy-control"]),
            "SEED": str(config.seed)}, chaos=False),
        ServiceSpec("tool", [python, "-m", "sut.tool"], env={
            "TOOL_HOST": host, "TOOL_PORT": str(ports["tool"]), "TOOL_DATA_DIR": str(data / "tool"),
            "TOOL_SEED_DIR": str(seed_dir), "TOOL_CLOUD_URL": proxy_url, "TOOL_CLOUD_API_KEY": api_key,
            "TOOL_PLC_HOST": host, "TOOL_PLC_PORT": str(ports["plc"]),
            "BATTLE_SUT_BUGS": knobs_env.get("BATTLE_SUT_BUGS", "")},
            data_dir=data / "tool", seed_dir=seed_dir),
    ]
    data.mkdir(parents=True, exist_ok=True)
    proxy_control_url = f"http://{host}:{ports['proxy-control']}"
    recorder = StackStateRecorder.for_harness(run_dir, proxy_control_url, delay_file,
                                              {spec.name: spec.chaos for spec in specs})
    manager = LocalProcessManager(specs, run_dir / "logs", on_start=recorder.started)
    return LocalStack(run_dir=run_dir, manager=manager, tool_url=f"http://{host}:{ports['tool']}",
                      cloud_url=cloud_url, proxy_control_url=proxy_control_url,
                      plc_host=host, plc_port=ports["plc"], api_key=api_key, chaos_token=token,
                      plc_delay_file=delay_file, seed_dir=seed_dir)


def start_local_stack(stack: LocalStack, timeout_s: float = 90.0) -> dict[str, float]:
    """Start in dependency order and wait for each to answer; returns seconds to healthy per service."""
    manager = stack.manager
    took: dict[str, float] = {}
    steps: list[tuple[str, Any]] = [
        ("cloud", lambda: manager.wait_healthy("cloud", f"{stack.cloud_url}/api/health", timeout_s)),
        ("plc-sim", lambda: wait_tcp(stack.plc_host, stack.plc_port, timeout_s)),
        ("cloud-proxy", lambda: manager.wait_healthy("cloud-proxy", f"{stack.proxy_control_url}/health", timeout_s)),
        ("tool", lambda: manager.wait_healthy("tool", f"{stack.tool_url}/api/health", timeout_s)),
    ]
    for name, wait in steps:
        started = time.monotonic()
        manager.start(name)
        try:
            wait()
        except Exception as exc:
            raise StackError(f"{name} did not become healthy: {exc}\n--- last lines of {manager.log_path(name)}:\n"
                             f"{manager.log_tail(name, 30)}") from exc
        took[name] = round(time.monotonic() - started, 2)
    return took

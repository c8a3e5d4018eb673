"""The system under test as local processes on loopback: the adapter's setup (the seed), its services
(cloud, PLC simulator, tool) and battle's cloud-proxy in front of the cloud.

Every start of a service (and every restart by chaos or the restart policy) is recorded in the run
dir's `local-stack.json` (battle/chaos/local_state.py), so `battle restore RUN_DIR` can find the
processes a SIGKILLed run left behind.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.adapters.base import LaunchContext, LocalService, SutAdapter, SutEndpoints
from battle.adapters.registry import choose_adapter
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
    adapter: SutAdapter
    services: tuple[LocalService, ...]  # the adapter's, in start order
    ports: dict[str, int]
    host: str
    tool_url: str
    cloud_url: str
    proxy_control_url: str
    plc_host: str
    plc_port: int | None  # None: the adapter has no PLC (has_plc = False), so nothing reads one
    api_key: str
    chaos_token: str
    plc_delay_file: Path
    seed_dir: Path


class FreePorts(dict[str, int]):
    """A free loopback port for every service name asked for, the same one each time."""

    def __missing__(self, name: str) -> int:
        self[name] = port = free_port()
        return port


def run_setup(commands: Sequence[Sequence[str]], timeout_s: float = 300.0) -> None:
    """The adapter's one-off setup commands, in order; the first that fails stops the stack with its stderr."""
    for argv in commands:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StackError(f"the adapter's setup command {' '.join(argv)} could not run: {exc}") from exc
        if done.returncode != 0:
            raise StackError(f"the adapter's setup command {' '.join(argv)} failed (exit {done.returncode}): "
                             f"{done.stderr.strip()[-500:]}")


def required_services(has_plc: bool) -> tuple[str, ...]:
    """The service names the local backend needs from an adapter: a PLC simulator only for a system with a PLC."""
    return ("cloud", "tool", "plc-sim") if has_plc else ("cloud", "tool")


def build_local_stack(config: RunConfig, run_dir: Path, python: str = sys.executable) -> LocalStack:
    adapter_class = choose_adapter(str(config.value("SUT_ADAPTER"))).adapter_class
    seed_dir = run_dir / "seed"
    data = run_dir / "data"
    ports = FreePorts()
    api_key = "battle-" + secrets.token_hex(8)
    token = secrets.token_hex(16)
    host = "127.0.0.1"
    proxy_url = f"http://{host}:{ports['proxy']}"
    delay_file = data / "plc_delay_ms"
    context = LaunchContext(python=python, host=host, ports=ports, seed_dir=seed_dir, data_dir=data,
                            tool_cloud_url=proxy_url, cloud_api_key=api_key, knobs_env=config.to_env(),
                            plc_delay_file=delay_file)
    services = tuple(adapter_class.local_services(context))
    needed = required_services(adapter_class.has_plc)
    missing = set(needed) - {service.name for service in services}
    if missing:
        raise StackError(f"the adapter {adapter_class.__name__} launches no {', '.join(sorted(missing))} service; "
                         f"the local backend needs {', '.join(needed)} (the names chaos targets)"
                         + ("" if adapter_class.has_plc else "; it has no PLC (has_plc = False), so no plc-sim"))
    run_setup(adapter_class.local_setup(context))  # after the adapter's launch is known to be usable
    cloud_url = f"http://{host}:{ports['cloud']}"
    proxy = ServiceSpec("cloud-proxy", [python, "-m", "battle.chaos.proxy"], env={
        "PROXY_UPSTREAM": cloud_url, "CHAOS_TOKEN": token, "PROXY_HOST": host,
        "PROXY_LISTEN_PORT": str(ports["proxy"]), "PROXY_CONTROL_PORT": str(ports["proxy-control"]),
        "SEED": str(config.seed)}, chaos=False)
    specs = [proxy, *(ServiceSpec(s.name, s.command, env=dict(s.env), data_dir=s.data_dir, seed_dir=s.seed_dir)
                      for s in services)]
    data.mkdir(parents=True, exist_ok=True)
    proxy_control_url = f"http://{host}:{ports['proxy-control']}"
    recorder = StackStateRecorder.for_harness(run_dir, proxy_control_url, delay_file,
                                              {spec.name: spec.chaos for spec in specs})
    manager = LocalProcessManager(specs, run_dir / "logs", on_start=recorder.started)
    tool_url = f"http://{host}:{ports['tool']}"
    return LocalStack(run_dir=run_dir, manager=manager,
                      adapter=adapter_class(SutEndpoints(tool_url, cloud_url, api_key)), services=services,
                      ports=ports, host=host, tool_url=tool_url, cloud_url=cloud_url,
                      proxy_control_url=proxy_control_url, plc_host=host,
                      plc_port=ports["plc-sim"] if adapter_class.has_plc else None, api_key=api_key,
                      chaos_token=token, plc_delay_file=delay_file, seed_dir=seed_dir)


def start_local_stack(stack: LocalStack, timeout_s: float = 90.0) -> dict[str, float]:
    """Start the adapter's services in their order, each waited for, with the cloud-proxy just before the tool
    (the tool's way to the cloud); returns seconds to healthy per service."""
    manager = stack.manager
    took: dict[str, float] = {}
    steps: list[tuple[str, Any]] = []
    for service in stack.services:
        if service.name == "tool":
            steps.append(("cloud-proxy", lambda: manager.wait_healthy(
                "cloud-proxy", f"{stack.proxy_control_url}/health", timeout_s)))
        port = stack.ports[service.name]
        if service.ready_path is None:
            steps.append((service.name, lambda p=port: wait_tcp(stack.host, p, timeout_s)))
        else:
            url = f"http://{stack.host}:{port}{service.ready_path}"
            steps.append((service.name, lambda n=service.name, u=url: manager.wait_healthy(n, u, timeout_s)))
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

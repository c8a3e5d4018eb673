"""The runtime a fault acts through: one protocol, two backends (Docker engine, local processes).

Every method takes a service name (`tool`, `plc-sim`, `cloud`, ...), the same in both backends, and
raises `TargetRefused` for a service outside `allowlist()` without touching anything, or
`DriverError` when the runtime failed to do what was asked.

Semantics the fault kinds rely on:
- `kill` is SIGKILL and leaves the service down: nothing restarts it (an API kill does not fire
  Docker's restart policy), so the caller starts it explicitly.
- `stop` is graceful (SIGTERM, then SIGKILL after `timeout` seconds) and leaves it down.
- `wipe` kills the service and erases its data (the tool's database), leaving it down; the next
  `start` comes up on an empty data folder and re-seeds.
- `disconnect`/`reconnect` cut the service off the network and put it back, reachable under the
  same names as before.
- `set_plc_delay(ms)` slows the PLC simulator's replies; `None` clears it (back to `DELAY_MS`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RuntimeDriver(Protocol):
    backend: str  # "docker" | "local"

    def kill(self, service: str) -> None: ...

    def start(self, service: str) -> None: ...

    def stop(self, service: str, timeout: float = 10.0) -> None: ...

    def pause(self, service: str) -> None: ...

    def unpause(self, service: str) -> None: ...

    def disconnect(self, service: str) -> None: ...

    def reconnect(self, service: str) -> None: ...

    def wipe(self, service: str) -> None: ...

    def set_plc_delay(self, ms: int | None) -> None: ...

    def is_running(self, service: str) -> bool: ...

    def allowlist(self) -> set[str]: ...


def __getattr__(name: str):  # re-export the backends without importing the Docker SDK eagerly
    if name == "DockerDriver":
        from battle.chaos.docker_driver import DockerDriver

        return DockerDriver
    if name == "ProcessDriver":
        from battle.chaos.process_driver import ProcessDriver

        return ProcessDriver
    raise AttributeError(name)

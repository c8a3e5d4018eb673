"""The local backend's driver: faults as signals on the processes of a LocalProcessManager.

Cutting the cloud locally is done at the cloud-proxy (the tool's only way to the cloud): the proxy
is put in "cut" mode, closing every connection at once, and back to passing traffic on reconnect.

The processes come from a `ProcessManager`: the run's `LocalProcessManager`, or, for
`battle restore` after the harness died, the orphans it left (`battle.chaos.orphans.OrphanedStack`),
so a fault is undone by the same code either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from battle.chaos.errors import DriverError, TargetRefused


class ProcessManager(Protocol):
    """What the driver needs of the local processes (LocalProcessManager, OrphanedStack)."""

    def chaos_services(self) -> set[str]: ...
    def kill(self, name: str) -> None: ...
    def start(self, name: str) -> object: ...
    def stop(self, name: str, timeout: float = 10.0) -> None: ...
    def pause(self, name: str) -> None: ...
    def unpause(self, name: str) -> None: ...
    def wipe(self, name: str, start: bool = True) -> None: ...
    def is_running(self, name: str) -> bool: ...


class ProcessDriver:
    backend = "local"

    def __init__(
        self,
        manager: ProcessManager,
        proxy_client: Any = None,
        *,
        plc_delay_file: Path | None = None,
        cloud_service: str = "cloud",
    ) -> None:
        self._manager = manager
        self._proxy = proxy_client
        self._delay_file = Path(plc_delay_file) if plc_delay_file else None
        self._cloud_service = cloud_service

    def allowlist(self) -> set[str]:
        return self._manager.chaos_services()

    def _check(self, service: str) -> None:
        allowed = self.allowlist()
        if service not in allowed:
            raise TargetRefused(service, allowed, "not a chaos-enabled local service")

    def kill(self, service: str) -> None:
        self._check(service)
        self._manager.kill(service)

    def start(self, service: str) -> None:
        self._check(service)
        self._manager.start(service)

    def stop(self, service: str, timeout: float = 10.0) -> None:
        self._check(service)
        self._manager.stop(service, timeout)

    def pause(self, service: str) -> None:
        self._check(service)
        self._manager.pause(service)

    def unpause(self, service: str) -> None:
        self._check(service)
        self._manager.unpause(service)

    def wipe(self, service: str) -> None:
        self._check(service)
        self._manager.wipe(service, start=False)

    def is_running(self, service: str) -> bool:
        self._check(service)
        return self._manager.is_running(service)

    def disconnect(self, service: str) -> None:
        self._cut(service, True)

    def reconnect(self, service: str) -> None:
        self._cut(service, False)

    def _cut(self, service: str, cut: bool) -> None:
        self._check(service)
        if service != self._cloud_service:
            raise DriverError(
                f"the local backend can cut only {self._cloud_service!r} (through the cloud-proxy), not {service!r}"
            )
        if self._proxy is None:
            raise DriverError(
                "the local backend cuts the cloud at the cloud-proxy, but no proxy client was given"
            )
        self._proxy.set_mode({"cut": cut})

    def set_plc_delay(self, ms: int | None) -> None:
        if self._delay_file is None:
            raise DriverError("no PLC delay file configured (PLC_DELAY_FILE) for the local backend")
        try:
            if ms is None:
                self._delay_file.unlink(missing_ok=True)
                return
            temporary = self._delay_file.with_name(self._delay_file.name + ".tmp")
            temporary.write_text(str(int(ms)), encoding="utf-8")
            os.replace(temporary, self._delay_file)  # the simulator never reads a half-written number
        except OSError as exc:
            raise DriverError(f"cannot write the PLC delay file {self._delay_file}: {exc}") from exc

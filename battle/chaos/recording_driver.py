"""An in-memory RuntimeDriver: keeps each service's state and records every call.

For dry runs of a plan (what would happen, in what order, with no stack) and for unit tests of
the runner, the API and the fault kinds. It enforces the same allowlist rule as the real drivers.
`fail_on[(method, service)] = "message"` makes a call raise DriverError, to exercise failure paths.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from battle.chaos.errors import DriverError, TargetRefused


@dataclass(frozen=True)
class Call:
    t: float
    method: str
    service: str | None
    arg: object = None


class RecordingDriver:
    backend = "recording"

    def __init__(self, services: Iterable[str], clock: Callable[[], float] = time.monotonic) -> None:
        self._allowed = set(services)
        self._clock = clock
        self.running = dict.fromkeys(self._allowed, True)
        self.paused = dict.fromkeys(self._allowed, False)
        self.connected = dict.fromkeys(self._allowed, True)
        self.wiped: list[str] = []
        self.plc_delay_ms: int | None = None
        self.calls: list[Call] = []
        self.fail_on: dict[tuple[str, str | None], str] = {}

    def _enter(self, method: str, service: str | None, arg: object = None) -> None:
        if service is not None and service not in self._allowed:
            raise TargetRefused(service, self._allowed)
        self.calls.append(Call(self._clock(), method, service, arg))
        message = self.fail_on.get((method, service))
        if message:
            raise DriverError(message)

    def allowlist(self) -> set[str]:
        return set(self._allowed)

    def kill(self, service: str) -> None:
        self._enter("kill", service)
        self.running[service] = False
        self.paused[service] = False

    def start(self, service: str) -> None:
        self._enter("start", service)
        self.running[service] = True
        self.paused[service] = False

    def stop(self, service: str, timeout: float = 10.0) -> None:
        self._enter("stop", service, timeout)
        self.running[service] = False
        self.paused[service] = False

    def pause(self, service: str) -> None:
        self._enter("pause", service)
        self.paused[service] = True

    def unpause(self, service: str) -> None:
        self._enter("unpause", service)
        self.paused[service] = False

    def disconnect(self, service: str) -> None:
        self._enter("disconnect", service)
        self.connected[service] = False

    def reconnect(self, service: str) -> None:
        self._enter("reconnect", service)
        self.connected[service] = True

    def wipe(self, service: str) -> None:
        self._enter("wipe", service)
        self.running[service] = False
        self.wiped.append(service)

    def set_plc_delay(self, ms: int | None) -> None:
        self._enter("set_plc_delay", None, ms)
        self.plc_delay_ms = ms

    def is_running(self, service: str) -> bool:
        if service not in self._allowed:
            raise TargetRefused(service, self._allowed)
        return self.running[service] and not self.paused[service]

    def methods(self) -> list[tuple[str, str | None]]:
        """The calls as (method, service) pairs, in order: what tests usually compare."""
        return [(c.method, c.service) for c in self.calls]


class RecordingProxy:
    """An in-memory stand-in for ProxyClient: keeps the mode layers and every set_mode call."""

    def __init__(self) -> None:
        self.mode: dict[str, object] = {"cut": False, "shape": None, "errors": None}
        self.calls: list[dict[str, object]] = []

    def health(self) -> dict[str, object]:
        return {"status": "ok"}

    def set_mode(self, layers: dict[str, object]) -> dict[str, object]:
        self.calls.append(dict(layers))
        self.mode.update(layers)
        return dict(self.mode)

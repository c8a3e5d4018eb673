"""A restart policy for the local backend, like Docker's `on-failure`.

A service that exits by itself with a failure code (a crash) is started again
after a short delay and the engine-style events are recorded (`die`, `start`).
A service that chaos killed (SIGKILL, negative code) or stopped gracefully
(exit 0, SIGTERM) is left alone: as in Docker, an API kill or stop does not
trigger the policy, and chaos starts it when the fault is restored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from battle.common.jsonl import JsonlWriter
from battle.common.timefmt import iso_utc

log = logging.getLogger(__name__)


class Supervised(Protocol):
    def returncode(self, name: str) -> int | None: ...
    def pid(self, name: str) -> int | None: ...
    def start(self, name: str) -> int: ...


class LocalRestartPolicy:
    def __init__(self, manager: Supervised, services: Iterable[str], writer: JsonlWriter | None = None,
                 delay_s: float = 1.0, poll_s: float = 0.5, clock: Callable[[], float] = time.time,
                 on_restart: Callable[[str], object] | None = None) -> None:
        self.manager = manager
        self.on_restart = on_restart  # e.g. the plan runner: re-apply a fault the restart undid
        self.services = tuple(services)
        self.writer = writer
        self.delay_s = delay_s
        self.poll_s = poll_s
        self.clock = clock
        self.restarts: dict[str, int] = {}
        self._handled: set[tuple[str, int]] = set()  # (service, pid) crashes already acted on
        self._last_pid: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-restart-policy", daemon=True)

    def _event(self, service: str, action: str, **fields: object) -> None:
        if self.writer is None:
            raise RuntimeError("the restart policy has no events writer: start it through the observer")
        self.writer.write({"source": "docker", "ts": iso_utc(self.clock()), "service": service,
                           "action": action, **fields})

    def check_once(self) -> None:
        for name in self.services:
            pid = self.manager.pid(name)
            if pid is not None:
                self._last_pid[name] = pid
                continue
            code = self.manager.returncode(name)
            last = self._last_pid.get(name)
            if code is None or code <= 0 or last is None or (name, last) in self._handled:
                continue
            self._handled.add((name, last))
            self._event(name, "die", exitCode=code)
            time.sleep(self.delay_s)
            new_pid = self.manager.start(name)
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self._event(name, "start", restartPolicy="on-failure", pid=new_pid)
            if self.on_restart is not None:
                self.on_restart(name)
            log.warning("%s exited with code %s; restarted by the on-failure policy (pid %s)", name, code, new_pid)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_once()
            except Exception:  # supervisor loop: log and keep watching
                log.exception("restart policy check failed")
            self._stop.wait(self.poll_s)

    def __call__(self, writer: JsonlWriter) -> Callable[[], None]:
        """As an observer event stream: start watching, return the stop function."""
        self.writer = writer
        self._thread.start()

        def stop() -> None:
            self._stop.set()
            self._thread.join(timeout=5)

        return stop

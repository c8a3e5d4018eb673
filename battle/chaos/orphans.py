"""The processes a SIGKILLed local run left behind, as a process manager for `battle restore`.

`OrphanedStack` reads `local-stack.json` (battle/chaos/local_state.py) and offers the verbs the
`ProcessDriver` needs, so each fault kind's own `restore` undoes its fault here too. With no harness
left to run the system it resumes and stops, but never starts: a service that is down stays down
(said in a note), and `stop_all` then ends every orphan (SIGTERM, SIGKILL after a timeout). Every
signal goes to a process only after `verified` found the recorded start time and command line on
it, so a recycled pid is never signalled. Each action leaves a note (`take_notes`) for the report
and the ledger.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import psutil

from battle.chaos.errors import DriverError
from battle.chaos.local_state import ProcessRecord, ServiceRecord, StackState, verified
from battle.chaos.proxy.client import ProxyClient
from battle.chaos.proxy.restore_clients import NoProxy, NotingProxy

_POLL_S = 0.05
_KILL_WAIT_S = 5.0


class OrphanedStack:
    def __init__(
        self,
        state: StackState,
        *,
        find: Callable[[ProcessRecord], psutil.Process | None] = verified,
        clock: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state = state
        self._find = find
        self._clock = clock
        self._sleeper = sleeper
        self._notes: list[str] = []

    def take_notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    def _note(self, text: str) -> None:
        self._notes.append(text)

    # -- queries ---------------------------------------------------------------------------------

    def chaos_services(self) -> set[str]:
        return {s.name for s in self.state.services if s.chaos}

    def _live(self, name: str) -> tuple[ServiceRecord, psutil.Process] | None:
        record = self.state.service(name)
        if record is None:
            return None
        process = self._find(record.process)
        return None if process is None else (record, process)

    def alive(self) -> list[str]:
        """The recorded services whose process still runs (verified), in start order."""
        return [s.name for s in self.state.services if self._find(s.process) is not None]

    @staticmethod
    def _status(process: psutil.Process) -> str:
        try:
            return str(process.status())
        except psutil.Error:
            return "gone"

    def is_running(self, name: str) -> bool:
        live = self._live(name)
        return live is not None and self._status(live[1]) != psutil.STATUS_STOPPED

    # -- signals ---------------------------------------------------------------------------------

    def _signal(self, record: ServiceRecord, process: psutil.Process, signum: int) -> str:
        """Signal the service's process group (the verified process's own group), else the process alone."""
        try:
            if os.getpgid(process.pid) == record.pgid:
                os.killpg(record.pgid, signum)
                return f"process group {record.pgid}"
            os.kill(process.pid, signum)
            return f"pid {process.pid}"
        except ProcessLookupError:
            return f"pid {process.pid} (gone meanwhile)"
        except PermissionError as exc:
            raise DriverError(f"cannot signal {record.name!r} (pid {process.pid}): {exc}") from exc

    def _resume(self, name: str, not_running: str) -> None:
        live = self._live(name)
        if live is None:
            self._note(f"{name} is not running: {not_running}")
            return
        record, process = live
        if self._status(process) != psutil.STATUS_STOPPED:
            self._note(f"{name} (pid {process.pid}) was not frozen: nothing to resume")
            return
        where = self._signal(record, process, signal.SIGCONT)
        self._note(f"resumed {name} (SIGCONT to {where})")

    def unpause(self, name: str) -> None:
        self._resume(name, "nothing frozen to resume")

    def start(self, name: str) -> None:
        # No harness is left to run the system: a service that is down is not started again, only
        # a frozen one is resumed; stop_all ends the rest.
        self._resume(name, "not started again (no harness is left to run the stack; the orphans are stopped)")

    def pause(self, name: str) -> None:
        raise DriverError(f"battle restore only undoes faults: it does not freeze {name!r}")

    def wipe(self, name: str, start: bool = True) -> None:
        raise DriverError(f"battle restore only undoes faults: it does not wipe {name!r}")

    def kill(self, name: str) -> None:
        live = self._live(name)
        if live is not None:
            self._signal(live[0], live[1], signal.SIGKILL)
            self._wait_gone(live[1], _KILL_WAIT_S)

    def stop(self, name: str, timeout: float = 10.0) -> None:
        line = self._stop(name, timeout)
        if line:
            self._note(line)

    def _wait_gone(self, process: psutil.Process, timeout: float) -> bool:
        """Poll until the process exited (a zombie counts: its new parent reaps it, not us)."""
        deadline = self._clock() + timeout
        while True:
            try:
                if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                    return True
            except psutil.NoSuchProcess:
                return True
            if self._clock() >= deadline:
                return False
            self._sleeper(_POLL_S)

    def _stop(self, name: str, timeout: float) -> str | None:
        live = self._live(name)
        if live is None:
            return None
        record, process = live
        was = self._status(process)
        began = self._clock()
        self._signal(record, process, signal.SIGTERM)
        if was == psutil.STATUS_STOPPED:  # a frozen process acts on SIGTERM only once it runs again
            self._signal(record, process, signal.SIGCONT)
        if self._wait_gone(process, timeout):
            return f"{name} pid {process.pid} (was {was}): SIGTERM, gone after {self._clock() - began:.1f} s"
        self._signal(record, process, signal.SIGKILL)
        if self._wait_gone(process, _KILL_WAIT_S):
            return f"{name} pid {process.pid} (was {was}): SIGTERM, still there after {timeout:g} s: SIGKILL, gone"
        raise DriverError(f"{name} pid {process.pid} did not go within {_KILL_WAIT_S:g} s of SIGKILL")

    def stop_all(self, timeout: float = 10.0) -> tuple[list[str], list[str]]:
        """Stop every orphan, last started first; returns (what was stopped, what could not be)."""
        stopped: list[str] = []
        problems: list[str] = []
        for record in reversed(self.state.services):
            try:
                line = self._stop(record.name, timeout)
            except DriverError as exc:
                problems.append(str(exc))
                continue
            if line:
                stopped.append(line)
        return stopped, problems

    # -- the cloud-proxy -------------------------------------------------------------------------

    def proxy_client(self) -> Any:
        """A control client for the orphaned cloud-proxy, its token read from the proxy's own environment;
        a stand-in that says why when the proxy is gone (its layers went with it) or unreachable."""
        name, url = self.state.proxy_service, self.state.proxy_control_url
        live = self._live(name)
        if live is None:
            return NoProxy(f"{name} is not running", self._note, layers_gone=True)
        process = live[1]
        try:
            token = process.environ().get(self.state.token_env, "")
        except psutil.Error as exc:
            return NoProxy(f"cannot read {self.state.token_env} of {name} pid {process.pid}: {exc}", self._note)
        if not token:
            return NoProxy(f"{name} pid {process.pid} has no {self.state.token_env} in its environment", self._note)
        return NotingProxy(ProxyClient(url, token), self._note, f"{name} at {url}")

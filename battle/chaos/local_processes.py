"""Local backend: the stack as subprocesses on loopback, each in its own process group.

The run orchestrator starts the whole local stack with `start_all`; the process driver turns fault
steps into signals on the same processes. Output of each service is appended to
`<logs_dir>/<service>.log` (the observer follows these files), across restarts, so one file holds
every lifetime of a service. Signals go to the whole process group, so a service that forks
helpers is killed, frozen and resumed as one. `on_start(name, pid)` is called after every start (the
local stack records each lifetime in `local-stack.json` for `battle restore`, battle/chaos/local_state.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from battle.chaos.errors import ChaosError, DriverError

_REAP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    data_dir: Path | None = None  # erased by wipe; created at start when missing
    seed_dir: Path | None = None  # never touched: wipe refuses if it lives inside data_dir
    chaos: bool = True  # on the allowlist: chaos may act on it

    def __post_init__(self) -> None:
        if not self.name or not self.argv:
            raise ChaosError(f"service spec {self.name!r} needs a name and a command line (argv)")
        object.__setattr__(self, "argv", tuple(str(a) for a in self.argv))


@dataclass
class _Lifetime:
    process: subprocess.Popen[bytes]
    paused: bool = False


class LocalProcessManager:
    def __init__(
        self,
        specs: Iterable[ServiceSpec],
        logs_dir: Path,
        *,
        base_env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
        on_start: Callable[[str, int], None] | None = None,
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._on_start = on_start
        self._logs_dir = Path(logs_dir)
        self._base_env = base_env
        self._clock = clock
        self._sleeper = sleeper
        self._running: dict[str, _Lifetime] = {}
        self._started_order: list[str] = []
        self._lock = threading.RLock()

    # -- queries ---------------------------------------------------------------------------------

    def services(self) -> list[str]:
        return list(self._specs)

    def chaos_services(self) -> set[str]:
        return {name for name, spec in self._specs.items() if spec.chaos}

    def spec(self, name: str) -> ServiceSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise ChaosError(f"unknown local service {name!r}; known: {sorted(self._specs)}") from None

    def log_path(self, name: str) -> Path:
        return self._logs_dir / f"{self.spec(name).name}.log"

    def _alive(self, name: str) -> _Lifetime | None:
        life = self._running.get(name)
        if life is None or life.process.poll() is not None:
            return None
        return life

    def is_running(self, name: str) -> bool:
        """Alive and not frozen."""
        self.spec(name)
        with self._lock:
            life = self._alive(name)
            return life is not None and not life.paused

    def pid(self, name: str) -> int | None:
        self.spec(name)
        with self._lock:
            life = self._alive(name)
            return life.process.pid if life else None

    def returncode(self, name: str) -> int | None:
        """Exit code of the last lifetime, None while it runs or if it never ran."""
        with self._lock:
            life = self._running.get(self.spec(name).name)
            return None if life is None else life.process.poll()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, name: str) -> int:
        """Start the service unless it is already alive (resumes it if frozen); returns its pid."""
        spec = self.spec(name)
        with self._lock:
            life = self._alive(name)
            if life is not None:
                if life.paused:
                    self._signal(name, life, signal.SIGCONT)
                    life.paused = False
                return life.process.pid
            if spec.data_dir is not None:
                Path(spec.data_dir).mkdir(parents=True, exist_ok=True)
            self._logs_dir.mkdir(parents=True, exist_ok=True)
            env = dict(os.environ if self._base_env is None else self._base_env)
            env.update(spec.env)
            with open(self.log_path(name), "ab") as log:
                try:
                    process = subprocess.Popen(
                        list(spec.argv),
                        cwd=spec.cwd,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # own process group: signals reach its children too
                    )
                except OSError as exc:
                    raise DriverError(f"cannot start {name!r} ({' '.join(spec.argv)}): {exc}") from exc
            self._running[name] = _Lifetime(process)
            if name in self._started_order:
                self._started_order.remove(name)
            self._started_order.append(name)
            if self._on_start is not None:
                self._on_start(name, process.pid)
            return process.pid

    def kill(self, name: str) -> None:
        """SIGKILL the process group and reap it; a service that is not running is left as it is."""
        with self._lock:
            life = self._alive(name)
            if life is None:
                return
            self._signal(name, life, signal.SIGKILL)
            self._reap(name, life, _REAP_TIMEOUT_S)

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL."""
        with self._lock:
            life = self._alive(name)
            if life is None:
                return
            self._signal(name, life, signal.SIGTERM)
            if life.paused:  # a frozen process cannot act on SIGTERM until it runs again
                self._signal(name, life, signal.SIGCONT)
                life.paused = False
            try:
                life.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(name, life, signal.SIGKILL)
                self._reap(name, life, _REAP_TIMEOUT_S)

    def pause(self, name: str) -> None:
        with self._lock:
            life = self._require_alive(name, "pause")
            self._signal(name, life, signal.SIGSTOP)
            life.paused = True

    def unpause(self, name: str) -> None:
        with self._lock:
            life = self._require_alive(name, "unpause")
            self._signal(name, life, signal.SIGCONT)
            life.paused = False

    def wipe(self, name: str, start: bool = True) -> None:
        """Kill the service, erase its data folder's contents, and (by default) start it again."""
        spec = self.spec(name)
        if spec.data_dir is None:
            raise DriverError(f"cannot wipe {name!r}: its service spec names no data_dir")
        data_dir = Path(spec.data_dir).resolve()
        if spec.seed_dir is not None and Path(spec.seed_dir).resolve().is_relative_to(data_dir):
            raise DriverError(
                f"refusing to wipe {name!r}: its seed dir {spec.seed_dir} lies inside its data dir {data_dir}; "
                "keep the seed outside the data folder"
            )
        with self._lock:
            self.kill(name)
            if data_dir.exists():
                for child in data_dir.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            if start:
                self.start(name)

    def start_all(
        self,
        order: Iterable[str] | None = None,
        health_urls: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        """Start services in `order` (default: spec order); wait for each one that has a health URL."""
        for name in list(order) if order is not None else list(self._specs):
            self.start(name)
            if health_urls and name in health_urls:
                self.wait_healthy(name, health_urls[name], timeout)

    def stop_all(self, timeout: float = 10.0) -> dict[str, int | None]:
        """Stop every service, last started first; returns each one's exit code."""
        with self._lock:
            order = list(reversed(self._started_order))
        for name in order:
            self.stop(name, timeout)
        return {name: self.returncode(name) for name in order}

    def wait_healthy(self, name: str, url: str, timeout: float = 60.0) -> float:
        """Poll `url` until it answers 200; returns seconds waited. Fails fast if the process exits."""
        began = self._clock()
        last = "no answer yet"
        while True:
            with self._lock:
                life = self._running.get(name)
                exited = None if life is None else life.process.poll()
            if life is None or exited is not None:
                raise DriverError(
                    f"{name!r} is not running (exit code {exited}) while waiting for {url}; "
                    f"last log lines:\n{self.log_tail(name)}"
                )
            try:
                response = requests.get(url, timeout=2.0)
                if response.status_code == 200:
                    return self._clock() - began
                last = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            if self._clock() - began > timeout:
                raise DriverError(
                    f"{name!r} not healthy at {url} after {timeout:.0f} s (last: {last}); "
                    f"last log lines:\n{self.log_tail(name)}"
                )
            self._sleeper(0.1)

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = self.log_path(name).read_bytes()[-8192:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals -------------------------------------------------------------------------------

    def _require_alive(self, name: str, what: str) -> _Lifetime:
        life = self._alive(name)
        if life is None:
            raise DriverError(f"cannot {what} {name!r}: it is not running")
        return life

    def _signal(self, name: str, life: _Lifetime, signum: int) -> None:
        try:
            os.killpg(life.process.pid, signum)
        except ProcessLookupError:
            pass  # exited between the check and the signal: the caller's next look sees it
        except PermissionError as exc:
            raise DriverError(f"cannot signal {name!r} (pid {life.process.pid}): {exc}") from exc

    def _reap(self, name: str, life: _Lifetime, timeout: float) -> None:
        life.paused = False
        try:
            life.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise DriverError(
                f"{name!r} (pid {life.process.pid}) did not die within {timeout} s of SIGKILL"
            ) from exc

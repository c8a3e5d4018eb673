"""`local-stack.json`: where the local stack's processes are, so `battle restore` can find them.

A SIGKILLed `battle run --backend local` cannot clean up: its services (tool, cloud, plc-sim,
cloud-proxy) live on as orphans, maybe with the tool frozen or the proxy cutting the link. As the
stack starts each service (and every restart after), the run dir's `local-stack.json` is rewritten
atomically with that service's pid, process group, start time and command line, plus the harness's
own process, the cloud-proxy's control URL and where its token is (the `CHAOS_TOKEN` in the proxy
process's own environment: no secret is written to disk).

A pid is only believed while the process it names has the recorded start time and command line
(`verified`): a pid the kernel handed to another program since is never signalled.

    {"schema": 1, "harness": {"pid", "createTime", "cmdline"},
     "proxy": {"service": "cloud-proxy", "controlUrl", "tokenEnv": "CHAOS_TOKEN"},
     "plcDelayFile", "services": [{"name", "pid", "pgid", "createTime", "cmdline", "chaos", "startedAt"}]}

`services` holds each service's latest lifetime, in the order of their last start.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil

from battle.chaos.errors import ChaosError
from battle.common.jsonl import write_json_atomic
from battle.common.timefmt import iso_utc

log = logging.getLogger(__name__)

STATE_NAME = "local-stack.json"
SCHEMA = 1
_SAME_START_S = 0.05  # psutil derives a start time from clock ticks: the same process reads the same value


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    create_time: float
    cmdline: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "createTime": self.create_time, "cmdline": list(self.cmdline)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProcessRecord:
        pid, created, cmdline = raw["pid"], raw["createTime"], raw["cmdline"]
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise ValueError(f"pid {pid!r} is not a positive integer")
        if isinstance(created, bool) or not isinstance(created, int | float):
            raise ValueError(f"createTime {created!r} is not a number")
        if not isinstance(cmdline, list) or not all(isinstance(a, str) for a in cmdline):
            raise ValueError(f"cmdline {cmdline!r} is not a list of strings")
        return cls(pid, float(created), tuple(cmdline))


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    process: ProcessRecord
    pgid: int
    chaos: bool  # on the chaos allowlist
    started_at: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.process.to_json(), "pgid": self.pgid, "chaos": self.chaos,
                "startedAt": self.started_at}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ServiceRecord:
        name, pgid = raw["name"], raw["pgid"]
        if not isinstance(name, str) or not name:
            raise ValueError(f"service name {name!r} is not a name")
        if isinstance(pgid, bool) or not isinstance(pgid, int) or pgid <= 0:
            raise ValueError(f"pgid {pgid!r} is not a positive integer")
        return cls(name, ProcessRecord.from_json(raw), pgid, bool(raw.get("chaos", True)),
                   str(raw.get("startedAt") or ""))


@dataclass(frozen=True)
class StackState:
    harness: ProcessRecord | None
    proxy_control_url: str
    proxy_service: str = "cloud-proxy"
    token_env: str = "CHAOS_TOKEN"  # the proxy's token: this variable of the proxy process's environment
    plc_delay_file: str | None = None
    services: tuple[ServiceRecord, ...] = ()

    def service(self, name: str) -> ServiceRecord | None:
        return next((s for s in self.services if s.name == name), None)

    def with_service(self, record: ServiceRecord) -> StackState:
        """This state with `record` as the service's latest lifetime, moved to the end (last started)."""
        return replace(self, services=(*(s for s in self.services if s.name != record.name), record))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "harness": None if self.harness is None else self.harness.to_json(),
            "proxy": {"service": self.proxy_service, "controlUrl": self.proxy_control_url,
                      "tokenEnv": self.token_env},
            "plcDelayFile": self.plc_delay_file,
            "services": [s.to_json() for s in self.services],
        }

    @classmethod
    def from_json(cls, raw: Any) -> StackState:
        """Raises ValueError (or KeyError/TypeError) naming what is wrong."""
        if not isinstance(raw, Mapping) or raw.get("schema") != SCHEMA:
            raise ValueError(f"not a schema {SCHEMA} object")
        proxy = raw["proxy"]
        harness = raw.get("harness")
        return cls(
            harness=None if harness is None else ProcessRecord.from_json(harness),
            proxy_control_url=str(proxy["controlUrl"]),
            proxy_service=str(proxy.get("service") or "cloud-proxy"),
            token_env=str(proxy.get("tokenEnv") or "CHAOS_TOKEN"),
            plc_delay_file=raw.get("plcDelayFile") or None,
            services=tuple(ServiceRecord.from_json(s) for s in raw["services"]),
        )


def read_stack_state(path: Path) -> StackState:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ChaosError(f"{path} is missing: the local stack of this run never started, or it was started by "
                         "a battle that did not record its processes") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ChaosError(f"{path} is unreadable: {exc}") from exc
    try:
        return StackState.from_json(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ChaosError(f"{path} is not a local stack state battle can read ({type(exc).__name__}: {exc})") from exc


# ---------------------------------------------------------------- processes (psutil)


def describe_process(pid: int, *, settle_s: float = 0.5, sleeper: Callable[[float], None] = time.sleep
                     ) -> ProcessRecord | None:
    """The identity of a live process (start time, command line); None when it is already gone.

    Just after a start the kernel may still show an empty command line (the exec is not complete);
    it is read again every 10 ms for up to `settle_s` seconds."""
    waited = 0.0
    while True:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                record = ProcessRecord(pid, process.create_time(), tuple(process.cmdline()))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        if record.cmdline or waited >= settle_s:
            return record
        sleeper(0.01)
        waited += 0.01


def verified(record: ProcessRecord) -> psutil.Process | None:
    """The live process `record` names, or None: gone, a zombie, or the pid now belongs to another
    program (a different start time or command line)."""
    try:
        process = psutil.Process(record.pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            if abs(process.create_time() - record.create_time) > _SAME_START_S:
                return None
            if tuple(process.cmdline()) != record.cmdline:
                return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return process


# ---------------------------------------------------------------- the recorder


class StackStateRecorder:
    """Keeps `local-stack.json` current: `started(name, pid)` is the process manager's `on_start`."""

    def __init__(self, path: Path, state: StackState, chaos: Mapping[str, bool],
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.errors = 0  # writes that failed (logged); restore then may not find a process
        self._state = state
        self._chaos = dict(chaos)
        self._clock = clock
        self._lock = threading.Lock()
        self._write()

    @classmethod
    def for_harness(cls, run_dir: Path, proxy_control_url: str, plc_delay_file: Path | None,
                    chaos: Mapping[str, bool]) -> StackStateRecorder:
        state = StackState(harness=describe_process(os.getpid()), proxy_control_url=proxy_control_url,
                           plc_delay_file=None if plc_delay_file is None else str(plc_delay_file))
        return cls(Path(run_dir) / STATE_NAME, state, chaos)

    @property
    def state(self) -> StackState:
        with self._lock:
            return self._state

    def started(self, name: str, pid: int) -> None:
        process = describe_process(pid) or ProcessRecord(pid, 0.0, ())  # died at once: never verifiable
        try:
            pgid = os.getpgid(pid)
        except OSError:
            pgid = pid  # own session: the group is the process's own
        record = ServiceRecord(name, process, pgid, self._chaos.get(name, True), iso_utc(self._clock()))
        with self._lock:
            self._state = self._state.with_service(record)
            self._write()

    def _write(self) -> None:
        try:
            write_json_atomic(self.path, self._state.to_json())
        except OSError as exc:  # the run goes on; only a later `battle restore` would miss this lifetime
            self.errors += 1
            log.warning("cannot record the local stack's processes in %s (%d failed writes): %s",
                        self.path, self.errors, exc)

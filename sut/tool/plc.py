"""PLC worker: watches the controller over CIP (pylogix) and puts the VFD flags back after a reset.

A PLC program download resets every tag to its initial value; the VFD flags
(map, horsepower, direction, reverse polarity) then read 0 until the tool writes
the values it holds in `Vfds`. The worker polls a heartbeat read of every VFD's
Map flag; on (re)connect, or when the heartbeat shows a reset without a broken
link, it reads every flag and, if any differs from the database, writes every
flag back and logs `plc.restore`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.events import EventLog
from sut.tool.timeutil import utc_iso

# After a restore with failed writes, a heartbeat that still disagrees waits this long before the
# next attempt, so a PLC that refuses writes is not hammered every poll.
RESTORE_RETRY_S = 5.0
# CIP type codes; giving pylogix the type saves it a discovery read per tag (docs/plc-notes.md).
CIP_BOOL, CIP_DINT = 0xC1, 0xC4


@dataclass(frozen=True)
class Flag:
    tag: str
    expected: int
    is_bool: bool

    def matches(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return int(value) == self.expected
        except (TypeError, ValueError):
            return False

    def wire_value(self) -> int | bool:
        return bool(self.expected) if self.is_bool else int(self.expected)

    @property
    def cip_type(self) -> int:
        return CIP_BOOL if self.is_bool else CIP_DINT


def flags_from_vfds(vfds: list[dict[str, Any]]) -> list[Flag]:
    flags: list[Flag] = []
    for vfd in vfds:
        flags += [Flag(vfd["mapTag"], int(vfd["map"]), False), Flag(vfd["hpTag"], int(vfd["hp"]), False),
                  Flag(vfd["dirTag"], int(vfd["direction"]), True), Flag(vfd["revTag"], int(vfd["reverse"]), True)]
    return flags


def mismatched(flags: list[Flag], values: dict[str, Any]) -> list[str]:
    return [f.tag for f in flags if not f.matches(values.get(f.tag))]


class PlcStatus:
    """What `/api/plc` shows; written by the worker, read by request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connected = False
        self.last_restore_at: str | None = None
        self.last_restore_written = 0
        self.restores = 0
        self.last_error: str | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"connected": self.connected, "lastRestoreAt": self.last_restore_at,
                    "lastRestoreWritten": self.last_restore_written, "restores": self.restores,
                    "lastError": self.last_error}

    def update(self, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self, name, value)


def _pylogix_factory(config: ToolConfig) -> Any:
    from pylogix import PLC

    plc = PLC(config.plc_host or "", port=config.plc_port, timeout=config.plc_timeout_s)
    return plc


class PlcWorker:
    name = "plc"

    def __init__(self, config: ToolConfig, db: ToolDb, events: EventLog, status: PlcStatus,
                 plc_factory: Callable[[], Any] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._db = db
        self._events = events
        self.status = status
        self._factory = plc_factory or (lambda: _pylogix_factory(config))
        self._monotonic = monotonic
        self._plc: Any = None
        self._connected = False
        self._next_restore_at = 0.0

    def run_once(self) -> float:
        flags = flags_from_vfds(self._db.vfds())
        if not flags:
            return self._config.plc_poll_s
        heartbeat = flags[0::4]  # every VFD's Map flag: never 0 in the DB, always 0 after a download
        values, error = self._read(heartbeat)
        if error is not None:
            # The first call after the PLC restarted fails on the old session; only a failure on
            # a fresh connection means the PLC is really gone.
            self._drop_link()
            values, error = self._read(heartbeat)
        if error is not None:
            self._on_link_lost(error)
            return self._config.plc_poll_s
        if not self._connected:
            self._connected = True
            self.status.update(connected=True, last_error=None)
            self._events.emit("plc.connected", host=self._config.plc_host, port=self._config.plc_port)
            self._restore(flags, "connect")
        elif mismatched(heartbeat, values) and self._monotonic() >= self._next_restore_at:
            self._restore(flags, "reset seen by heartbeat")
        return self._config.plc_poll_s

    def close(self) -> None:
        self._drop_link()

    # ---- link --------------------------------------------------------------------------------------

    def _read(self, flags: list[Flag]) -> tuple[dict[str, Any], str | None]:
        """Read flags; a link-level failure (nothing read at all) comes back as an error text."""
        if self._plc is None:
            self._plc = self._factory()
        try:
            responses = self._plc.Read([(f.tag, 1, f.cip_type) for f in flags])
        except Exception as exc:  # pylogix lets socket errors escape from its connect path
            return {}, f"{type(exc).__name__}: {exc}"
        if not isinstance(responses, list):
            responses = [responses]
        # Match by position: a failed packet's responses carry the request tuple, not the name.
        values = {flag.tag: response.Value for flag, response in zip(flags, responses, strict=False)
                  if response.Status == "Success"}
        if not values:
            first = responses[0].Status if responses else "no response"
            return {}, str(first)
        return values, None

    def _on_link_lost(self, error: str) -> None:
        self._drop_link()
        self.status.update(connected=False, last_error=error)
        if self._connected:
            self._connected = False
            self._events.emit("plc.disconnected", error=error)

    def _drop_link(self) -> None:
        # A fresh client after a loss: pylogix caches tag types and session state per object.
        if self._plc is not None:
            try:
                self._plc.Close()
            except Exception:  # closing a dead socket can raise anything; the object is discarded anyway
                pass
            self._plc = None

    # ---- restore -------------------------------------------------------------------------------------

    def _restore(self, flags: list[Flag], reason: str) -> None:
        values, error = self._read(flags)
        if error is not None:
            self._on_link_lost(error)
            return
        wrong = mismatched(flags, values)
        if not wrong:
            return
        if self._config.has_bug("no_restore"):
            # Planted bug `no_restore`: the write-back was "temporarily" disabled and the
            # event kept, so the log looks like a restore happened.
            self._finish_restore(0, 0, len(wrong), reason, retry_after=float("inf"))
            return
        written, failed = self._write_all(flags)
        # After a clean restore a disagreeing heartbeat is a new reset: act on it at once.
        self._finish_restore(written, failed, len(wrong), reason, retry_after=RESTORE_RETRY_S if failed else 0.0)

    def _write_all(self, flags: list[Flag]) -> tuple[int, int]:
        try:
            responses = self._plc.Write([(f.tag, f.wire_value(), f.cip_type) for f in flags])
        except Exception as exc:  # socket errors escape pylogix; count every flag as failed
            self._on_link_lost(f"{type(exc).__name__}: {exc}")
            return 0, len(flags)
        if not isinstance(responses, list):
            responses = [responses]
        written = sum(1 for r in responses if r.Status == "Success")
        return written, len(flags) - written

    def _finish_restore(self, written: int, failed: int, wrong: int, reason: str, retry_after: float) -> None:
        self._next_restore_at = self._monotonic() + retry_after
        with_restores = self.status.restores + 1
        self.status.update(last_restore_at=utc_iso(), last_restore_written=written, restores=with_restores)
        self._events.emit("plc.restore", written=written, failed=failed, mismatched=wrong, reason=reason)

"""The fault ledger `injected.jsonl`: an append-only writer and a tolerant reader.

Every line is flushed as it is written, so a crash of the chaos service leaves every step it took
on disk, and the judges can still count what was applied. The reader never raises on a bad line:
a truncated last line (the writer died mid-write) or a stray edit is reported as a problem and
skipped, because one bad line must not cost the whole run its verdict.

Steps, in a fault's life: `planned`; `intent` (written just before the runtime is touched, with
kind, target, params and duration: what a later `battle restore RUN_DIR` needs to undo it if the
harness dies between apply and restore); then `applied` and `restored`, or `failed` with the error.
A fault with an `intent` and no `restored` may still be in effect.

A line may also say who took the step when it was not the plan runner in its ordinary course (`by`:
"battle restore", "dead-man's switch") and why or how (`note`); both are left out otherwise.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from battle.chaos.errors import ChaosError

SCHEMA = 1
STEPS = ("planned", "intent", "applied", "restored", "failed")
_REQUIRED = ("ts", "fault", "kind", "target", "step")


def utc_now_iso() -> str:
    """UTC ISO-8601 with milliseconds and a Z, the format every artifact uses."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    """Thread-safe appender: one JSON object per line, flushed per line."""

    def __init__(self, path: Path, now_iso: Callable[[], str] = utc_now_iso) -> None:
        self.path = Path(path)
        self._now_iso = now_iso
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def record(
        self,
        fault: Mapping[str, Any],
        step: str,
        error: str | None = None,
        *,
        by: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        if step not in STEPS:
            raise ChaosError(f"ledger step {step!r} is unknown; accepted: {', '.join(STEPS)}")
        line = {
            "schema": SCHEMA,
            "ts": self._now_iso(),
            "fault": fault.get("id"),
            "kind": fault.get("kind"),
            "target": fault.get("target"),
            "step": step,
            "params": dict(fault.get("params") or {}),
            "error": error,
        }
        if isinstance(fault.get("duration"), int | float):
            line["duration"] = fault["duration"]
        if by:
            line["by"] = by
        if note:
            line["note"] = note
        text = json.dumps(line, sort_keys=True) + "\n"
        with self._lock:
            if self._file is None:
                try:
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
                except OSError as exc:
                    raise ChaosError(
                        f"cannot open the fault ledger {self.path}: {exc}; check that the run folder exists "
                        "and is writable"
                    ) from exc
            self._file.write(text)
            self._file.flush()
        return line

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass(frozen=True)
class LedgerRead:
    entries: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)


def read_ledger(path: Path) -> LedgerRead:
    """Every well-formed line in file order; every other line becomes a problem naming its line number."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LedgerRead(problems=(f"{path.name}: missing (no fault was ever recorded)",))
    except OSError as exc:
        return LedgerRead(problems=(f"{path.name}: unreadable: {exc}",))
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        problem = _check_line(line)
        if isinstance(problem, str):
            problems.append(f"{path.name}:{number}: {problem}")
        else:
            entries.append(problem)
    return LedgerRead(entries=tuple(entries), problems=tuple(problems))


def _check_line(line: bytes) -> dict[str, Any] | str:
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return f"not a JSON line ({exc}); skipped"
    if not isinstance(value, dict):
        return f"not a JSON object but {type(value).__name__}; skipped"
    if value.get("schema") != SCHEMA:
        return f"schema {value.get('schema')!r}, expected {SCHEMA}; skipped"
    missing = [key for key in _REQUIRED if key not in value]
    if missing:
        return f"missing {', '.join(missing)}; skipped"
    if value["step"] not in STEPS:
        return f"unknown step {value['step']!r} (accepted: {', '.join(STEPS)}); skipped"
    return value

"""Audit trail of field writes: who marked which IO, when, from what to what.

`JsonLinesAudit` appends one line per mark (constant cost). `RewritingAudit` is
the planted `stall` bug: the historic trail was a single JSON document, so every
mark loaded the whole history, appended one entry, re-wrote the file and fsynced
it, all under a process-wide lock, the same lock the health check takes to
report the trail's size. Each entry also carried the subsystem's progress per
IO card, recomputed by a full scan of the IO table on every mark. The cost grows
with every write ever made; once a mark costs more than the gap between marks
(a few hundred marks at a crew's pace) the request threads queue behind it
and so does `/api/health`: seconds-long stalls within minutes.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol


class AuditTrail(Protocol):
    def record(self, entry: dict[str, Any]) -> None: ...

    def entries(self) -> int: ...


class JsonLinesAudit:
    FILE = "audit.jsonl"

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / self.FILE
        self._lock = threading.Lock()
        self._count: int | None = None

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            count = self._count_locked()
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
            self._count = count + 1

    def entries(self) -> int:
        with self._lock:
            return self._count_locked()

    def _count_locked(self) -> int:
        if self._count is None:  # counted once per process, then kept in memory
            self._count = 0
            if self.path.exists():
                with open(self.path, "rb") as handle:
                    self._count = sum(1 for _ in handle)
        return self._count


# The lock is global on purpose (that is the bug): one trail per process, every request waits here.
_DOCUMENT_LOCK = threading.Lock()


class RewritingAudit:
    FILE = "audit.json"

    def __init__(self, data_dir: Path, progress: Callable[[], dict[str, Any]] | None = None) -> None:
        self.path = data_dir / self.FILE
        self.progress = progress
        self._count: int | None = None

    def record(self, entry: dict[str, Any]) -> None:
        with _DOCUMENT_LOCK:
            history = self._load()
            if self.progress is not None:
                entry = {**entry, "progress": self.progress()}
            history.append(entry)
            temporary = self.path.with_suffix(".json.tmp")
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(history, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
            self._count = len(history)

    def entries(self) -> int:
        with _DOCUMENT_LOCK:
            if self._count is None:
                self._count = len(self._load())
            return self._count

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as handle:
            return json.load(handle)


def progress_by_card(ios: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per IO card (the name's first three parts) of passed, failed, open and spare points."""
    cards: dict[str, dict[str, int]] = {}
    for io in ios:
        card = "_".join(str(io.get("name", "")).split("_")[:3])
        counts = cards.setdefault(card, {"passed": 0, "failed": 0, "open": 0, "spare": 0})
        if io.get("isSpare"):
            counts["spare"] += 1
        elif io.get("result") == "Passed":
            counts["passed"] += 1
        elif io.get("result") == "Failed":
            counts["failed"] += 1
        else:
            counts["open"] += 1
    return cards


def audit_for(data_dir: Path, stall_bug: bool,
              progress: Callable[[], dict[str, Any]] | None = None) -> AuditTrail:
    return RewritingAudit(data_dir, progress) if stall_bug else JsonLinesAudit(data_dir)

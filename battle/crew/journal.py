"""The op journal of one bot (docs/contracts.md section 5; DESIGN.md section 6).

`invoke` is written before the request; exactly one of ok / fail / info after it.
Lines are flushed one by one so a killed crew loses at most the line in flight.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battle.common.jsonl import JsonlWriter
from battle.common.timefmt import IsoStamper

JOURNAL_SCHEMA = 2  # 2: every line names its record kind (`kind`)
LEGACY_SCHEMA = 1  # lines without `kind`: written when the only kind was the IO
LEGACY_KIND = "io"  # the kind a schema-1 line is read as
READABLE_SCHEMAS = frozenset({LEGACY_SCHEMA, JOURNAL_SCHEMA})
OUTCOMES = ("ok", "fail", "info")


def journal_path(run_dir: Path, bot: int) -> Path:
    return run_dir / f"journal-bot{bot}.jsonl"


class OpJournal:
    def __init__(
        self,
        path: Path,
        bot: int,
        record_kind: str,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        lifetime: str | None = None,
    ) -> None:
        self._writer = JsonlWriter(path)
        self._bot = bot
        self._record_kind = record_kind  # a bot writes one kind: the name the adapter declared it under
        # A restarted writer counts ops from 1 again: (bot, lifetime, op) names an op, never (bot, op).
        self.lifetime = lifetime or f"{os.getpid()}-{int(wall() * 1000)}"
        self._wall = wall
        self._stamp = IsoStamper()
        self._mono = mono
        self._next_op = 1

    def _line(self, op: int, kind: str, **fields: Any) -> None:
        record = {"schema": JOURNAL_SCHEMA, "ts": self._stamp(self._wall()), "mono": round(self._mono(), 6),
                  "bot": self._bot, "kind": self._record_kind, "lifetime": self.lifetime, "op": op, "type": kind}
        record.update(fields)
        self._writer.write(record)

    def invoke(self, action: str, target: int, value: dict[str, Any], hot: bool) -> int:
        op = self._next_op
        self._next_op += 1
        self._line(op, "invoke", action=action, target=target, value=value, hot=hot,
                   status=None, latencyMs=None, error=None)
        return op

    def outcome(self, op: int, kind: str, action: str, target: int, value: dict[str, Any], hot: bool,
                status: int | None, latency_ms: float | None, error: str | None = None) -> None:
        if kind not in OUTCOMES:
            raise ValueError(f"journal outcome {kind!r} is not one of {OUTCOMES}")
        self._line(op, kind, action=action, target=target, value=value, hot=hot, status=status,
                   latencyMs=None if latency_ms is None else round(latency_ms, 2), error=error)

    def close(self) -> None:
        self._writer.close()

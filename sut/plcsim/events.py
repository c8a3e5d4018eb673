"""Structured log lines: one JSON object per line on stdout, `{"ts", "event", ...}`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO


def utc_iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_event(event: str, now: datetime, **fields: Any) -> str:
    return json.dumps({"ts": utc_iso_ms(now), "event": event, **fields}, separators=(",", ":"))


def emit_event(
    event: str,
    stream: TextIO | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    **fields: Any,
) -> None:
    out = sys.stdout if stream is None else stream
    out.write(format_event(event, clock(), **fields) + "\n")
    out.flush()

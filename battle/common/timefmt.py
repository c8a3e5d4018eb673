"""UTC timestamps as the artifacts write them (ISO-8601, milliseconds, Z)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> float:
    """Epoch seconds from an artifact timestamp; raises ValueError on anything else (a number, null, ...)."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r:.40} is not a UTC ISO-8601 time such as 2026-11-22T04:17:20.101Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()

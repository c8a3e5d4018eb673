"""UTC timestamps as the artifacts write them (ISO-8601, milliseconds, Z)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class IsoStamper:
    """`iso_utc` for a writer that stamps many lines a second: the same text, with each whole second's
    `YYYY-MM-DDTHH:MM:SS` formatted once (strftime was a third of a journal line's cost)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, epoch: float) -> str:
        # As datetime.fromtimestamp: the fraction rounded half-even to microseconds, carried into the second.
        fraction, whole = math.modf(epoch)
        micros = round(fraction * 1e6)
        if micros < 0 or micros >= 1_000_000 or whole < 0:
            return iso_utc(epoch)
        second = int(whole)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._prefix}.{micros // 1000:03d}Z"


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


_CANONICAL_LENGTH = 24  # 2026-11-22T04:17:20.101Z, as iso_utc writes


class IsoParser:
    """`parse_iso` for many stamps: the same float and the same errors, with each canonical stamp's whole
    second parsed once (a night's journal has millions of stamps over a few tens of thousands of seconds)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._seconds: dict[str, int] = {}
        self._limit = limit

    def __call__(self, text: str) -> float:
        if (isinstance(text, str) and len(text) == _CANONICAL_LENGTH and text[19] == "." and text[23] == "Z"
                and text[20:23].isascii() and text[20:23].isdigit()):
            second = self.second(text[:19])
            if second is not None:  # as timedelta.total_seconds: integer microseconds over 10**6
                return (second * 1_000_000 + int(text[20:23]) * 1000) / 1_000_000
        return parse_iso(text)

    def second(self, prefix: str) -> int | None:
        """Whole epoch seconds of `YYYY-MM-DDTHH:MM:SS` (UTC), or None if that is not such a time."""
        second = self._seconds.get(prefix)
        if second is None:
            try:
                stamp = datetime.fromisoformat(prefix + "+00:00") if prefix.isascii() else None
            except ValueError:
                stamp = None
            if stamp is None or len(prefix) != 19 or prefix[10] != "T":
                return None
            second = (stamp - _EPOCH) // timedelta(seconds=1)
            if len(self._seconds) >= self._limit:
                self._seconds.clear()
            self._seconds[prefix] = second
        return second


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

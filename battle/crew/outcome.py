"""Classify one HTTP attempt into the journal's ok / fail / info.

`fail` must mean *definitely not applied*: a 4xx answer, or a connection that
never opened. Anything that may have reached the tool (timeout after sending,
reset mid-request, 5xx) is `info`: indeterminate.
"""

from __future__ import annotations

from dataclasses import dataclass

from battle.crew.wire import NotSent, WireError


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | fail | info
    status: int | None
    error: str | None


def classify_status(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome("ok", status, None)
    if 400 <= status < 500:
        return Outcome("fail", status, f"HTTP {status}")
    return Outcome("info", status, f"HTTP {status}")


def classify_exception(exc: WireError) -> Outcome:
    # The connection layer knows whether a byte could have left: only a connection never opened is `fail`.
    if isinstance(exc, NotSent):
        return Outcome("fail", None, f"not sent: {exc}")
    return Outcome("info", None, f"{type(exc).__name__}: {exc}")

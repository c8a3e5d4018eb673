"""Classify one HTTP attempt into the journal's ok / fail / info.

`fail` must mean *definitely not applied*: an answer the adapter reads as refused
(the reference: a 4xx), or a connection that never opened. Anything that may have
reached the tool (timeout after sending, reset mid-request, 5xx) is `info`:
indeterminate.
"""

from __future__ import annotations

from dataclasses import dataclass

from battle.adapters.base import classify_http_status
from battle.crew.wire import NotSent, WireError


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | fail | info
    status: int | None
    error: str | None


def classify_status(status: int, kind: str | None = None) -> Outcome:
    """The outcome of an answer: `kind` is the adapter's reading of the status (the usual HTTP one if None)."""
    kind = kind or classify_http_status(status)
    return Outcome(kind, status, None if kind == "ok" else f"HTTP {status}")


def classify_exception(exc: WireError) -> Outcome:
    # The connection layer knows whether a byte could have left: only a connection never opened is `fail`.
    if isinstance(exc, NotSent):
        return Outcome("fail", None, f"not sent: {exc}")
    return Outcome("info", None, f"{type(exc).__name__}: {exc}")

"""Classify one HTTP attempt into the journal's ok / fail / info.

`fail` must mean *definitely not applied*: a 4xx answer, or a connection that
never opened. Anything that may have reached the tool (timeout after sending,
reset mid-request, 5xx) is `info`: indeterminate.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests


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


def classify_exception(exc: BaseException) -> Outcome:
    # ConnectTimeout and a refused connection happen before any byte is sent.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Outcome("fail", None, f"connect timeout: {exc}")
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return Outcome("fail", None, f"connection refused: {exc}")
    return Outcome("info", None, f"{type(exc).__name__}: {exc}")


def _never_connected(exc: BaseException) -> bool:
    text = repr(exc)
    return any(mark in text for mark in ("NewConnectionError", "Connection refused", "Name or service not known",
                                         "Temporary failure in name resolution"))

"""Capped exponential backoff with jitter that honours a server's Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable
from email.utils import parsedate_to_datetime

# A server may ask for a long pause; we honour it but never sleep longer than this at once.
RETRY_AFTER_CEILING_S = 300.0


class Backoff:
    def __init__(self, base_s: float, cap_s: float, rand: Callable[[], float] | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self._rand = rand or random.random
        self.failures = 0

    def next_delay(self, retry_after_s: float | None = None) -> float:
        """Delay before the next try after one more consecutive failure.

        Jitter spreads the retries of many tools over [half, full] of the step so a
        cloud coming back is not hit by all of them at the same instant; Retry-After
        is a floor, because the server knows best when it can take us again.
        """
        step = min(self.cap_s, self.base_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        delay = step * (0.5 + 0.5 * self._rand())
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, RETRY_AFTER_CEILING_S))
        return delay

    def reset(self) -> None:
        self.failures = 0


def parse_retry_after(value: str | None, now_epoch_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or junk."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_epoch_s)

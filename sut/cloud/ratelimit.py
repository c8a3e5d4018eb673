"""Per-key sliding-window rate limiter.

A sliding log rather than fixed buckets: a client that bursts at the end of one
minute and the start of the next is still held to the limit, which is what makes
the cloud's 429s realistic for the tool's retry logic. Only admitted requests are
logged, so a client that keeps retrying while limited is let in again once the
window slides past its earlier requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0  # whole seconds until a slot frees; >= 1 when refused


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float = 60.0, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"limit must be >= 1 and window_s > 0 (got limit={limit}, window_s={window_s})")
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> Decision:
        """Admit and record one request for `key`, or refuse it with the wait until a slot frees."""
        now = self._clock()
        with self._lock:
            log = self._admitted.setdefault(key, deque())
            horizon = now - self._window_s
            while log and log[0] <= horizon:
                log.popleft()
            if len(log) < self._limit:
                log.append(now)
                return Decision(allowed=True)
            wait = log[0] + self._window_s - now
            # Retry-After is whole seconds; round up so a client that honours it is admitted.
            return Decision(allowed=False, retry_after_s=max(1, math.ceil(wait)))

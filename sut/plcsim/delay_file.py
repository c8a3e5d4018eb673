"""Runtime PLC delay: a file the chaos `delay` fault writes, re-read at most once a second.

`DELAY_MS` is fixed at start (a saturated controller for a whole scenario); the `delay` fault needs
to slow the running simulator for a while and then let it go. The chaos driver writes an integer
number of milliseconds to `PLC_DELAY_FILE` (atomically, write then rename) and removes the file to
restore, so: file present with a number → that delay; file absent → the start-up `DELAY_MS`.
A malformed file is treated as absent rather than stopping the simulator mid-soak.

cpppo's `enip_srv` evaluates `delay.value` (seconds) before every reply, so an instance can be
passed as its `delay` argument directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_DELAY_FILE = "/tmp/plc_delay_ms"
REREAD_S = 1.0


class DelaySource:
    def __init__(
        self,
        path: str | Path | None,
        default_ms: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = Path(path) if path else None
        self._default_ms = float(default_ms)
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._current_ms = self._default_ms
        self.last_problem: str | None = None  # the last malformed content seen, for diagnosis

    def current_ms(self) -> float:
        """The delay to apply now, in milliseconds (file value, else the start-up default)."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= REREAD_S:
                self._read_at = now
                self._current_ms = self._read()
            return self._current_ms

    @property
    def value(self) -> float:
        """Seconds: the attribute cpppo reads from its `delay` argument before each reply."""
        return self.current_ms() / 1000.0

    def _read(self) -> float:
        if self._path is None:
            return self._default_ms
        try:
            text = self._path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return self._default_ms
        except OSError as exc:
            self.last_problem = f"{self._path}: unreadable: {exc}"
            return self._default_ms
        try:
            value = float(text)
        except ValueError:
            self.last_problem = f"{self._path}: {text[:40]!r} is not a number of milliseconds"
            return self._default_ms
        if not (value >= 0 and value != float("inf")):
            self.last_problem = f"{self._path}: {text[:40]!r} is not a finite number >= 0"
            return self._default_ms
        return value

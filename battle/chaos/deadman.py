"""The dead-man's switch: when the observer's heartbeat stops, chaos calms on its own.

The observer rewrites `control/heartbeat` every second while it runs (battle/observer/heartbeat.py).
The switch reads it on every turn of the plan runner's loop and remembers, on its own monotonic
clock, when the content last changed: an age measured that way needs no clock shared with the
writer (another container, a remote volume) and ignores wall-clock jumps. It fires once the beat has
been seen at least once and then stayed unchanged for longer than `DEADMAN_S`; before the first beat
(the observer has not started yet) it never fires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

HEARTBEAT_NAME = "control/heartbeat"


def file_beat(path: Path) -> Callable[[], str | None]:
    """A reader of the heartbeat file: its content, or None while it is missing or unreadable."""

    def read() -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    return read


class DeadmanSwitch:
    def __init__(
        self,
        read_beat: Callable[[], str | None],
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        what: str = f"the observer's heartbeat ({HEARTBEAT_NAME})",
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"DEADMAN_S must be > 0 seconds, not {timeout_s!r}")
        self._read = read_beat
        self._timeout_s = float(timeout_s)
        self._clock = clock
        self._what = what
        self._last: str | None = None
        self._changed_at: float | None = None  # our clock, when the beat last changed

    @property
    def seen(self) -> bool:
        return self._changed_at is not None

    def age(self) -> float | None:
        """Seconds since the beat last changed, None before the first beat."""
        return None if self._changed_at is None else self._clock() - self._changed_at

    def check(self) -> str | None:
        """Read the beat once; the reason to calm when it is overdue, else None."""
        beat = self._read()
        now = self._clock()
        if beat is not None and beat != self._last:
            self._last, self._changed_at = beat, now
            return None
        if self._changed_at is None:
            return None  # never seen: the observer has not started; nothing to miss yet
        age = now - self._changed_at
        if age <= self._timeout_s:
            return None
        state = "gone" if beat is None else "unchanged"
        return (
            f"dead-man's switch: {self._what} {state} for {age:.0f} s (DEADMAN_S={self._timeout_s:g}): "
            "the observer stopped, so chaos calms on its own and stops its plan"
        )

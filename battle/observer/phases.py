"""Which phase the run is in, for labelling probes: warmup, calm, fault, recovery, judging.

Fed by the fault ledger as it grows: a fault applied and not yet restored
means "fault"; up to RECOVERY_S after the last restore means "recovery".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

RECOVERY_S = 60.0


class PhaseTracker:
    def __init__(self, warmup_until: float, clock: Callable[[], float] = time.time) -> None:
        self.warmup_until = warmup_until
        self.clock = clock
        self._lock = threading.Lock()
        self._active: set[str] = set()
        self._last_restore: float | None = None
        self._judging = False
        self.applied = 0
        self.restored = 0
        self.failed = 0

    def on_ledger(self, record: dict[str, Any]) -> None:
        step, fault = record.get("step"), str(record.get("fault"))
        with self._lock:
            if step == "applied":
                self._active.add(fault)
                self.applied += 1
            elif step == "restored":
                self._active.discard(fault)
                self._last_restore = self.clock()
                self.restored += 1
            elif step == "failed":
                self._active.discard(fault)
                self.failed += 1

    def enter_judging(self) -> None:
        with self._lock:
            self._judging = True

    def __call__(self) -> str:
        now = self.clock()
        with self._lock:
            if self._judging:
                return "judging"
            if self._active:
                return "fault"
            if self._last_restore is not None and now - self._last_restore < RECOVERY_S:
                return "recovery"
            if now < self.warmup_until:
                return "warmup"
            return "calm"

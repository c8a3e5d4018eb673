"""The observer's heartbeat: `control/heartbeat` rewritten every second while the observer runs.

Chaos's dead-man's switch (battle/chaos/deadman.py) watches it: when the beat stops changing for
`DEADMAN_S` seconds, chaos restores every fault and stops its plan on its own, so an observer that
died mid-fault never leaves the system under test broken. Each beat is a new JSON object (its count
grows), written atomically, so a reader never sees half a beat.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from battle.common.atomic import write_text_atomic
from battle.common.timefmt import iso_utc

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, path: Path, every_s: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.every_s = every_s
        self.clock = clock
        self.beats = 0
        self.errors = 0  # beats that could not be written (logged)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self.beats += 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path, json.dumps({"beat": self.beats, "ts": iso_utc(self.clock()),
                                                 "pid": os.getpid()}) + "\n")

    def _loop(self) -> None:
        while True:
            try:
                self.beat()
            except OSError as exc:  # a full or vanished volume: say so, keep beating
                self.errors += 1
                log.warning("heartbeat %s not written (%d so far): %s", self.path, self.errors, exc)
            if self._stop.wait(self.every_s):
                return

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="observer-heartbeat", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

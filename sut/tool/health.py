"""Periodic `health` event: memory and queue depth, so a soak can be read from the log alone."""

from __future__ import annotations

from collections.abc import Callable

import psutil

from sut.tool.db import ToolDb
from sut.tool.events import EventLog


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / (1024 * 1024)


class HealthWorker:
    name = "health"

    def __init__(self, db: ToolDb, events: EventLog, interval_s: float,
                 worker_errors: Callable[[], dict[str, int]] | None = None) -> None:
        self._db = db
        self._events = events
        self._interval_s = interval_s
        self._worker_errors = worker_errors

    def run_once(self) -> float:
        active, parked = self._db.queue_counts()
        extra = {"workerErrors": self._worker_errors()} if self._worker_errors else {}
        self._events.emit("health", rssMb=round(rss_mb(), 2), active=active, parked=parked, **extra)
        return self._interval_s

    def close(self) -> None:
        pass

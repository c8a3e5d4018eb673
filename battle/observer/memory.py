"""Memory sampler: every 5 s, the resident memory of each watched service.

A sample carries the process lifetime (pid, or container start time), so the
leak judge fits each lifetime separately and a restart is not a "drop".
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import psutil

from battle.common.timefmt import iso_utc

log = logging.getLogger(__name__)
MEMORY_COLUMNS = ("utc", "epoch", "service", "lifetime", "rss_mb")


class MemorySource(Protocol):
    def sample(self) -> Iterable[tuple[str, str, float]]: ...  # (service, lifetime, rss MB)


class PsutilSource:
    """Local processes: `pids()` maps service name to its current pid (or None when down)."""

    def __init__(self, pids: Callable[[], dict[str, int | None]]) -> None:
        self.pids = pids

    def sample(self) -> Iterable[tuple[str, str, float]]:
        for service, pid in self.pids().items():
            if pid is None:
                continue
            try:
                process = psutil.Process(pid)
                rss = process.memory_info().rss
                lifetime = f"{pid}@{process.create_time():.0f}"
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            yield service, lifetime, rss / (1024 * 1024)


class PeriodicCsv:
    """Every `interval_s`, the rows of a source appended to a CSV (header first), each stamped (utc, epoch).

    A supervisor loop: a failed sample is logged and counted (`errors`), and the count reaches the verdict.
    """

    def __init__(self, columns: tuple[str, ...], rows: Callable[[], Iterable[tuple[object, ...]]], out: Path,
                 interval_s: float, clock: Callable[[], float] = time.time, name: str = "sampler") -> None:
        self.columns = columns
        self.rows = rows
        self.out = out
        self.interval_s = interval_s
        self.clock = clock
        self.name = name
        self.samples = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        new = not self.out.exists()
        self._handle = open(self.out, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._csv = csv.writer(self._handle)
        if new:
            self._csv.writerow(self.columns)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._handle.close()

    def sample_once(self) -> None:
        stamp = self.clock()
        for row in self.rows():
            self._csv.writerow((iso_utc(stamp), f"{stamp:.3f}", *row))
            self.samples += 1
        self._handle.flush()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception:  # supervisor loop
                self.errors += 1
                log.exception("%s: a sample failed", self.name)
            self._stop.wait(self.interval_s)


class MemorySampler(PeriodicCsv):
    def __init__(self, source: MemorySource, out: Path, interval_s: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(MEMORY_COLUMNS, lambda: ((service, lifetime, f"{mb:.3f}")
                                                  for service, lifetime, mb in source.sample()),
                         out, interval_s, clock, name="memory-sampler")
        self.source = source

"""1 Hz health probe of the tool, for the whole run including the judging phase."""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from battle.common.timefmt import iso_utc

log = logging.getLogger(__name__)
HEALTH_COLUMNS = ("utc", "epoch", "latency_ms", "status", "ok", "phase")


class HealthProber:
    def __init__(self, url: str, out: Path, phase: Callable[[], str], interval_s: float = 1.0,
                 timeout_s: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.out = out
        self.phase = phase
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="health-probe", daemon=True)
        self.ok = 0
        self.failed = 0
        self.errors = 0  # failures inside the harness (not the tool's): counted into the verdict
        self.session = requests.Session()

    def start(self) -> None:
        new = not self.out.exists()
        self._handle = open(self.out, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._csv = csv.writer(self._handle)
        if new:
            self._csv.writerow(HEALTH_COLUMNS)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout_s + 2)
        self._handle.close()

    def probe_once(self) -> None:
        started = time.monotonic()
        stamp = self.clock()
        status: int | None = None
        try:
            response = self.session.get(self.url, timeout=self.timeout_s)
            status = response.status_code
        except requests.RequestException:
            status = None
        latency_ms = (time.monotonic() - started) * 1000.0
        ok = status == 200
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        self._csv.writerow((iso_utc(stamp), f"{stamp:.3f}", f"{latency_ms:.1f}" if status else "",
                            status if status is not None else "", int(ok), self.phase()))
        self._handle.flush()

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            try:
                self.probe_once()
            except Exception:  # supervisor loop: the probe must outlive any one failure; counted
                self.errors += 1
                log.exception("health probe failed inside the harness")
            next_tick += self.interval_s
            delay = next_tick - time.monotonic()
            if delay < 0:  # a slow probe: skip missed ticks rather than burst
                next_tick = time.monotonic()
                delay = 0
            self._stop.wait(delay)

"""What the stack costs while it runs, the harness included: `cost.csv`, every 10 s, each service's CPU seconds
(cumulative within a lifetime) and resident memory.

A harness that spends as much CPU as the system it tests sets the ceiling itself (issue 9), so every night
records the cost of the crew and the observer next to the tool's. Informational: no judge reads it, and it
is not sealed. On the local backend the harness is one process; its crew is the threads named `bot<N>`
and `harness` is the rest of that process (observer, chaos, mutator, supervisor).
"""

from __future__ import annotations

import csv
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psutil

from battle.observer.memory import PeriodicCsv

log = logging.getLogger(__name__)
COST_COLUMNS = ("utc", "epoch", "service", "lifetime", "cpu_s", "rss_mb")
COST_INTERVAL_S = 10.0
MB = 1024 * 1024


class CostSource(Protocol):
    def sample(self) -> Iterable[tuple[str, str, float, float]]: ...  # (service, lifetime, cpu s, rss MB)


def cost_sampler(source: CostSource, out: Path, interval_s: float = COST_INTERVAL_S) -> PeriodicCsv:
    return PeriodicCsv(COST_COLUMNS, lambda: ((service, lifetime, f"{cpu:.3f}", f"{rss:.3f}")
                                              for service, lifetime, cpu, rss in source.sample()),
                       out, interval_s, name="cost-sampler")


def _cpu_s(times: Any) -> float:
    return float(times.user + times.system)


@dataclass
class ProcessCostSource:
    """Local processes by pid, plus this process split into the crew's threads and the rest."""

    pids: Callable[[], dict[str, int | None]]
    crew_thread_prefix: str = "bot"

    def sample(self) -> Iterator[tuple[str, str, float, float]]:
        for service, pid in self.pids().items():
            if pid is None:
                continue
            try:
                process = psutil.Process(pid)
                with process.oneshot():
                    row = (service, f"{pid}@{process.create_time():.0f}", _cpu_s(process.cpu_times()),
                           process.memory_info().rss / MB)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            yield row
        yield from self._harness()

    def _harness(self) -> Iterator[tuple[str, str, float, float]]:
        me = psutil.Process(os.getpid())
        lifetime = f"{me.pid}@{me.create_time():.0f}"
        crew_ids = {t.native_id for t in threading.enumerate() if t.name.startswith(self.crew_thread_prefix)}
        crew = sum(t.user_time + t.system_time for t in me.threads() if t.id in crew_ids)
        rss = me.memory_info().rss / MB
        # Threads share the process's memory: the whole RSS is the harness's, the crew's is not separable.
        yield "crew", lifetime, crew, 0.0
        yield "harness", lifetime, _cpu_s(me.cpu_times()) - crew, rss


# ---------------------------------------------------------------- reading it back


@dataclass(frozen=True)
class ServiceCost:
    service: str
    seconds: float  # wall time covered by samples of its lifetimes
    cpu_s: float  # CPU spent over those seconds
    rss_first_mb: float
    rss_last_mb: float
    rss_max_mb: float

    @property
    def cpu_share(self) -> float:
        """CPU as a share of one core."""
        return self.cpu_s / self.seconds if self.seconds > 0 else 0.0


def read_cost(path: Path) -> list[tuple[float, str, str, float, float]]:
    """(epoch, service, lifetime, cpu_s, rss_mb) rows; unreadable rows are skipped (the file is informational)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            try:
                rows.append((float(record["epoch"]), record["service"], record["lifetime"], float(record["cpu_s"]),
                             float(record["rss_mb"])))
            except (KeyError, TypeError, ValueError):
                continue
    return rows


def summarize_cost(rows: Iterable[tuple[float, str, str, float, float]],
                   window: tuple[float, float] | None = None) -> dict[str, ServiceCost]:
    """Per service: CPU and wall time summed over each lifetime's consecutive samples (a restart resets the
    counter, so deltas never cross lifetimes), and RSS at first, last and highest sample; within `window`."""
    by_service: dict[str, list[tuple[float, str, float, float]]] = {}
    for epoch, service, lifetime, cpu, rss in rows:
        if window is None or window[0] <= epoch <= window[1]:
            by_service.setdefault(service, []).append((epoch, lifetime, cpu, rss))
    summary = {}
    for service, samples in by_service.items():
        samples.sort()
        seconds = cpu = 0.0
        for (t0, life0, c0, _), (t1, life1, c1, _) in zip(samples, samples[1:], strict=False):
            if life0 == life1 and c1 >= c0:
                seconds += t1 - t0
                cpu += c1 - c0
        resident = [sample[3] for sample in samples]
        summary[service] = ServiceCost(service, seconds, cpu, resident[0], resident[-1], max(resident))
    return summary


def probe_lateness_ms(epochs: Sequence[float], interval_s: float = 1.0) -> dict[str, float]:
    """How late a periodic probe started: each gap between consecutive probes beyond the interval
    (a probe scheduled on a fixed grid that runs late shows as a long gap; early is not possible)."""
    if len(epochs) < 2:
        return {"probes": float(len(epochs)), "p50": 0.0, "p99": 0.0, "max": 0.0}
    gaps = np.diff(np.sort(np.asarray(epochs, dtype=float)))
    late = np.clip(gaps - interval_s, 0.0, None) * 1000.0
    return {"probes": float(len(epochs)), "p50": float(np.percentile(late, 50)),
            "p99": float(np.percentile(late, 99)), "max": float(late.max())}

"""The numbers a report shows, derived from the loaded rows (no HTML here)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from battle.evidence import DockerEvent, Fault, MemSample, Op, Probe, ToolEvent
from battle.report.verdict_view import COVERAGE_STEPS


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in 0..100."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Window:
    """A fault's time on the timeline: applied until restored (or until the chart ends if it never was)."""

    fault: str
    kind: str
    target: str
    start: float
    end: float | None  # None: never restored
    failed: str | None


def fault_windows(faults: Iterable[Fault]) -> list[Window]:
    return sorted((Window(f.fault, f.kind, f.target, f.applied_at, f.restored_at, f.failed)
                   for f in faults if f.applied_at is not None), key=lambda w: (w.start, w.fault))


def coverage_from_ledger(faults: Iterable[Fault]) -> dict[str, dict[str, int]]:
    """Per kind, how many faults reached each step; used when the verdict carries no coverage."""
    coverage: dict[str, dict[str, int]] = {}
    for fault in faults:
        counts = coverage.setdefault(fault.kind, dict.fromkeys(COVERAGE_STEPS, 0))
        counts["planned"] += fault.planned_at is not None
        counts["applied"] += fault.applied_at is not None
        counts["restored"] += fault.restored_at is not None
        counts["failed"] += fault.failed is not None
    return dict(sorted(coverage.items()))


@dataclass(frozen=True)
class BotSummary:
    bot: int
    invokes: int
    ok: int
    fail: int
    info: int
    open: int  # invokes with no outcome line (the bot was cut off mid-request)
    hot: int
    p50_ms: float | None
    p95_ms: float | None


def _summary(bot: int, ops: Sequence[Op]) -> BotSummary:
    kinds = Counter(op.type for op in ops)
    outcomes = [op for op in ops if op.type in ("ok", "fail", "info")]
    latencies = [float(op.latency_ms) for op in outcomes if isinstance(op.latency_ms, int | float)]
    return BotSummary(bot=bot, invokes=kinds["invoke"], ok=kinds["ok"], fail=kinds["fail"], info=kinds["info"],
                      open=max(kinds["invoke"] - len(outcomes), 0), hot=sum(1 for op in outcomes if op.hot),
                      p50_ms=percentile(latencies, 50), p95_ms=percentile(latencies, 95))


def bot_summaries(ops: Iterable[Op]) -> tuple[list[BotSummary], BotSummary | None]:
    """One summary per bot, and the crew total (None without ops)."""
    by_bot: dict[int, list[Op]] = defaultdict(list)
    for op in ops:
        by_bot[op.bot].append(op)
    rows = [_summary(bot, by_bot[bot]) for bot in sorted(by_bot)]
    total = _summary(-1, [op for bot in sorted(by_bot) for op in by_bot[bot]]) if by_bot else None
    return rows, total


@dataclass(frozen=True)
class PhaseSummary:
    phase: str
    probes: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


PHASE_ORDER = ("warmup", "calm", "fault", "recovery", "judging")


def probe_phases(probes: Iterable[Probe]) -> list[PhaseSummary]:
    by_phase: dict[str, list[Probe]] = defaultdict(list)
    for probe in probes:
        by_phase[probe.phase].append(probe)
    order = {name: i for i, name in enumerate(PHASE_ORDER)}
    rows = []
    for phase in sorted(by_phase, key=lambda p: (order.get(p, len(order)), p)):
        group = by_phase[phase]
        latencies = [p.latency_ms for p in group if p.ok and p.latency_ms is not None]
        rows.append(PhaseSummary(phase, len(group), sum(1 for p in group if not p.ok),
                                 percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99),
                                 max(latencies) if latencies else None))
    return rows


def event_counts(events: Iterable[ToolEvent]) -> list[tuple[str, int, float, float]]:
    """(event name, count, first time, last time), most frequent first."""
    seen: dict[str, list[float]] = defaultdict(list)
    for event in events:
        seen[event.event].append(event.t)
    return sorted(((name, len(ts), min(ts), max(ts)) for name, ts in seen.items()), key=lambda r: (-r[1], r[0]))


def docker_counts(events: Iterable[DockerEvent]) -> list[tuple[str, str, int]]:
    counts = Counter((e.service, e.action) for e in events)
    return sorted(((svc, action, n) for (svc, action), n in counts.items()), key=lambda r: (r[0], r[1]))


SeriesKey = tuple[str, str]  # (service, lifetime)


def memory_series(samples: Iterable[MemSample]) -> dict[SeriesKey, list[tuple[float, float]]]:
    series: dict[SeriesKey, list[tuple[float, float]]] = defaultdict(list)
    for sample in samples:
        series[(sample.service, sample.lifetime)].append((sample.t, sample.rss_mb))
    return {key: sorted(points) for key, points in sorted(series.items(), key=lambda kv: (kv[0][0], kv[1][0][0]))}


def slope_mb_per_h(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares growth; a rough figure for reading, the I2 judge owns the verdict on it."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    if var_t == 0:
        return None
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var_t * 3600.0


@dataclass(frozen=True)
class LifetimeSummary:
    service: str
    lifetime: str
    samples: int
    start: float
    span_s: float
    first_mb: float
    last_mb: float
    max_mb: float
    slope_mb_per_h: float | None


def memory_summaries(series: dict[SeriesKey, list[tuple[float, float]]]) -> list[LifetimeSummary]:
    return [LifetimeSummary(service, lifetime, len(points), points[0][0], points[-1][0] - points[0][0],
                            points[0][1], points[-1][1], max(m for _, m in points), slope_mb_per_h(points))
            for (service, lifetime), points in series.items() if points]

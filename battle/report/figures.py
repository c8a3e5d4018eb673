"""The numbers a report shows, derived from the gathered evidence (no HTML here).

Night-scale series (28,800 probes, 5,760 memory samples per process) go through numpy."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from battle.adapters.events import RAW_FIELD, BattleEvent
from battle.evidence import BotTally, DockerEvent, Fault, MemSample, Probe, ToolEvent
from battle.report.verdict_view import COVERAGE_STEPS


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in 0..100."""
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def percentile_of_counts(counts: Mapping[float, int], q: float) -> float | None:
    """`percentile` of the values a histogram (value -> how many) holds, without expanding it."""
    if not counts:
        return None
    values = np.array(sorted(counts), dtype=np.float64)
    ends = np.cumsum(np.array([counts[v] for v in values.tolist()], dtype=np.int64))  # rank of each last copy + 1
    rank = (int(ends[-1]) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, int(ends[-1]) - 1)
    at_low, at_high = (float(values[np.searchsorted(ends, k, side="right")]) for k in (low, high))
    return at_low + (at_high - at_low) * (rank - low)


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


def _summary(bot: int, tallies: Sequence[BotTally]) -> BotSummary:
    latencies: Counter[float] = Counter()
    for tally in tallies:
        latencies.update(tally.latencies)
    invokes = sum(t.invokes for t in tallies)
    return BotSummary(bot=bot, invokes=invokes, ok=sum(t.ok for t in tallies), fail=sum(t.fail for t in tallies),
                      info=sum(t.info for t in tallies), open=max(invokes - sum(t.outcomes for t in tallies), 0),
                      hot=sum(t.hot for t in tallies), p50_ms=percentile_of_counts(latencies, 50),
                      p95_ms=percentile_of_counts(latencies, 95))


def bot_summaries(tallies: Iterable[BotTally]) -> tuple[list[BotSummary], BotSummary | None]:
    """One summary per bot (from the journal digest's tallies), and the crew total (None without ops)."""
    by_bot: dict[int, list[BotTally]] = defaultdict(list)
    for tally in tallies:
        by_bot[tally.bot].append(tally)
    rows = [_summary(bot, by_bot[bot]) for bot in sorted(by_bot)]
    total = _summary(-1, [t for bot in sorted(by_bot) for t in by_bot[bot]]) if by_bot else None
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
        latencies = np.array([p.latency_ms for p in group if p.ok and p.latency_ms is not None], dtype=np.float64)
        p50, p95, p99 = (None, None, None) if not len(latencies) else (
            float(v) for v in np.percentile(latencies, [50, 95, 99]))
        rows.append(PhaseSummary(phase, len(group), sum(1 for p in group if not p.ok), p50, p95, p99,
                                 float(latencies.max()) if len(latencies) else None))
    return rows


def event_counts(events: Iterable[ToolEvent]) -> list[tuple[str, int, float, float]]:
    """(event name, count, first time, last time), most frequent first."""
    seen: dict[str, list[float]] = defaultdict(list)
    for event in events:
        # An event the adapter does not map is shown under the tool's own name.
        other = event.event == BattleEvent.OTHER
        seen[f"{event.event} ({event.fields.get(RAW_FIELD)})" if other else event.event].append(event.t)
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
    xy = np.asarray(points, dtype=np.float64)
    dt = xy[:, 0] - xy[:, 0].mean()
    var_t = float(np.dot(dt, dt))
    if var_t == 0:
        return None
    return float(np.dot(dt, xy[:, 1] - xy[:, 1].mean())) / var_t * 3600.0


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

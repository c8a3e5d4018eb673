"""Inline SVG charts: health latency over time and memory per process lifetime.

Charts are sized by pixels, not by data: an 8-hour soak has ~29,000 probes, so
probes are bucketed into pixel columns (min..max latency per column, failures
counted) and each memory line keeps its lowest and highest sample per pixel column
(a spike stays visible), keeping a report a few hundred KB. Every text placed in
the SVG goes through `esc`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from battle.chaos.errors import FaultSpecError
from battle.chaos.kinds import get_kind
from battle.evidence import Probe
from battle.report.figures import SeriesKey, Window
from battle.report.htmlkit import Markup, css_token, esc

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 66, 16, 34, 30
FAIL_BAND = 10  # the strip above the plot where failed probes are marked

UNKNOWN_KIND_COLOR = "#7f7f7f"  # a ledger written by another version may name a kind this one lacks
SERIES_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)


def kind_color(kind: str) -> str:
    try:
        return get_kind(kind).color
    except FaultSpecError:
        return UNKNOWN_KIND_COLOR


def kind_label(kind: str) -> str:
    try:
        return f"{get_kind(kind).label} ({kind})"
    except FaultSpecError:
        return kind


def service_colors(services: Iterable[str]) -> dict[str, str]:
    return {name: SERIES_COLORS[i % len(SERIES_COLORS)] for i, name in enumerate(sorted(set(services)))}


@dataclass(frozen=True)
class Frame:
    t0: float
    t1: float
    origin: float  # time zero of the labels (soak start)

    @property
    def left(self) -> float:
        return LEFT

    @property
    def right(self) -> float:
        return WIDTH - RIGHT

    @property
    def top(self) -> float:
        return TOP

    @property
    def bottom(self) -> float:
        return HEIGHT - BOTTOM

    def x(self, t: float) -> float:
        t = min(max(t, self.t0), self.t1)
        return self.left + (t - self.t0) / (self.t1 - self.t0) * (self.right - self.left)


def make_frame(times: Iterable[float], origin: float | None) -> Frame:
    stamps = [t for t in times if math.isfinite(t)]
    if origin is not None:
        stamps.append(origin)
    t0, t1 = (min(stamps), max(stamps)) if stamps else (0.0, 1.0)
    return Frame(t0, t1 if t1 > t0 else t0 + 1.0, origin if origin is not None else t0)


def offset_label(seconds: float, step: float) -> str:
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    if step >= 3600:
        return f"{sign}{seconds / 3600:g}h"
    if step >= 60:
        return f"{sign}{seconds / 60:g}m"
    return f"{sign}{seconds:g}s"


def _time_axis(frame: Frame) -> list[str]:
    span = frame.t1 - frame.t0
    step = next((s for s in _TIME_STEPS if span / s <= 10), _TIME_STEPS[-1])
    first = math.ceil((frame.t0 - frame.origin) / step) * step
    parts = [f'<line class="axis" x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" y2="{frame.bottom}" '
             'stroke="#555"/>']
    offset = first
    while frame.origin + offset <= frame.t1 + 1e-9:
        x = frame.x(frame.origin + offset)
        parts.append(f'<line x1="{x:.1f}" y1="{frame.top}" x2="{x:.1f}" y2="{frame.bottom}" stroke="#e6e9ee"/>'
                     f'<text x="{x:.1f}" y="{frame.bottom + 16}" text-anchor="middle" font-size="11">'
                     f"{esc(offset_label(offset, step))}</text>")
        offset += step
    return parts


def _window_rects(frame: Frame, windows: Sequence[Window], opacity: float) -> list[str]:
    parts = []
    for w in windows:
        end = w.end if w.end is not None else frame.t1
        x0, x1 = frame.x(w.start), frame.x(end)
        classes = f"fault-window kind-{css_token(w.kind)}" + (" unrestored" if w.end is None else "")
        stroke = ' stroke="#b3261e" stroke-dasharray="4 3"' if w.end is None else ""
        until = "never restored" if w.end is None else f"restored {offset_label(end - frame.origin, 1)}"
        failed = f"; failed: {w.failed}" if w.failed else ""
        title = (f"{w.fault} {w.kind} → {w.target}: applied {offset_label(w.start - frame.origin, 1)}, "
                 f"{until}{failed}")
        parts.append(f'<rect class="{classes}" data-fault="{esc(w.fault)}" x="{x0:.1f}" y="{frame.top}" '
                     f'width="{max(x1 - x0, 1.5):.1f}" height="{frame.bottom - frame.top}" '
                     f'fill="{kind_color(w.kind)}" fill-opacity="{opacity}"{stroke}><title>{esc(title)}</title></rect>')
    return parts


def _marks(frame: Frame, marks: Sequence[tuple[str, float]]) -> list[str]:
    parts = []
    for index, (name, stamp) in enumerate(marks):
        if name == "soakStart":
            continue
        x = frame.x(stamp)
        near_right = x > frame.right - 80  # keep the label inside the chart
        label_x, anchor = (x - 2, "end") if near_right else (x + 2, "start")
        parts.append(f'<line class="mark" x1="{x:.1f}" y1="{frame.top}" x2="{x:.1f}" y2="{frame.bottom}" '
                     f'stroke="#444" stroke-dasharray="2 3"/><text x="{label_x:.1f}" '
                     f'y="{frame.top + 10 + 11 * (index % 3)}" text-anchor="{anchor}" font-size="10" fill="#444">'
                     f"{esc(name)}</text>")
    return parts


def _svg(label: str, parts: Iterable[str], class_: str) -> Markup:
    return Markup(f'<svg class="chart {class_}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
                  f'role="img" aria-label="{esc(label)}">' + "".join(parts) + "</svg>")


def _ms_label(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def latency_timeline(frame: Frame, probes: Sequence[Probe], windows: Sequence[Window],
                     marks: Sequence[tuple[str, float]], thresholds: Mapping[str, float]) -> Markup:
    """Probe latency (log scale) with fault windows shaded, failed probes marked above the plot."""
    latencies = [p.latency_ms for p in probes if p.ok and p.latency_ms is not None]
    top_ms = max([1000.0, *latencies, *thresholds.values()])
    decades = max(1, math.ceil(math.log10(top_ms) + 1e-9))
    plot_top = frame.top + FAIL_BAND

    def y(ms: float) -> float:
        fraction = min(max(math.log10(max(ms, 1.0)) / decades, 0.0), 1.0)
        return frame.bottom - fraction * (frame.bottom - plot_top)

    parts = _time_axis(frame)
    for power in range(decades + 1):
        ms = 10.0 ** power
        parts.append(f'<line x1="{frame.left}" y1="{y(ms):.1f}" x2="{frame.right}" y2="{y(ms):.1f}" stroke="#e6e9ee"/>'
                     f'<text x="{frame.left - 6}" y="{y(ms) + 4:.1f}" text-anchor="end" font-size="11">'
                     f"{esc(_ms_label(ms))}</text>")
    parts += _window_rects(frame, windows, 0.18)
    for name, ms in sorted(thresholds.items()):
        parts.append(f'<line class="threshold" x1="{frame.left}" y1="{y(ms):.1f}" x2="{frame.right}" y2="{y(ms):.1f}" '
                     f'stroke="#b3261e" stroke-dasharray="6 4"/><text x="{frame.left + 4}" y="{y(ms) - 3:.1f}" '
                     f'font-size="10" fill="#b3261e">{esc(f"{name} {_ms_label(ms)}")}</text>')
    columns = max(int((frame.right - frame.left) // 2), 1)
    lows: dict[int, float] = {}
    highs: dict[int, float] = {}
    failures: dict[int, int] = {}
    for probe in probes:
        col = min(int((probe.t - frame.t0) / (frame.t1 - frame.t0) * columns), columns - 1)
        if probe.ok and probe.latency_ms is not None:
            lows[col] = min(lows.get(col, math.inf), probe.latency_ms)
            highs[col] = max(highs.get(col, -math.inf), probe.latency_ms)
        elif not probe.ok:
            failures[col] = failures.get(col, 0) + 1
    step = (frame.right - frame.left) / columns
    lines = []
    for col in sorted(lows):
        x = frame.left + (col + 0.5) * step
        y_low, y_high = y(lows[col]), y(highs[col])
        lines.append(f'<line x1="{x:.1f}" y1="{y_low + 1:.1f}" x2="{x:.1f}" y2="{min(y_high, y_low - 1):.1f}"/>')
    parts.append('<g class="latency" stroke="#1f4e99" stroke-width="2">' + "".join(lines) + "</g>")
    marks_failed = []
    for col, count in sorted(failures.items()):
        x = frame.left + col * step
        at = offset_label(frame.t0 + col / columns * (frame.t1 - frame.t0) - frame.origin, 1)
        marks_failed.append(f'<rect class="failed-probe" x="{x:.1f}" y="{frame.top}" width="{max(step, 2):.1f}" '
                            f'height="{FAIL_BAND - 2}" fill="#b3261e"><title>{esc(f"{count} failed probe(s) at {at}")}'
                            "</title></rect>")
    parts.append('<g class="failures">' + "".join(marks_failed) + "</g>")
    parts.append(f'<text x="{frame.left}" y="{frame.top - 6}" font-size="11" fill="#b3261e">failed probes</text>')
    parts += _marks(frame, marks)
    return _svg("health probe latency over time with fault windows", parts, "timeline")


def min_max_columns(frame: Frame, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points (time order) reduced to each pixel column's lowest and highest, in the order they came."""
    if len(points) <= 2 * (frame.right - frame.left):
        return list(points)
    xy = np.asarray(points, dtype=np.float64)
    span = frame.t1 - frame.t0
    column = ((np.clip(xy[:, 0], frame.t0, frame.t1) - frame.t0) / span * (frame.right - frame.left)).astype(np.int64)
    starts = np.flatnonzero(np.diff(column, prepend=-1))
    kept: list[int] = []
    for start, end in zip(starts.tolist(), [*starts[1:].tolist(), len(xy)], strict=True):
        values = xy[start:end, 1]
        low, high = start + int(values.argmin()), start + int(values.argmax())
        kept.extend(sorted({low, high}))
    return [(float(t), float(m)) for t, m in xy[kept]]


def _nice_ceiling(value: float) -> tuple[float, float]:
    """(axis top, tick step) for a linear axis that reaches `value`."""
    magnitude = 10 ** math.floor(math.log10(value)) if value > 0 else 1.0
    for factor in (1, 2, 5, 10):
        step = factor * magnitude / 5
        if value <= step * 5:
            return step * 5, step
    return 10 * magnitude, 2 * magnitude


def memory_chart(frame: Frame, series: Mapping[SeriesKey, Sequence[tuple[float, float]]], windows: Sequence[Window],
                 marks: Sequence[tuple[str, float]], colors: Mapping[str, str]) -> Markup:
    """RSS per service; each process lifetime is its own line, so a restart shows as a break, not a drop."""
    peak = max((m for points in series.values() for _, m in points), default=1.0)
    top_mb, step_mb = _nice_ceiling(peak * 1.05)

    def y(mb: float) -> float:
        return frame.bottom - min(max(mb / top_mb, 0.0), 1.0) * (frame.bottom - frame.top)

    parts = _time_axis(frame)
    tick = 0.0
    while tick <= top_mb + 1e-9:
        parts.append(f'<line x1="{frame.left}" y1="{y(tick):.1f}" x2="{frame.right}" y2="{y(tick):.1f}" stroke="#e6e9ee"/>'
                     f'<text x="{frame.left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">'
                     f"{esc(f'{tick:g} MB')}</text>")
        tick += step_mb
    parts += _window_rects(frame, windows, 0.10)
    for (service, lifetime), points in series.items():
        coords = " ".join(f"{frame.x(t):.1f},{y(m):.1f}" for t, m in min_max_columns(frame, points))
        parts.append(f'<polyline class="memory-line service-{css_token(service)}" fill="none" stroke-width="1.6" '
                     f'stroke="{colors.get(service, "#333")}" points="{coords}"><title>{esc(f"{service} lifetime {lifetime}")}'
                     "</title></polyline>")
    parts += _marks(frame, marks)
    return _svg("resident memory per service and process lifetime", parts, "memory")

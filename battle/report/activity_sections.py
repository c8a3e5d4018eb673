"""Run report sections about what happened during the run: health, memory, ops, events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.report.figures import (
    bot_summaries,
    docker_counts,
    event_counts,
    fault_windows,
    memory_series,
    memory_summaries,
    probe_phases,
)
from battle.report.htmlkit import Markup, css_token, esc, fmt_num, not_recorded, note, section, table, tag
from battle.report.loading import RunData
from battle.report.svg import (
    Frame,
    kind_color,
    kind_label,
    latency_timeline,
    make_frame,
    memory_chart,
    service_colors,
)


def _rel(data: RunData, t: float) -> str:
    return f"{t - data.origin:+.1f} s" if data.origin is not None else f"{t:.1f}"


def shared_frame(data: RunData) -> Frame:
    """One time axis for every chart of the run, so health and memory line up under each other."""
    times = [p.t for p in data.probes] + [m.t for m in data.memory] + [t for _, t in data.marks]
    for window in fault_windows(data.faults):
        times += [window.start] + ([window.end] if window.end is not None else [])
    return make_frame(times, data.origin)


def _thresholds(knobs: Mapping[str, Any]) -> dict[str, float]:
    found = {}
    for name in ("P95_MS", "P99_MS"):
        try:
            found[name] = float(knobs[name])
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _kind_legend(kinds: list[str]) -> Markup:
    items = "".join(f'<span><i class="swatch" style="background:{kind_color(k)}"></i>{esc(kind_label(k))}</span>'
                    for k in sorted(set(kinds)))
    return Markup(f'<p class="legend">fault windows: {items or esc("none applied")} '
                  '<span><i class="swatch" style="background:#b3261e"></i>failed probe</span></p>')


def health_section(data: RunData) -> Markup:
    if "health.csv" not in data.present:
        return section("Health probes", not_recorded("health probes", "no health.csv"), "health")
    if not data.probes:
        return section("Health probes", not_recorded("health probes", "health.csv has no readable rows"), "health")
    windows = fault_windows(data.faults)
    knobs = data.manifest.get("knobs")
    chart = latency_timeline(shared_frame(data), data.probes, windows, data.marks,
                             _thresholds(knobs if isinstance(knobs, dict) else {}))
    failed = sum(1 for p in data.probes if not p.ok)
    phases = probe_phases(data.probes)
    rows = [[p.phase, p.probes, p.failed, fmt_num(p.p50_ms), fmt_num(p.p95_ms), fmt_num(p.p99_ms), fmt_num(p.max_ms)]
            for p in phases]
    return section("Health probes", [
        note(f"{len(data.probes)} probes, {failed} failed; latency of successful probes on a log scale, "
             "time from soak start; fault windows shaded from applied to restored", class_="muted"),
        chart, _kind_legend([w.kind for w in windows]),
        table(["phase", "probes", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows,
              row_classes=[f"phase-{css_token(p.phase)}" + (" row-warn" if p.failed else "") for p in phases]),
    ], "health")


def memory_section(data: RunData) -> Markup:
    if "memory.csv" not in data.present:
        return section("Memory", not_recorded("memory samples", "no memory.csv"), "memory")
    series = memory_series(data.memory)
    if not series:
        return section("Memory", not_recorded("memory samples", "memory.csv has no readable rows"), "memory")
    colors = service_colors(service for service, _ in series)
    chart = memory_chart(shared_frame(data), series, fault_windows(data.faults), data.marks, colors)
    legend = "".join(f'<span><i class="swatch" style="background:{color}"></i>{esc(service)}</span>'
                     for service, color in colors.items())
    summaries = memory_summaries(series)
    rows = [[s.service, s.lifetime, s.samples, _rel(data, s.start), f"{s.span_s / 60:.1f}", fmt_num(s.first_mb),
             fmt_num(s.last_mb), fmt_num(s.max_mb), fmt_num(s.slope_mb_per_h, 2)] for s in summaries]
    return section("Memory", [
        chart, Markup(f'<p class="legend">{legend}</p>'),
        table(["service", "lifetime", "samples", "start", "minutes", "first MB", "last MB", "max MB",
               "slope MB/h (least squares)"], rows),
        note("the I2 judge decides on leaks with a confidence interval; the slope here is for reading only",
             class_="muted"),
    ], "memory")


def ops_section(data: RunData) -> Markup:
    if data.journals == 0:
        return section("Crew operations", not_recorded("op journals", "no journal-bot*.jsonl"), "ops")
    rows_data, total = bot_summaries(data.crew)

    def row(label: object, s: Any) -> list[object]:
        return [label, s.invokes, s.ok, s.fail, s.info, s.open, s.hot, fmt_num(s.p50_ms), fmt_num(s.p95_ms)]

    rows = [row(f"bot{s.bot}", s) for s in rows_data]
    classes = [f"bot-{s.bot}" for s in rows_data]
    if total is not None:
        rows.append(row(Markup(tag("strong", "all bots")), total))
        classes.append("bot-total")
    return section("Crew operations", [
        table(["bot", "invokes", "ok", "fail", "info", "no outcome", "hot", "p50 ms", "p95 ms"], rows,
              row_classes=classes, empty="the journals hold no readable ops"),
        note("ok = acknowledged, fail = definitely not applied, info = indeterminate; "
             "no outcome = an invoke the bot never answered", class_="muted"),
    ], "ops")


def events_section(data: RunData) -> Markup:
    if "events.jsonl" not in data.present:
        return section("Events", not_recorded("events", "no events.jsonl"), "events")
    tool_rows = [[name, count, _rel(data, first), _rel(data, last)]
                 for name, count, first, last in event_counts(data.tool_events)]
    docker_rows = [[service, action, count] for service, action, count in docker_counts(data.docker_events)]
    return section("Events", [
        tag("h3", "Tool events by name"),
        table(["event", "count", "first", "last"], tool_rows, empty="no tool events recorded"),
        tag("h3", "Docker events"),
        table(["service", "action", "count"], docker_rows, empty="no Docker events recorded"),
    ], "events")

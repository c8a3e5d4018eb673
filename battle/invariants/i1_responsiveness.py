"""I1 responsiveness: the tool answers its health probe quickly and without long gaps.

Judged: probes after the warm-up and outside the windows where the tool is down by
design (power cut, kill, pause, wipe of the tool, from the fault's application to
its restore plus a restart grace). Rule: p95 < P95_MS and p99 < P99_MS over the
successful judged probes; no gap between successful probes longer than MAX_GAP_S
unless the gap overlaps a down-by-design window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from battle.evidence import TOOL_DOWN_KINDS, Evidence, Probe

from .base import InvariantSpec, Result, knob, register
from .stats import distribution, percentile

PHASES = ("calm", "fault", "recovery", "judging")
_MAX_LISTED = 20  # keep verdict.json readable on a run full of gaps


def _down_windows(evidence: Evidence, grace_s: float) -> list[dict[str, Any]]:
    windows = []
    for f in evidence.faults:
        if f.kind in TOOL_DOWN_KINDS and f.target == "tool" and f.applied_at is not None:
            # Never restored: the tool stays down by design until the end of the run.
            end = math.inf if f.restored_at is None else f.restored_at + grace_s
            windows.append({"fault": f.fault, "kind": f.kind, "start": f.applied_at, "end": end})
    return windows


def _inside(t: float, windows: list[dict[str, Any]]) -> bool:
    return any(w["start"] <= t <= w["end"] for w in windows)


def _overlaps(a: float, b: float, windows: list[dict[str, Any]]) -> bool:
    return any(a < w["end"] and b > w["start"] for w in windows)


def _success(p: Probe) -> bool:
    return p.ok and p.latency_ms is not None


def _latencies(probes: list[Probe], phase: str | None = None) -> list[float]:
    return [p.latency_ms for p in probes
            if p.ok and p.latency_ms is not None and (phase is None or p.phase == phase)]


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    warmup_s = knob(limits, "WARMUP_S", SPEC.id)
    p95_ms = knob(limits, "P95_MS", SPEC.id)
    p99_ms = knob(limits, "P99_MS", SPEC.id)
    max_gap_s = knob(limits, "MAX_GAP_S", SPEC.id)
    grace_s = knob(limits, "RESTART_GRACE_S", SPEC.id)

    warm_end = evidence.started_at + warmup_s
    windows = _down_windows(evidence, grace_s)
    after_warmup = sorted(
        (p for p in evidence.probes if p.t >= warm_end and p.phase != "warmup"), key=lambda p: p.t
    )
    judged = [p for p in after_warmup if not _inside(p.t, windows)]
    excluded_windows = [
        {**w, "end": None if w["end"] == math.inf else round(w["end"], 3)} for w in windows
    ]
    if not judged:
        return SPEC.result(
            "inconclusive", 0,
            f"no health probe to judge after the {warmup_s:g} s warm-up and outside "
            f"{len(windows)} down-by-design window(s) ({len(evidence.probes)} probes in all)",
            excluded_windows=excluded_windows,
        )

    latencies = _latencies(judged)
    phases = {
        phase: {
            **distribution(_latencies(judged, phase)),
            "probes": sum(1 for p in judged if p.phase == phase),
            "failed": sum(1 for p in judged if p.phase == phase and not _success(p)),
        }
        for phase in PHASES
    }

    # Gaps run between successful probes; the first and last probe after warm-up
    # are anchors too, so a tool that stops answering for good still shows a gap.
    anchors = [after_warmup[0].t] + [p.t for p in after_warmup if _success(p)] + [after_warmup[-1].t]
    gaps: list[dict[str, float]] = []
    excused: list[dict[str, float]] = []
    for a, b in zip(anchors, anchors[1:], strict=False):
        if b - a > max_gap_s:
            gap = {"from": round(a, 3), "to": round(b, 3), "seconds": round(b - a, 3)}
            (excused if _overlaps(a, b, windows) else gaps).append(gap)

    p95 = percentile(latencies, 95)
    p99 = percentile(latencies, 99)
    details = {
        "judged_probes": len(judged),
        "successful": len(latencies),
        "p95_ms": None if p95 is None else round(p95, 3),
        "p99_ms": None if p99 is None else round(p99, 3),
        "phases": phases,
        "gaps": gaps[:_MAX_LISTED],
        "gap_count": len(gaps),
        "longest_gap_s": max((g["seconds"] for g in gaps), default=None),
        "excused_gaps": excused[:_MAX_LISTED],
        "excluded_windows": excluded_windows,
    }

    problems = []
    if not latencies:
        problems.append(f"none of {len(judged)} judged health probes succeeded")
    if p95 is not None and p95 >= p95_ms:
        problems.append(f"p95 {p95:.0f} ms ≥ {p95_ms:g} ms")
    if p99 is not None and p99 >= p99_ms:
        problems.append(f"p99 {p99:.0f} ms ≥ {p99_ms:g} ms")
    if gaps:
        worst = max(gaps, key=lambda g: g["seconds"])
        problems.append(
            f"{len(gaps)} gap(s) between successful probes > {max_gap_s:g} s outside fault windows "
            f"(longest {worst['seconds']:.1f} s at t={worst['from']:.0f})"
        )
    if problems:
        return SPEC.result("fail", len(judged), "; ".join(problems), **details)
    return SPEC.result(
        "pass", len(judged),
        f"{len(judged)} probes: p95 {p95:.0f} ms, p99 {p99:.0f} ms, no gap > {max_gap_s:g} s "
        f"outside {len(windows)} fault window(s)",
        **details,
    )


SPEC = register(InvariantSpec(
    id="I1",
    name="responsiveness",
    default_role="gate",
    knobs=("WARMUP_S", "P95_MS", "P99_MS", "MAX_GAP_S", "RESTART_GRACE_S"),
    judge=judge,
))

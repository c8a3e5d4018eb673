"""I1 responsiveness: the tool answers its health probe quickly and without long gaps.

Judged: probes after the warm-up and outside the planned outages of the tool. A planned outage is
a fault whose kind declares the tool `down` (battle.chaos.kinds: power cut, kill, freeze, wipe,
graceful restart, ...): from its application to its declared end (the restore, or apply +
duration if later) plus RESTART_GRACE_S. Rule: p95 < P95_MS and p99 < P99_MS over the successful
judged probes; no gap between successful probes longer than MAX_GAP_S once the planned outages
are taken out of it: a gap is excused only for the part a planned outage covers, the part that
runs past it is a gap, and a tool that never answers again after a fault fails, naming the fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Any

import numpy as np

from battle.evidence import Evidence, Probe

from .base import InvariantSpec, Result, knob, register
from .stats import distribution, percentile

PROBED = "tool"  # the service the health probe asks
PHASES = ("calm", "fault", "recovery", "judging")
_MAX_LISTED = 20  # keep verdict.json readable on a run full of gaps


def _down_windows(evidence: Evidence, grace_s: float) -> list[dict[str, Any]]:
    windows = []
    for f in evidence.faults:
        if f.target == PROBED and f.effects.down and f.applied_at is not None:
            end = f.declared_end()
            windows.append({"fault": f.fault, "kind": f.kind, "start": f.applied_at,
                            "end": (f.applied_at if end is None else end) + grace_s})
    return sorted(windows, key=lambda w: w["start"])


def _inside(t: float, windows: list[dict[str, Any]]) -> bool:
    return any(w["start"] <= t <= w["end"] for w in windows)


def _uncovered(a: float, b: float, windows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """The parts of [a, b] that no planned outage covers."""
    parts, cursor = [], a
    for w in windows:  # sorted by start
        if w["end"] <= cursor or w["start"] >= b:
            continue
        if w["start"] > cursor:
            parts.append((cursor, w["start"]))
        cursor = max(cursor, w["end"])
        if cursor >= b:
            break
    if cursor < b:
        parts.append((cursor, b))
    return parts


def _overrun(a: float, b: float, windows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last planned outage that ends inside [a, b]: the one a gap outlasted."""
    ended = [w for w in windows if a <= w["end"] < b and w["start"] < b]
    return ended[-1] if ended else None


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
        (p for p in evidence.probes if p.t >= warm_end and p.phase != "warmup"), key=attrgetter("t")
    )
    judged = [p for p in after_warmup if not _inside(p.t, windows)]
    excluded_windows = [{**w, "start": round(w["start"], 3), "end": round(w["end"], 3)} for w in windows]
    if not judged:
        return SPEC.result(
            "inconclusive", 0,
            f"no health probe to judge after the {warmup_s:g} s warm-up and outside "
            f"{len(windows)} planned outage(s) ({len(evidence.probes)} probes in all)",
            excluded_windows=excluded_windows,
        )

    latencies = _latencies(judged)
    groups: dict[str, tuple[list[float], list[int]]] = {phase: ([], [0, 0]) for phase in PHASES}
    for p in judged:  # one pass over a night's probes: per phase the latencies, the probes and the failed
        group = groups.get(p.phase)
        if group is not None:
            group[1][0] += 1
            if _success(p):
                group[0].append(p.latency_ms)  # type: ignore[arg-type]
            else:
                group[1][1] += 1
    phases = {phase: {**distribution(found), "probes": counts[0], "failed": counts[1]}
              for phase, (found, counts) in groups.items()}

    # Gaps run between successful probes; the first and last probe after warm-up
    # are anchors too, so a tool that stops answering for good still shows a gap.
    anchors = [after_warmup[0].t] + [p.t for p in after_warmup if _success(p)] + [after_warmup[-1].t]
    last_success = max((p.t for p in after_warmup if _success(p)), default=None)
    gaps: list[dict[str, Any]] = []
    excused: list[dict[str, Any]] = []
    wide = np.flatnonzero(np.diff(np.asarray(anchors, dtype=np.float64)) > max_gap_s).tolist()
    for a, b in ((anchors[i], anchors[i + 1]) for i in wide):  # (numpy finds the few wide ones of a night's)
        if b - a <= max_gap_s:
            continue
        uncovered = _uncovered(a, b, windows)
        longest = max((y - x for x, y in uncovered), default=0.0)
        gap: dict[str, Any] = {"from": round(a, 3), "to": round(b, 3), "seconds": round(b - a, 3),
                               "unexcused_s": round(longest, 3)}
        if longest <= max_gap_s:
            excused.append(gap)
            continue
        overran = _overrun(a, b, windows)
        if overran is not None:
            gap["after_fault"] = overran["fault"]
            gap["after_kind"] = overran["kind"]
        gap["never_answered_again"] = last_success is None or last_success <= a
        gaps.append(gap)

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
        worst = max(gaps, key=lambda g: g["unexcused_s"])
        where = (f" at +{worst['from'] - evidence.started_at:.0f} s"
                 + (f", {worst['unexcused_s']:.0f} s past the planned outage of {worst['after_fault']} "
                    f"({worst['after_kind']}) and its {grace_s:g} s grace" if "after_fault" in worst else ""))
        if worst["never_answered_again"]:
            problems.append(f"the tool never answered again{where}")
        problems.append(
            f"{len(gaps)} gap(s) between successful probes > {max_gap_s:g} s outside planned outages "
            f"(longest {worst['unexcused_s']:.1f} s{where})"
        )
    if problems:
        return SPEC.result("fail", len(judged), "; ".join(problems), **details)
    return SPEC.result(
        "pass", len(judged),
        f"{len(judged)} probes: p95 {p95:.0f} ms, p99 {p99:.0f} ms, no gap > {max_gap_s:g} s "
        f"outside {len(windows)} planned outage(s)",
        **details,
    )


SPEC = register(InvariantSpec(
    id="I1",
    name="responsiveness",
    default_role="gate",
    knobs=("WARMUP_S", "P95_MS", "P99_MS", "MAX_GAP_S", "RESTART_GRACE_S"),
    judge=judge,
    artifacts=("health.csv", "plan.json", "injected.jsonl"),
))

"""I3 restore after download: the tool writes its VFD flags back after every PLC program download.

A "download" here is any applied fault whose kind declares that it resets the PLC's tags
(battle.chaos.kinds: a program download, a power cut or a graceful restart of the simulator).
For each: the harness's own CIP read-back saw every
expected flag back on the PLC within RESTORE_MAX_S of the simulator's return, and
the tool logged `plc_restored` with `written > 0` after the download (and before
the next one, so one restore cannot vouch for two downloads).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from battle.adapters.events import BattleEvent
from battle.evidence import Evidence

from .base import InvariantSpec, Result, knob, register

_MAX_TAGS_LISTED = 10


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    restore_max_s = knob(limits, "RESTORE_MAX_S", SPEC.id)

    downloads = sorted(
        ((f.applied_at, f) for f in evidence.faults if f.effects.resets_tags and f.applied_at is not None),
        key=lambda pair: pair[0],
    )
    planned = sum(1 for f in evidence.faults if f.effects.resets_tags)
    if not downloads:
        return SPEC.result(
            "inconclusive", 0,
            f"no fault that resets the PLC's tags was applied ({planned} planned): nothing to judge; "
            "is the download storm interval shorter than the soak?",
        )

    readbacks = {r.fault: r for r in evidence.plc_readbacks}
    restores = [e for e in evidence.events if e.event == BattleEvent.PLC_RESTORED]
    checks, failures, unseen = [], [], []
    for i, (applied_at, f) in enumerate(downloads):
        next_at = downloads[i + 1][0] if i + 1 < len(downloads) else math.inf
        written = [int(e.fields.get("written") or 0) for e in restores if applied_at < e.t < next_at]
        rb = readbacks.get(f.fault)
        check: dict[str, Any] = {
            "fault": f.fault,
            "applied_at": applied_at,
            "restore_events": len(written),
            "written": max(written, default=None),
            "restore_s": None,
            "mismatched": [],
        }
        problems = []  # each one alone makes this download fail
        if rb is None:
            unseen.append(f.fault)  # the harness did not look: no evidence either way
        else:
            check["mismatched"] = list(rb.mismatched)
            if rb.flags_ok_at is None:
                shown = ", ".join(rb.mismatched[:_MAX_TAGS_LISTED]) or "tags not named"
                more = len(rb.mismatched) - _MAX_TAGS_LISTED
                problems.append(f"flags never came back on the PLC: {shown}" + (f" (+{more} more)" if more > 0 else ""))
            else:
                took = rb.flags_ok_at - rb.returned_at
                check["restore_s"] = round(took, 3)
                if took > restore_max_s:
                    problems.append(f"flags back after {took:.1f} s > {restore_max_s:g} s")
        if not written:
            problems.append(f"the tool logged no {BattleEvent.PLC_RESTORED} after it")
        elif max(written) <= 0:
            problems.append(f"the tool's {BattleEvent.PLC_RESTORED} wrote {max(written)} flags")
        check["problems"] = problems
        checks.append(check)
        if problems:
            failures.append(f"{f.fault}: " + "; ".join(problems))

    details = {"downloads": checks, "planned": planned}
    n = len(downloads)
    if failures:
        return SPEC.result(
            "fail", n, f"{len(failures)} of {n} download(s) not restored: " + " | ".join(failures[:3]), **details
        )
    if unseen:
        return SPEC.result(
            "inconclusive", n,
            f"the harness took no PLC read-back after download(s) {', '.join(unseen)}: cannot confirm the flags",
            **details,
        )
    worst = max(c["restore_s"] for c in checks)
    return SPEC.result(
        "pass", n, f"{n} download(s) restored; slowest flags back after {worst:.1f} s (limit {restore_max_s:g} s)",
        **details,
    )


SPEC = register(InvariantSpec(
    id="I3",
    name="restore after download",
    default_role="report",
    knobs=("RESTORE_MAX_S",),
    judge=judge,
    artifacts=("plan.json", "injected.jsonl", "plc-readback.jsonl", "events.jsonl"),
))

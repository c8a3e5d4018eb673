"""I4 no data loss: what the field wrote survives in the tool.

Per single-writer target (see targets.py): the local result equals the last
acknowledged write, or the value of an indeterminate (`info`) write after it;
`Cleared` and NULL are equal; a NULL where a value was written is a wipe. Any
`sync.parked` / `sync.dropped` event whose kind is not `business` is a silent
drop, whatever its target. A target whose last acknowledged write came less than
WIPE_LOSS_WINDOW_S before an applied wipe of the tool (the tool could not have
pushed it yet) is excused and listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from battle.evidence import Evidence

from .base import InvariantSpec, Result, knob, register
from .targets import norm_result, single_writer_targets

DROP_EVENTS = ("sync.parked", "sync.dropped")
_MAX_LISTED = 50


def silent_drops(evidence: Evidence) -> list[dict[str, Any]]:
    """Tool events that parked or dropped a row for a reason other than a business rule."""
    return [
        {"ioId": e.fields.get("ioId"), "event": e.event, "kind": e.fields.get("kind"),
         "reason": e.fields.get("reason"), "t": e.t}
        for e in evidence.events
        if e.event in DROP_EVENTS and e.fields.get("kind") != "business"
    ]


def _wipe_excuse(t_ok: float, evidence: Evidence, window_s: float) -> str | None:
    for f in evidence.faults:
        if f.kind == "wipe" and f.target == "tool" and f.applied_at is not None:
            end = math.inf if f.restored_at is None else f.restored_at
            if f.applied_at - window_s < t_ok <= end:
                return f.fault
    return None


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    window_s = knob(limits, "WIPE_LOSS_WINDOW_S", SPEC.id)

    targets = single_writer_targets(evidence.ops)
    mismatches, excused = [], []
    for target, history in sorted(targets.judged.items()):
        last = history.last_ok
        assert last is not None  # judged targets always have one
        accepted = history.accepted_results()
        row = evidence.local.get(target)
        local = None if row is None else norm_result(row.get("result"))
        if row is not None and local in accepted:
            continue
        expected = norm_result(last.value.get("result"))
        entry = {
            "ioId": target,
            "expected": expected,
            "accepted": sorted(accepted, key=lambda v: (v is None, v or "")),
            "local": local,
            "bot": history.bot,
            "op": last.op,
            "kind": "missing" if row is None else ("wipe" if local is None else "mismatch"),
        }
        wipe = _wipe_excuse(last.t, evidence, window_s)
        if wipe is not None:
            excused.append({**entry, "wipe": wipe})
        else:
            mismatches.append(entry)

    drops = silent_drops(evidence)
    judged = len(targets.judged) - len(excused)
    details = {
        "judged_targets": judged,
        "mismatches": mismatches[:_MAX_LISTED],
        "mismatch_count": len(mismatches),
        "silent_drops": drops[:_MAX_LISTED],
        "silent_drop_count": len(drops),
        "excused_by_wipe": excused[:_MAX_LISTED],
        "hot_targets": len(targets.hot),
        "never_acknowledged": len(targets.never_ok),
        "multi_writer": [{"ioId": t, "bots": list(b)} for t, b in sorted(targets.multi_writer.items())][:_MAX_LISTED],
    }

    problems = []
    if mismatches:
        first = mismatches[0]
        problems.append(
            f"{len(mismatches)} of {len(targets.judged)} targets lost their last write "
            f"(first: IO {first['ioId']} {first['kind']}: expected {first['expected']}, local {first['local']}, "
            f"bot {first['bot']} op {first['op']})"
        )
    if drops:
        shown = ", ".join(f"IO {d['ioId']} {d['event']} {d['reason']!s}" for d in drops[:3])
        problems.append(f"{len(drops)} silent drop(s)/park(s) with a non-business reason: {shown}")
    if problems:
        return SPEC.result("fail", judged, "; ".join(problems), **details)
    if judged == 0:
        return SPEC.result(
            "inconclusive", 0,
            f"no single-writer target to judge ({len(targets.hot)} hot, {len(targets.multi_writer)} multi-writer, "
            f"{len(targets.never_ok)} never acknowledged, {len(excused)} excused by a wipe)",
            **details,
        )
    return SPEC.result(
        "pass", judged,
        f"{judged} single-writer targets hold their last written value; no silent drop"
        + (f"; {len(excused)} excused by a wipe" if excused else ""),
        **details,
    )


SPEC = register(InvariantSpec(
    id="I4",
    name="no data loss",
    default_role="gate",
    knobs=("WIPE_LOSS_WINDOW_S",),
    judge=judge,
))

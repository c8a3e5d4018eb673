"""I4 no data loss: what the field wrote survives in the tool, result *and* comments.

Per single-writer target (see targets.py): the local row equals the whole last acknowledged
write (result and comments), or an indeterminate (`info`) write after it; `Cleared` and NULL
are equal, and so are a NULL and an empty comment. A comment the cloud side edited after the
write (a mutation journaled by the harness) is accepted too. A NULL where a value was written is
a wipe. Any `record_parked` / `record_dropped` event whose kind is not `business` is a silent drop,
whatever its target.

Planned wipes are judged from evidence, not from a time window: a write acknowledged before an
applied fault that declares the tool `loses_data` may be lost only if the artifacts show it never
reached the cloud (no `records_pushed` event applied it, and the cloud's snapshot does not hold it);
a write that had reached the cloud must come back through the pull, or it is a loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.adapters.events import BattleEvent
from battle.evidence import Evidence, Fault, TargetWrites

from .base import InvariantSpec, Result, register
from .synced import reached_cloud
from .targets import Write, norm_comments, norm_write, show_write

TOOL = "tool"
DROP_EVENTS = (BattleEvent.RECORD_PARKED, BattleEvent.RECORD_DROPPED)
_MAX_LISTED = 50


def silent_drops(evidence: Evidence) -> list[dict[str, Any]]:
    """Tool events that parked or dropped a row for a reason other than a business rule."""
    return [
        {"ioId": e.fields.get("ioId"), "event": e.event, "kind": e.fields.get("kind"),
         "reason": e.fields.get("reason"), "t": e.t}
        for e in evidence.events
        if e.event in DROP_EVENTS and e.fields.get("kind") != "business"
    ]


def _invoked_at(last: TargetWrites) -> float:
    """When the last acknowledged request went out: its completion time minus its latency (the journal has
    both)."""
    return last.t - (last.latency_ms or 0.0) / 1000.0


def _wipe_after(t: float, wipes: list[Fault]) -> Fault | None:
    return next((f for f in wipes if f.applied_at is not None and f.applied_at >= t), None)


def _cloud_comment_edits(evidence: Evidence) -> dict[int, list[tuple[float, str]]]:
    """ioId -> [(time, comment)] of cloud-side edits of the comment (acknowledged or indeterminate)."""
    edits: dict[int, list[tuple[float, str]]] = {}
    for m in evidence.mutations:
        if m.io_id is not None and m.type in ("ok", "info") and "comments" in m.fields:
            edits.setdefault(m.io_id, []).append((m.t, norm_comments(m.fields["comments"])))
    return edits


def _accepted(history: TargetWrites, since: float, comment_edits: list[tuple[float, str]]) -> set[Write]:
    accepted = history.accepted_writes()
    later = {comment for t, comment in comment_edits if t >= since}
    return accepted | {(result, comment) for result, _ in accepted for comment in later}


def _differs_in(local: Write | None, accepted: set[Write]) -> str:
    if local is None:
        return "row"
    return "comments" if local[0] in {result for result, _ in accepted} else "result"


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    targets = evidence.journal.targets
    wipes = sorted((f for f in evidence.faults if f.target == TOOL and f.effects.loses_data and f.applied_at),
                   key=lambda f: f.applied_at or 0.0)
    applied = evidence.applied if wipes else {}
    comment_edits = _cloud_comment_edits(evidence)
    local_rows = evidence.local
    mismatches, excused, unproven = [], [], []
    for target in sorted(targets.judged):
        history = targets.judged[target]
        edits = comment_edits.get(target)
        row = local_rows.get(target)
        if not edits and isinstance(row, dict) and (row.get("result"), row.get("comments")) == history.write:
            continue  # the usual case, before normalising the row (a normal write is its own normal form)
        local = None if row is None else norm_write(row)
        if not edits and local is not None and (local == history.write or local in history.later_info):
            continue  # (the usual case, without building the accepted set)
        since = _invoked_at(history)
        accepted = _accepted(history, since, edits or [])
        if local is not None and local in accepted:
            continue
        field = _differs_in(local, accepted)
        entry: dict[str, Any] = {
            "ioId": target,
            "field": field,
            "expected": show_write(history.write),
            "accepted": [show_write(w) for w in sorted(accepted, key=lambda w: (w[0] is None, w[0] or "", w[1]))],
            "local": show_write(local),
            "bot": history.bot,
            "op": history.op,
            "kind": "missing" if row is None else ("wipe" if local is not None and local[0] is None
                                                   and field == "result" else "mismatch"),
        }
        wipe = _wipe_after(since, wipes)
        if wipe is None:
            mismatches.append(entry)
            continue
        entry["wipe"] = wipe.fault
        if evidence.cloud is None and not applied:
            unproven.append(entry)  # nothing tells whether it had reached the cloud before the wipe
            continue
        reached = reached_cloud(target, accepted, since, applied, evidence.cloud)
        if reached is None:
            excused.append({**entry, "why": "never reached the cloud before the wipe"})
        else:
            mismatches.append({**entry, "kind": "not pulled back after wipe", "reached_cloud": reached})

    drops = silent_drops(evidence)
    judged = len(targets.judged) - len(excused) - len(unproven)
    details = {
        "judged_targets": judged,
        "mismatches": mismatches[:_MAX_LISTED],
        "mismatch_count": len(mismatches),
        "silent_drops": drops[:_MAX_LISTED],
        "silent_drop_count": len(drops),
        "excused_by_wipe": excused[:_MAX_LISTED],
        "unproven_wipe_losses": unproven[:_MAX_LISTED],
        "hot_targets": len(targets.hot),
        "never_acknowledged": len(targets.never_ok),
        "multi_writer": [{"ioId": t, "bots": list(b)} for t, b in sorted(targets.multi_writer.items())][:_MAX_LISTED],
    }

    problems = []
    if mismatches:
        first = mismatches[0]
        problems.append(
            f"{len(mismatches)} of {len(targets.judged)} targets lost their last write "
            f"(first: IO {first['ioId']} {first['field']} {first['kind']}: expected {_show(first['expected'])}, "
            f"local {_show(first['local'])}, bot {first['bot']} op {first['op']}"
            + (f"; {first['reached_cloud']}" if "reached_cloud" in first else "") + ")"
        )
    if drops:
        shown = ", ".join(f"IO {d['ioId']} {d['event']} {d['reason']!s}" for d in drops[:3])
        problems.append(f"{len(drops)} silent drop(s)/park(s) with a non-business reason: {shown}")
    if problems:
        return SPEC.result("fail", judged, "; ".join(problems), **details)
    if unproven:
        return SPEC.result(
            "inconclusive", judged,
            f"{len(unproven)} target(s) lost in a planned wipe, and neither the cloud's snapshot nor the tool's "
            f"sync events can show whether they had reached the cloud (first: IO {unproven[0]['ioId']})",
            **details,
        )
    if judged == 0:
        return SPEC.result(
            "inconclusive", 0,
            f"no single-writer target to judge ({len(targets.hot)} hot, {len(targets.multi_writer)} multi-writer, "
            f"{len(targets.never_ok)} never acknowledged, {len(excused)} excused by a wipe)",
            **details,
        )
    return SPEC.result(
        "pass", judged,
        f"{judged} single-writer targets hold their last written result and comments; no silent drop"
        + (f"; {len(excused)} lost in a wipe before they reached the cloud" if excused else ""),
        **details,
    )


def _show(write: dict[str, Any] | None) -> str:
    if write is None:
        return "nothing"
    return f"{write['result']!s}/{write['comments']!r}"


SPEC = register(InvariantSpec(
    id="I4",
    name="no data loss",
    default_role="gate",
    knobs=(),
    judge=judge,
    artifacts=("journal-bot*.jsonl", "snapshot-local.json", "snapshot-cloud.json", "events.jsonl", "plan.json",
               "injected.jsonl", "mutations.jsonl"),
))

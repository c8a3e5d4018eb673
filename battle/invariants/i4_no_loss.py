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
from dataclasses import dataclass, field
from typing import Any

from battle.adapters.events import RECORD_KIND_FIELD, BattleEvent
from battle.evidence import Evidence, Fault, TargetWrites, WrittenTargets

from .base import InvariantSpec, Result, register
from .kinds import judged_kinds, kind_label, record_kind_of, record_label
from .synced import reached_cloud
from .targets import Write, norm_comments, norm_write, show_write

TOOL = "tool"
DROP_EVENTS = (BattleEvent.RECORD_PARKED, BattleEvent.RECORD_DROPPED)
_MAX_LISTED = 50


def silent_drops(evidence: Evidence, kind: str | None = None) -> list[dict[str, Any]]:
    """Tool events that parked or dropped a row for a reason other than a business rule (of one record
    kind when `kind` is given; an event naming no kind is of the run's first)."""
    return [
        {"ioId": e.fields.get("ioId"), "event": e.event, "kind": e.fields.get("kind"),
         "reason": e.fields.get("reason"), "t": e.t,
         **({} if record_kind_of(e, evidence) == evidence.record_kinds[0]
            else {RECORD_KIND_FIELD: record_kind_of(e, evidence)})}
        for e in evidence.events
        if e.event in DROP_EVENTS and e.fields.get("kind") != "business"
        and (kind is None or record_kind_of(e, evidence) == kind)
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


@dataclass
class _KindFindings:
    """One record kind judged: its targets' losses, those a wipe excuses, and its silent drops."""

    kind: str
    targets: WrittenTargets
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    excused: list[dict[str, Any]] = field(default_factory=list)
    unproven: list[dict[str, Any]] = field(default_factory=list)
    drops: list[dict[str, Any]] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return len(self.targets.judged) - len(self.excused) - len(self.unproven)

    def counts(self) -> dict[str, int]:
        return {"judged_targets": self.judged, "mismatch_count": len(self.mismatches),
                "silent_drop_count": len(self.drops), "excused_by_wipe": len(self.excused),
                "unproven_wipe_losses": len(self.unproven)}


def _judge_kind(evidence: Evidence, kind: str, wipes: list[Fault]) -> _KindFindings:
    first = kind == evidence.record_kinds[0]
    found = _KindFindings(kind, evidence.targets_of(kind), drops=silent_drops(evidence, kind))
    # The cloud's applied writes and the mutator's comment edits are of the first kind (the IO) only.
    applied = evidence.applied if wipes and first else {}
    comment_edits = _cloud_comment_edits(evidence) if first else {}
    local_rows, cloud = evidence.local_of(kind), evidence.cloud_of(kind)
    tag = {} if first else {RECORD_KIND_FIELD: kind}
    targets = found.targets
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
        field_name = _differs_in(local, accepted)
        entry: dict[str, Any] = {
            "ioId": target,
            "field": field_name,
            "expected": show_write(history.write),
            "accepted": [show_write(w) for w in sorted(accepted, key=lambda w: (w[0] is None, w[0] or "", w[1]))],
            "local": show_write(local),
            "bot": history.bot,
            "op": history.op,
            "kind": "missing" if row is None else ("wipe" if local is not None and local[0] is None
                                                   and field_name == "result" else "mismatch"),
            **tag,
        }
        wipe = _wipe_after(since, wipes)
        if wipe is None:
            found.mismatches.append(entry)
            continue
        entry["wipe"] = wipe.fault
        if cloud is None and not applied:
            found.unproven.append(entry)  # nothing tells whether it had reached the cloud before the wipe
            continue
        reached = reached_cloud(target, accepted, since, applied, cloud)
        if reached is None:
            found.excused.append({**entry, "why": "never reached the cloud before the wipe"})
        else:
            found.mismatches.append({**entry, "kind": "not pulled back after wipe", "reached_cloud": reached})
    return found


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    wipes = sorted((f for f in evidence.faults if f.target == TOOL and f.effects.loses_data and f.applied_at),
                   key=lambda f: f.applied_at or 0.0)
    kinds = judged_kinds(evidence)
    per_kind = [_judge_kind(evidence, kind, wipes) for kind in kinds]
    several = len(kinds) > 1
    mismatches = [m for f in per_kind for m in f.mismatches]
    excused = [m for f in per_kind for m in f.excused]
    unproven = [m for f in per_kind for m in f.unproven]
    drops = [d for f in per_kind for d in f.drops]
    judged = sum(f.judged for f in per_kind)
    hot = sum(len(f.targets.hot) for f in per_kind)
    never_ok = sum(len(f.targets.never_ok) for f in per_kind)
    multi = [{"ioId": t, "bots": list(b), **({} if f.kind == kinds[0] else {RECORD_KIND_FIELD: f.kind})}
             for f in per_kind for t, b in sorted(f.targets.multi_writer.items())]
    details = {
        "judged_targets": judged,
        "mismatches": mismatches[:_MAX_LISTED],
        "mismatch_count": len(mismatches),
        "silent_drops": drops[:_MAX_LISTED],
        "silent_drop_count": len(drops),
        "excused_by_wipe": excused[:_MAX_LISTED],
        "unproven_wipe_losses": unproven[:_MAX_LISTED],
        "hot_targets": hot,
        "never_acknowledged": never_ok,
        "multi_writer": multi[:_MAX_LISTED],
        "perKind": {f.kind: f.counts() for f in per_kind},
    }

    problems = []
    for found in per_kind:
        if found.mismatches:
            first = found.mismatches[0]
            problems.append(
                f"{len(found.mismatches)} of {len(found.targets.judged)} {kind_label(found.kind, several)}targets "
                f"lost their last write (first: {record_label(found.kind, first['ioId'])} {first['field']} "
                f"{first['kind']}: expected {_show(first['expected'])}, "
                f"local {_show(first['local'])}, bot {first['bot']} op {first['op']}"
                + (f"; {first['reached_cloud']}" if "reached_cloud" in first else "") + ")"
            )
    if drops:
        shown = ", ".join(f"{record_label(d.get(RECORD_KIND_FIELD, kinds[0]), d['ioId'])} {d['event']} {d['reason']!s}"
                          for d in drops[:3])
        problems.append(f"{len(drops)} silent drop(s)/park(s) with a non-business reason: {shown}")
    if problems:
        return SPEC.result("fail", judged, "; ".join(problems), **details)
    if unproven:
        return SPEC.result(
            "inconclusive", judged,
            f"{len(unproven)} target(s) lost in a planned wipe, and neither the cloud's snapshot nor the tool's "
            f"sync events can show whether they had reached the cloud "
            f"(first: {record_label(unproven[0].get(RECORD_KIND_FIELD, kinds[0]), unproven[0]['ioId'])})",
            **details,
        )
    if judged == 0:
        return SPEC.result(
            "inconclusive", 0,
            f"no single-writer target to judge ({hot} hot, {sum(len(f.targets.multi_writer) for f in per_kind)} "
            f"multi-writer, {never_ok} never acknowledged, {len(excused)} excused by a wipe)",
            **details,
        )
    counted = "" if not several else " (" + ", ".join(f"{f.kind} {f.judged}" for f in per_kind) + ")"
    return SPEC.result(
        "pass", judged,
        f"{judged} single-writer targets{counted} hold their last written result and comments; no silent drop"
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

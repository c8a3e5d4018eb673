"""I6 convergence: field and cloud agree after the dust settles.

The tool's active queue drained within SETTLE_MAX_S and is empty; every judged
target (the single-writer set of I4) has the same result and comments locally and
in the cloud, unless the cloud rejected it for a business reason (a parked row of
kind `business`, reported with its reason). A parked row of any other kind
(e.g. reason "HTTP 429") is a loss and fails.

Tool and cloud agreeing is not enough when the tool gave up on a write: after
an outbox row is dropped (a `record_dropped` event of a non-business kind), the
pull is no longer held back and copies the cloud's older value over the
field's, so both sides agree on a value the technician replaced. Such a
target fails when the cloud does not hold the field's last acknowledged write, result and comments
(FINDINGS.md, gate self-test of `conflict_drop`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from battle.adapters.events import RECORD_KIND_FIELD, BattleEvent
from battle.evidence import Evidence

from .base import InvariantSpec, Result, knob, register
from .kinds import judged_kinds, kind_label, record_kind_of, record_label
from .targets import norm_comments, norm_result, show_write

_MAX_LISTED = 50


def _state(row: Mapping[str, Any] | None) -> tuple[str | None, str] | None:
    if row is None:
        return None
    return norm_result(row.get("result")), norm_comments(row.get("comments"))


def _same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two rows hold the same state (equal values first: the usual case, without normalising)."""
    if a is not None and b is not None and a.get("result") == b.get("result") and (
            a.get("comments") == b.get("comments")):
        return True
    return _state(a) == _state(b)


@dataclass
class _KindFindings:
    """One record kind compared: its targets that differ, were rejected for a business reason, or abandoned."""

    kind: str
    judged: int
    differences: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    abandoned: list[dict[str, Any]] = field(default_factory=list)
    unjudged_differences: int = 0
    unread: bool = False  # its cloud snapshot could not be read

    def counts(self) -> dict[str, Any]:
        return {"judged_targets": self.judged, "difference_count": len(self.differences),
                "abandoned": len(self.abandoned), "business_rejections": len(self.rejected),
                "cloud_read": not self.unread}


def _park_kind(row: Mapping[str, Any], first: str) -> str:
    kind = row.get(RECORD_KIND_FIELD)
    return kind if isinstance(kind, str) and kind else first


def _judge_kind(evidence: Evidence, kind: str, parked_rows: list[dict[str, Any]]) -> _KindFindings:
    targets = evidence.targets_of(kind)
    cloud = evidence.cloud_of(kind)
    found = _KindFindings(kind, len(targets.judged))
    if cloud is None:
        found.unread = True
        return found
    first = evidence.record_kinds[0]
    tag = {} if kind == first else {RECORD_KIND_FIELD: kind}
    business = {r.get("ioId"): r for r in parked_rows if r.get("kind") == "business" and _park_kind(r, first) == kind}
    dropped_ids = {int(e.fields["ioId"]) for e in evidence.events
                   if e.event == BattleEvent.RECORD_DROPPED and e.fields.get("kind") != "business"
                   and isinstance(e.fields.get("ioId"), int) and record_kind_of(e, evidence) == kind}
    for target in sorted(dropped_ids & set(targets.judged)):
        remote = _state(cloud.get(target))
        accepted = targets.judged[target].accepted_writes()
        if remote is None or remote not in accepted:
            found.abandoned.append({"ioId": target, "cloud": show_write(remote),
                                    "field": [show_write(w) for w in sorted(accepted, key=lambda w: (
                                        w[0] is None, w[0] or "", w[1]))], **tag})
    local_rows = evidence.local_of(kind)
    for target in sorted(targets.judged):
        local_row, cloud_row = local_rows.get(target), cloud.get(target)
        if local_row is not None and _same(local_row, cloud_row):
            continue
        local, remote = _state(local_row), _state(cloud_row)
        if local is not None and local == remote:
            continue
        entry = {
            "ioId": target,
            "local": None if local is None else {"result": local[0], "comments": local[1]},
            "cloud": None if remote is None else {"result": remote[0], "comments": remote[1]},
            **tag,
        }
        if target in business:
            found.rejected.append({**entry, "reason": business[target].get("reason")})
        else:
            found.differences.append(entry)
    # Not judged (hot, multi-writer, never written): counted so a reader sees the wider picture.
    other_ids = (local_rows.keys() & cloud.keys()) - targets.judged.keys()
    found.unjudged_differences = sum(1 for i in other_ids if not _same(local_rows.get(i), cloud.get(i)))
    return found


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    settle_max_s = knob(limits, "SETTLE_MAX_S", SPEC.id)

    if evidence.cloud is None:
        return SPEC.result("inconclusive", 0, "the cloud could not be read after settle: nothing to compare")
    queue = evidence.queue
    parked_rows = [] if queue is None else [dict(r) for r in queue.parked_rows]
    bad_parks = [r for r in parked_rows if r.get("kind") != "business"]
    kinds = judged_kinds(evidence)
    several = len(kinds) > 1
    per_kind = [_judge_kind(evidence, kind, parked_rows) for kind in kinds]
    differences = [d for f in per_kind for d in f.differences]
    rejected = [r for f in per_kind for r in f.rejected]
    abandoned = [a for f in per_kind for a in f.abandoned]
    judged = sum(f.judged for f in per_kind if not f.unread)
    details = {
        "judged_targets": judged,
        "settle_s": evidence.settle_s,
        "queue": None if queue is None else {"active": queue.active, "parked": queue.parked},
        "differences": differences[:_MAX_LISTED],
        "difference_count": len(differences),
        "business_rejections": rejected[:_MAX_LISTED],
        "non_business_parked": bad_parks[:_MAX_LISTED],
        "abandoned": abandoned[:_MAX_LISTED],
        "unjudged_differences": sum(f.unjudged_differences for f in per_kind),
        "perKind": {f.kind: f.counts() for f in per_kind},
    }

    first_kind = kinds[0]
    problems = []
    if queue is None:
        problems.append("the tool's sync queue could not be read after settle")
    elif queue.active > 0:
        problems.append(f"{queue.active} row(s) still active in the tool's queue")
    if evidence.settle_s is None:
        problems.append(f"the active queue never drained (waited up to {settle_max_s:g} s)")
    elif evidence.settle_s > settle_max_s:
        problems.append(f"the active queue took {evidence.settle_s:.0f} s to drain > {settle_max_s:g} s")
    if bad_parks:
        shown = ", ".join(f"{record_label(_park_kind(r, first_kind), r.get('ioId'))} {r.get('kind')} "
                          f"{r.get('reason')!s}" for r in bad_parks[:3])
        problems.append(f"{len(bad_parks)} row(s) parked for a non-business reason: {shown}")
    for found in per_kind:
        if found.unread:
            problems.append(f"the cloud's {found.kind} records could not be read after settle")
        if found.abandoned:
            a = found.abandoned[0]
            problems.append(
                f"{len(found.abandoned)} {kind_label(found.kind, several)}target(s) whose outbox row was dropped "
                f"never reached the cloud "
                f"(first: {record_label(found.kind, a['ioId'])} field {a['field']} cloud {a['cloud']!r})"
            )
    for found in per_kind:
        if found.differences:
            d = found.differences[0]
            problems.append(
                f"{len(found.differences)} of {found.judged if several else judged} "
                f"{kind_label(found.kind, several)}targets differ between tool and cloud "
                f"(first: {record_label(found.kind, d['ioId'])} local {d['local']} cloud {d['cloud']})"
            )
    if problems:
        return SPEC.result("fail", judged, "; ".join(problems), **details)
    if judged == 0:
        return SPEC.result("inconclusive", 0, "no single-writer target to compare", **details)
    counted = "" if not several else " (" + ", ".join(f"{f.kind} {f.judged}" for f in per_kind) + ")"
    return SPEC.result(
        "pass", judged,
        f"queue drained in {evidence.settle_s:.0f} s; {judged} targets{counted} equal in tool and cloud"
        + (f"; {len(rejected)} rejected by the cloud for a business reason" if rejected else ""),
        **details,
    )


SPEC = register(InvariantSpec(
    id="I6",
    name="convergence",
    default_role="gate",
    knobs=("SETTLE_MAX_S",),
    judge=judge,
    artifacts=("journal-bot*.jsonl", "snapshot-local.json", "snapshot-cloud.json", "snapshot-queue.json",
               "settle.json", "events.jsonl"),
))

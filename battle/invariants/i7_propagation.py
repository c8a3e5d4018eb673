"""I7 cloud→field propagation: cloud-side adds, edits and retirements reach the tool.

Every acknowledged mutation must be visible in the local snapshot after settle:
an added IO exists with its name and description, an edited field has the value
of the last acknowledged mutation of that field (or of a later indeterminate
one), a retired IO has isSpare = 1. Comments an admin edited may legitimately be
overwritten by a technician, so on IOs the crew also wrote, a comment a bot wrote
is accepted too. The observer waits up to PROPAGATION_MAX_S after settle before
the snapshot, so "missing" means "not there within PROPAGATION_MAX_S after
settle" (DESIGN.md section 7). Latency measured during the soak is reported,
with the edits slower than PROPAGATION_MAX_S listed, but does not gate: under
cloud cuts and a busy outbox it is long by design.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.evidence import Evidence

from .base import InvariantSpec, Result, knob, register
from .stats import distribution
from .targets import norm_comments

ACTIONS = ("add", "edit", "retire")
COMPARED_FIELDS = ("name", "description", "tagName", "comments", "isSpare")
_MAX_LISTED = 50


def _norm(field: str, value: Any) -> Any:
    if field == "isSpare":
        return int(value) if isinstance(value, str) and value.strip().isdigit() else int(bool(value))
    if field == "comments":
        return norm_comments(value)
    return None if value is None else str(value)


def _mutated_fields(action: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    wanted = {f: _norm(f, fields[f]) for f in COMPARED_FIELDS if f in fields}
    if action == "retire":
        wanted["isSpare"] = 1
    return wanted


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    max_s = knob(limits, "PROPAGATION_MAX_S", SPEC.id)

    # io -> field -> (accepted values, the op that set the expectation)
    expected: dict[int, dict[str, tuple[set[Any], int, str]]] = {}
    judged_ops = 0
    unjudgeable = []
    for m in evidence.mutations:  # journal append order
        if m.action not in ACTIONS or m.type == "fail":
            continue
        if m.io_id is None:
            if m.type == "ok":
                unjudgeable.append({"op": m.op, "action": m.action, "why": "no ioId in the journal"})
            continue
        fields = expected.setdefault(m.io_id, {})
        for name, value in _mutated_fields(m.action, m.fields).items():
            if m.type == "ok":
                fields[name] = ({value}, m.op, m.action)
            elif name in fields:  # an indeterminate later edit may have landed
                fields[name][0].add(value)
        if m.type == "ok":
            judged_ops += 1
    expected = {io: f for io, f in expected.items() if f}

    # (gathered for the IOs the mutator changed; its edits are of the first record kind alone)
    bot_comments = evidence.journal.comments.get(evidence.record_kinds[0], {})

    missing, wrong = [], []
    for io, fields in sorted(expected.items()):
        row = evidence.local.get(io)
        if row is None:
            first = min(op for _, op, _ in fields.values())
            missing.append({"ioId": io, "op": first})
            continue
        for name, (accepted, op, action) in sorted(fields.items()):
            if name == "comments":
                accepted = accepted | bot_comments.get(io, frozenset())
            local = _norm(name, row.get(name))
            if local not in accepted:
                wrong.append({"ioId": io, "field": name, "expected": sorted(map(str, accepted)),
                              "local": local, "op": op, "action": action})

    latency = list(evidence.propagation_s)
    latency_summary = distribution(latency)
    slow = [round(s, 3) for s in latency if s > max_s]
    details = {
        "ok_mutations": judged_ops,
        "ios": len(expected),
        "missing": missing[:_MAX_LISTED],
        "wrong_fields": wrong[:_MAX_LISTED],
        "unjudgeable": unjudgeable[:_MAX_LISTED],
        "latency_s": latency_summary,
        "slow": slow[:_MAX_LISTED],
    }

    problems = []
    if missing:
        problems.append(f"{len(missing)} IO(s) the cloud changed are missing locally "
                        f"(first IO {missing[0]['ioId']}, op {missing[0]['op']})")
    if wrong:
        w = wrong[0]
        problems.append(f"{len(wrong)} mutated field(s) never reached the tool (first IO {w['ioId']} "
                        f"{w['field']}: expected {w['expected']}, local {w['local']!r}, {w['action']} op {w['op']})")
    if problems:
        return SPEC.result("fail", judged_ops, "; ".join(problems), **details)
    if judged_ops == 0:
        return SPEC.result(
            "inconclusive", 0,
            f"no acknowledged cloud mutation to check ({len(evidence.mutations)} journaled); "
            "is the mutate profile on?",
            **details,
        )
    p95 = latency_summary["p95"]
    return SPEC.result(
        "pass", judged_ops,
        f"{judged_ops} cloud mutation(s) on {len(expected)} IO(s) present locally"
        + (f"; propagation p95 {p95:.1f} s" if p95 is not None else "; no propagation latency measured")
        + (f"; {len(slow)} slower than {max_s:g} s during the soak (max {max(slow):.1f} s)" if slow else ""),
        **details,
    )


SPEC = register(InvariantSpec(
    id="I7",
    name="cloud-to-field propagation",
    default_role="report",
    knobs=("PROPAGATION_MAX_S",),
    judge=judge,
    artifacts=("mutations.jsonl", "snapshot-local.json", "journal-bot*.jsonl"),
))

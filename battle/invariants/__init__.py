"""The judges: one pure module per invariant, registered by id; `judge_all` runs them.

Importing this package registers I1..I7. `judge_all` is the one supervisor place:
a judge that raises does not stop the others; its outcome records the exception
and the overall verdict becomes "error" (battle.verdict.overall).
"""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from battle.evidence import Evidence

from . import (  # noqa: F401  (importing registers each invariant)
    i1_responsiveness,
    i2_memory,
    i3_restore,
    i4_no_loss,
    i5_stability,
    i6_convergence,
    i7_propagation,
)
from .base import ROLES, InvariantSpec, JudgeError, Result, all_specs, get, register

__all__ = [
    "InvariantSpec", "JudgeError", "Outcome", "Result", "all_specs", "default_gates", "get",
    "judge_all", "knob_problems", "register",
]


@dataclass(frozen=True)
class Outcome:
    """An invariant's result as this run used it: gating or report-only, and any judge crash."""

    result: Result
    role: str  # gate | report
    error: str | None = None  # why this invariant could not be judged: a judge crash, or broken evidence

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise JudgeError(f"{self.result.id}: role {self.role!r} is not one of {ROLES}")

    @property
    def id(self) -> str:
        return self.result.id

    @property
    def status(self) -> str:
        """`error` when it could not be judged (never pass, never fail); else the judge's status."""
        return "error" if self.error else self.result.status

    @property
    def evidence(self) -> int:
        return self.result.evidence

    @property
    def title(self) -> str:
        return f"{self.result.id} {self.result.name}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "status": self.status, "role": self.role, "error": self.error}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        error = data.get("error")
        if data.get("status") == "error":  # the judge's own status was not kept: nothing was judged
            data = {**data, "status": "inconclusive"}
            error = error or "error"
        return cls(result=Result.from_dict(data), role=str(data["role"]), error=error)


def default_gates() -> set[str]:
    return {s.id for s in all_specs() if s.default_role == "gate"}


def knob_problems(limits: Mapping[str, Any]) -> dict[str, str]:
    """Knobs a registered judge reads that `limits` (the manifest's) lacks or holds as a non-number: knob -> why."""
    problems = {}
    for name in sorted({k for spec in all_specs() for k in spec.knobs}):
        if name not in limits:
            problems[name] = "missing"
            continue
        try:
            finite = math.isfinite(float(limits[name]))
        except (TypeError, ValueError):
            finite = False
        if not finite:
            problems[name] = f"{limits[name]!r:.40} is not a number"
    return problems


def judge_all(
    evidence: Evidence, limits: Mapping[str, Any], gates: Collection[str] | None = None,
    broken: Mapping[str, str] | None = None,
) -> list[Outcome]:
    """Run every registered judge; `gates` (ids) decide the verdict, the rest are report-only.

    `broken` maps artifacts that cannot be trusted (missing, altered, truncated, a symlink, of an
    unknown schema) to why; an invariant that depends on one is an error naming it, never judged. So is one
    whose knobs the limits (manifest.json's) lack or hold as a non-number."""
    gate_ids = default_gates() if gates is None else set(gates)
    for gate in gate_ids:
        get(gate)  # an unknown gate is a configuration mistake: raise before judging anything
    broken = {**evidence.broken, **(broken or {})}
    bad_knobs = knob_problems(limits)
    outcomes = []
    for spec in all_specs():
        role = "gate" if spec.id in gate_ids else "report"
        unusable = {name: broken[name] for name in sorted(broken) if spec.depends_on(name)}
        lacking = [k for k in spec.knobs if k in bad_knobs]
        if lacking:
            unusable["manifest.json"] = "limits: " + "; ".join(
                f"{spec.id} needs knob {k} ({bad_knobs[k]})" for k in lacking)
        if unusable:
            outcomes.append(_unjudgeable(spec, role, unusable))
        else:
            outcomes.append(_judge_one(spec, evidence, limits, role))
    return outcomes


def _unjudgeable(spec: InvariantSpec, role: str, why: Mapping[str, str]) -> Outcome:
    text = f"{spec.title} cannot be judged: " + "; ".join(f"{name} {reason}" for name, reason in why.items())
    result = Result(spec.id, spec.name, "inconclusive", 0, text.splitlines()[0][:400],
                    {"broken_artifacts": dict(why)})
    return Outcome(result=result, role=role, error=text)


def _judge_one(spec: InvariantSpec, evidence: Evidence, limits: Mapping[str, Any], role: str) -> Outcome:
    try:
        result = spec.judge(evidence, limits)
        if not isinstance(result, Result) or result.id != spec.id:
            raise JudgeError(f"{spec.id} judge returned {result!r}, expected a Result with id {spec.id}")
        json.dumps(result.details, allow_nan=False)  # verdict.json must be writable later
    except Exception as exc:  # supervisor: one crashing judge must not hide the others
        text = f"{spec.title} judge crashed: {type(exc).__name__}: {exc}"
        where = traceback.format_exception(exc)[-3:]
        crashed = Result(spec.id, spec.name, "inconclusive", 0, text.splitlines()[0],
                         {"traceback": "".join(where)})
        return Outcome(result=crashed, role=role, error=text)
    if result.status == "pass" and result.evidence == 0:
        # A gate with no evidence is inconclusive, never pass, whatever a judge says.
        result = Result(result.id, result.name, "inconclusive", 0,
                        f"passed on zero evidence, treated as inconclusive: {result.reason}", result.details)
    return Outcome(result=result, role=role)

"""The judges: one pure module per invariant, registered by id; `judge_all` runs them.

Importing this package registers I1..I7. `judge_all` is the one supervisor place:
a judge that raises does not stop the others; its outcome records the exception
and the overall verdict becomes "error" (battle.verdict.overall).
"""

from __future__ import annotations

import json
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
    "judge_all", "register",
]


@dataclass(frozen=True)
class Outcome:
    """An invariant's result as this run used it: gating or report-only, and any judge crash."""

    result: Result
    role: str  # gate | report
    error: str | None = None  # the exception text when the judge crashed

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise JudgeError(f"{self.result.id}: role {self.role!r} is not one of {ROLES}")

    @property
    def id(self) -> str:
        return self.result.id

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def evidence(self) -> int:
        return self.result.evidence

    @property
    def title(self) -> str:
        return f"{self.result.id} {self.result.name}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "role": self.role, "error": self.error}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        return cls(result=Result.from_dict(data), role=str(data["role"]), error=data.get("error"))


def default_gates() -> set[str]:
    return {s.id for s in all_specs() if s.default_role == "gate"}


def judge_all(
    evidence: Evidence, limits: Mapping[str, Any], gates: Collection[str] | None = None
) -> list[Outcome]:
    """Run every registered judge; `gates` (ids) decide the verdict, the rest are report-only."""
    gate_ids = default_gates() if gates is None else set(gates)
    for gate in gate_ids:
        get(gate)  # an unknown gate is a configuration mistake: raise before judging anything
    return [_judge_one(spec, evidence, limits, "gate" if spec.id in gate_ids else "report")
            for spec in all_specs()]


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

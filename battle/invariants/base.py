"""What every invariant shares: its result, its registration record and the registry.

A judge is a pure function `judge(evidence, limits) -> Result`. `limits` maps knob
names to values that are already typed (``limits["P95_MS"] == 500.0``); the
defaults live only in ``battle/scenarios.yml``, so a judge never falls back to a
number of its own: a missing knob is a `JudgeError` naming it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from battle.evidence import Evidence

STATUSES = ("pass", "fail", "inconclusive")
ROLES = ("gate", "report")


class JudgeError(Exception):
    """Root of everything that goes wrong while judging (bad registration, missing knob, ...)."""


@dataclass(frozen=True)
class Result:
    id: str
    name: str
    status: str  # pass | fail | inconclusive
    evidence: int  # how many things were judged (probes, targets, downloads, ...)
    reason: str  # one line a human reads first
    details: Mapping[str, Any] = field(default_factory=dict)  # JSON-serialisable

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise JudgeError(f"{self.id}: status {self.status!r} is not one of {STATUSES}")
        if not isinstance(self.evidence, int) or self.evidence < 0:
            raise JudgeError(f"{self.id}: evidence must be a count ≥ 0, got {self.evidence!r}")
        if "\n" in self.reason:
            raise JudgeError(f"{self.id}: reason must be one line, got {self.reason!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "evidence": self.evidence,
            "reason": self.reason,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            status=str(data["status"]),
            evidence=int(data["evidence"]),
            reason=str(data["reason"]),
            details=dict(data.get("details") or {}),
        )


Judge = Callable[[Evidence, Mapping[str, Any]], Result]


@dataclass(frozen=True)
class InvariantSpec:
    id: str  # "I1" .. "I7"
    name: str  # "no data loss"
    default_role: str  # gate | report: what judge_all uses without gate ids; a run's gates: battle/gating.py
    knobs: tuple[str, ...]  # the knob names the judge reads from limits
    judge: Judge
    # The artifacts its evidence comes from (fnmatch patterns, e.g. "journal-bot*.jsonl"): when one
    # is missing, altered, truncated or of an unknown schema, this invariant is an error naming it.
    artifacts: tuple[str, ...] = ()

    def depends_on(self, artifact: str) -> bool:
        return any(fnmatch.fnmatchcase(artifact, pattern) for pattern in self.artifacts)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"I[1-9][0-9]*", self.id):
            raise JudgeError(f"invariant id {self.id!r} must look like I<number>, e.g. I4")
        if self.default_role not in ROLES:
            raise JudgeError(f"{self.id}: default_role {self.default_role!r} is not one of {ROLES}")

    @property
    def title(self) -> str:
        """The human name used in reports and JUnit, e.g. "I4 no data loss"."""
        return f"{self.id} {self.name}"

    def result(self, status: str, evidence: int, reason: str, **details: Any) -> Result:
        return Result(self.id, self.name, status, evidence, reason, details)


_REGISTRY: dict[str, InvariantSpec] = {}


def _order(spec_id: str) -> int:
    return int(spec_id[1:])


def register(spec: InvariantSpec) -> InvariantSpec:
    """Add an invariant; registering the same id twice is a mistake unless it is the same spec."""
    existing = _REGISTRY.get(spec.id)
    if existing is not None and existing != spec:
        raise JudgeError(f"invariant {spec.id} is already registered as {existing.title!r}")
    _REGISTRY[spec.id] = spec
    return spec


def get(spec_id: str) -> InvariantSpec:
    try:
        return _REGISTRY[spec_id]
    except KeyError:
        known = ", ".join(s.id for s in all_specs()) or "none (import battle.invariants first)"
        raise JudgeError(f"unknown invariant {spec_id!r}; known: {known}") from None


def all_specs() -> tuple[InvariantSpec, ...]:
    return tuple(sorted(_REGISTRY.values(), key=lambda s: _order(s.id)))


def knob(limits: Mapping[str, Any], name: str, spec_id: str) -> float:
    """A numeric threshold from limits; missing means the caller did not resolve knobs."""
    try:
        value = limits[name]
    except KeyError:
        raise JudgeError(
            f"{spec_id} needs knob {name} in limits (got {sorted(limits)}); "
            "limits come from the resolved scenario knobs (battle/scenarios.yml)"
        ) from None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise JudgeError(f"{spec_id}: knob {name}={value!r} is not a number") from None

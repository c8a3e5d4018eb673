"""I2 no memory leak: the tool's resident memory does not grow.

Each process lifetime of the tool is fitted separately (a restart resets memory):
least-squares slope of RSS (MB) against time (hours) with a 95% confidence
interval. The first WARMUP_S of each lifetime is left out, because every process
grows while it loads its data and that ramp is not a leak. A lifetime counts when
what remains spans at least LEAK_MIN_WINDOW_S. Fail when any counted lifetime's
lower bound exceeds LEAK_MB_PER_H; pass when the longest counted lifetime's
upper bound is below it; otherwise inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from battle.evidence import Evidence, MemSample

from .base import InvariantSpec, JudgeError, Result, knob, register
from .stats import SlopeFit, slope_ci95

SERVICE = "tool"


def _lifetimes(samples: tuple[MemSample, ...]) -> dict[str, list[MemSample]]:
    by_life: dict[str, list[MemSample]] = {}
    for s in samples:
        if s.service == SERVICE:
            by_life.setdefault(s.lifetime, []).append(s)
    return {life: sorted(ss, key=lambda s: s.t) for life, ss in by_life.items()}


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    limit = knob(limits, "LEAK_MB_PER_H", SPEC.id)
    min_window_s = knob(limits, "LEAK_MIN_WINDOW_S", SPEC.id)
    warmup_s = knob(limits, "WARMUP_S", SPEC.id)

    lifetimes = _lifetimes(evidence.memory)
    if not lifetimes:
        return SPEC.result("inconclusive", 0, f"no memory samples of the {SERVICE} service")

    fits = [_fit(life, samples, max(evidence.started_at, samples[0].t) + warmup_s)
            for life, samples in lifetimes.items()]
    counted = [f for f in fits if f.fit is not None and f.span_s >= min_window_s]
    details = {"limit_mb_per_h": limit, "lifetimes": [f.to_dict(f in counted) for f in fits]}
    if not counted:
        longest_span = max(f.span_s for f in fits)
        return SPEC.result(
            "inconclusive", 0,
            f"memory window too short: the longest tool lifetime covered {longest_span:.0f} s after its "
            f"{warmup_s:g} s warm-up, LEAK_MIN_WINDOW_S needs ≥ {min_window_s:g} s",
            **details,
        )

    evidence_n = sum(f.samples for f in counted)
    leaking = [f for f in counted if f.ci.low > limit]
    if leaking:
        worst = max(leaking, key=lambda f: f.ci.low)
        return SPEC.result(
            "fail", evidence_n,
            f"tool memory grows {worst.describe()}, above {limit:g} MB/h",
            **details,
        )
    longest = max(counted, key=lambda f: f.span_s)
    if longest.ci.high < limit:
        return SPEC.result("pass", evidence_n, f"no leak: {longest.describe()}, below {limit:g} MB/h", **details)
    return SPEC.result(
        "inconclusive", evidence_n,
        f"cannot tell: {longest.describe()} straddles {limit:g} MB/h; a longer soak narrows the interval",
        **details,
    )


@dataclass(frozen=True)
class _LifetimeFit:
    lifetime: str
    samples: int
    span_s: float
    fit: SlopeFit | None

    @property
    def ci(self) -> SlopeFit:
        if self.fit is None:
            raise JudgeError(f"lifetime {self.lifetime} has no fit ({self.samples} samples)")
        return self.fit

    def describe(self) -> str:
        return (f"{self.ci.slope:.1f} MB/h (95% CI {self.ci.low:.1f}..{self.ci.high:.1f}) over "
                f"{self.span_s / 60:.0f} min of lifetime {self.lifetime}")

    def to_dict(self, counted: bool) -> dict[str, Any]:
        return {
            "lifetime": self.lifetime,
            "samples": self.samples,
            "span_s": round(self.span_s, 1),
            "counted": counted,
            "slope_mb_per_h": None if self.fit is None else round(self.fit.slope, 3),
            "ci95_mb_per_h": None if self.fit is None else [round(self.fit.low, 3), round(self.fit.high, 3)],
        }


def _fit(lifetime: str, samples: list[MemSample], start: float) -> _LifetimeFit:
    kept = [s for s in samples if s.t >= start]
    span = kept[-1].t - kept[0].t if kept else 0.0
    fit = slope_ci95([(s.t - start) / 3600.0 for s in kept], [s.rss_mb for s in kept])
    return _LifetimeFit(lifetime=lifetime, samples=len(kept), span_s=span, fit=fit)


SPEC = register(InvariantSpec(
    id="I2",
    name="no memory leak",
    default_role="gate",
    knobs=("LEAK_MB_PER_H", "LEAK_MIN_WINDOW_S", "WARMUP_S"),
    judge=judge,
    artifacts=("memory.csv",),
))

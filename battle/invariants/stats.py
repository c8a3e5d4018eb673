"""Small statistics the judges share: percentiles, a slope with its confidence interval.

scipy is not a dependency, so the two-sided 95% Student t critical values are a
table; between table rows the value of the next smaller df is used, which is the
larger (wider, more cautious) value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Two-sided 95% (0.975 quantile) critical values of Student's t by degrees of freedom.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}
_Z975 = 1.960


def t_critical_95(df: int) -> float:
    if df < 1:
        raise ValueError(f"degrees of freedom must be ≥ 1, got {df}")
    if df in _T975:
        return _T975[df]
    if df > 120:
        return _Z975
    return _T975[max(k for k in _T975 if k < df)]


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def distribution(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99 and max, rounded for reports."""
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {
        "count": len(values),
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values)) if values else None,
    }


@dataclass(frozen=True)
class SlopeFit:
    n: int
    slope: float
    low: float  # 95% CI lower bound
    high: float  # 95% CI upper bound


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation of the residuals, clipped to [0, 0.95] (negative means no inflation)."""
    centred = residuals - residuals.mean()
    denominator = float(np.dot(centred, centred))
    if denominator <= 0.0 or len(centred) < 3:
        return 0.0
    rho = float(np.dot(centred[:-1], centred[1:]) / denominator)
    return min(max(rho, 0.0), 0.95)


def slope_ci95(x: Sequence[float], y: Sequence[float]) -> SlopeFit | None:
    """Least-squares slope of y on x with a 95% CI corrected for autocorrelated residuals.

    Memory samples every 5 s are not independent: a heap that fills in steps,
    or a cache still warming, leaves long runs of residuals with one sign. The
    plain OLS interval then is far too narrow and a few minutes of warm-up
    growth read as a confident leak (FINDINGS.md, 2026-11-22). The standard
    error is inflated by the AR(1) factor sqrt((1+rho)/(1-rho)) and the degrees
    of freedom shrink to the effective sample size.
    """
    n = len(x)
    if n < 3 or n != len(y):
        return None
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    dx = xs - xs.mean()
    sxx = float(np.dot(dx, dx))
    if sxx <= 0.0:
        return None
    slope = float(np.dot(dx, ys - ys.mean()) / sxx)
    intercept = float(ys.mean() - slope * xs.mean())
    residuals = ys - (intercept + slope * xs)
    sigma2 = float(np.dot(residuals, residuals)) / (n - 2)
    rho = lag1_autocorrelation(residuals)
    inflation = math.sqrt((1.0 + rho) / (1.0 - rho))
    effective_n = max(3, int(n * (1.0 - rho) / (1.0 + rho)))
    half = t_critical_95(effective_n - 2) * math.sqrt(sigma2 / sxx) * inflation
    return SlopeFit(n=n, slope=slope, low=slope - half, high=slope + half)

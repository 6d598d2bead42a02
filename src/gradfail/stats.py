"""Estimates with confidence intervals: the error budgets behind every stochastic verdict.

A stochastic claim is judged on an interval, not on a point: the check fails only when the whole
interval lies on the wrong side of the bound, so its false-failure probability is at most the
interval's alpha (see `gradfail.claims._core.judge`). Intervals come from scipy.stats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from gradfail.validation import check_int, check_real


@dataclass(frozen=True)
class Estimate:
    """A measured value with an optional two-sided confidence interval [lo, hi].

    Exact computations leave lo = hi = value. `alpha` is the probability that the interval misses the
    truth (0 for exact values). `detail` carries extra numbers for the report (per-d values, etc.).
    """

    value: float
    lo: float | None = None
    hi: float | None = None
    alpha: float = 0.0
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lo is None:
            object.__setattr__(self, "lo", self.value)
        if self.hi is None:
            object.__setattr__(self, "hi", self.value)
        if not (self.lo <= self.value <= self.hi) and not any(map(math.isnan, (self.lo, self.value, self.hi))):
            raise ValueError(f"Estimate needs lo <= value <= hi, got {self.lo} <= {self.value} <= {self.hi}")

    @property
    def exact(self) -> bool:
        """A zero-width interval (NaN, which equals nothing, counts as exact when all three are NaN)."""
        values = (self.lo, self.value, self.hi)
        return self.lo == self.value == self.hi or all(map(math.isnan, values))

    def as_json(self) -> float | dict[str, Any]:
        """A number for exact values, {"value", "ci", "alpha"} otherwise."""
        if self.exact:
            return _plain(self.value)
        return {"value": _plain(self.value), "ci": [_plain(self.lo), _plain(self.hi)], "alpha": float(self.alpha)}

    def short(self) -> str:
        if self.exact:
            return f"{self.value:.4g}"
        return f"{self.value:.4g} [{self.lo:.4g}, {self.hi:.4g}]"


def _plain(x: float) -> float | str:
    """A Python float (numpy scalars do not survive xdist's execnet channel), and JSON has no inf/nan: spell
    them as strings rather than emit invalid JSON."""
    x = float(x)
    return x if math.isfinite(x) else str(x)


def clopper_pearson(successes: int, trials: int, alpha: float) -> tuple[float, float]:
    """Exact two-sided (1 - alpha) interval for a binomial proportion (Clopper & Pearson 1934)."""
    check_int("trials", trials, 1)
    check_int("successes", successes, 0, trials)
    check_real("alpha", alpha, 0.0, 1.0, lo_open=True, hi_open=True)
    result = stats.binomtest(successes, trials).proportion_ci(confidence_level=1 - alpha, method="exact")
    return float(result.low), float(result.high)


def _check_finite(name: str, values: np.ndarray) -> None:
    """A NaN or inf sample is a bug upstream (a diverged run, a log of zero), never a number to average: say so
    here rather than return a NaN interval that a verdict would read as a plain failure."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"{name} must be finite numbers; got {values.flat[bad[0]]} at index {bad[0]} "
                         f"({bad.size} of {values.size} not finite)")


def mean_interval(samples: Sequence[float] | np.ndarray, alpha: float) -> Estimate:
    """Student-t interval for the mean of i.i.d. samples (needs at least 2)."""
    x = np.asarray(samples, dtype=np.float64)
    check_int("number of samples", x.size, 2)
    check_real("alpha", alpha, 0.0, 1.0, lo_open=True, hi_open=True)
    _check_finite("samples", x)
    mean = float(x.mean())
    sem = float(x.std(ddof=1) / math.sqrt(x.size))
    half = float(stats.t.ppf(1 - alpha / 2, df=x.size - 1)) * sem
    return Estimate(mean, mean - half, mean + half, alpha=alpha)


def slope_interval(xs: Sequence[float], ys: Sequence[float], alpha: float) -> Estimate:
    """Least-squares slope of ys on xs with its Student-t interval (n - 2 degrees of freedom).

    With an exact fit (zero residual) the interval collapses to the slope itself.
    """
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"xs and ys must be 1-d of equal length, got shapes {x.shape} and {y.shape}")
    check_int("number of points", x.size, 3)
    check_real("alpha", alpha, 0.0, 1.0, lo_open=True, hi_open=True)
    _check_finite("xs", x)
    _check_finite("ys", y)
    if np.ptp(x) == 0:
        raise ValueError("xs must not all be equal: the slope is undefined")
    fit = stats.linregress(x, y)
    # scipy reports stderr = nan for a perfectly flat exact fit; zero residual means a zero-width interval.
    stderr = 0.0 if np.allclose(y, fit.intercept + fit.slope * x, rtol=0, atol=0) else float(fit.stderr)
    half = float(stats.t.ppf(1 - alpha / 2, df=x.size - 2)) * stderr
    return Estimate(float(fit.slope), fit.slope - half, fit.slope + half, alpha=alpha,
                    detail={"intercept": float(fit.intercept)})

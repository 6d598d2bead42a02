"""Unit tests of the interval code behind every stochastic verdict (gradfail.stats).

The coverage tests draw from numpy Generators seeded 12345. The seed is fixed only to make the run
reproducible: each check accepts the empirical coverage count when it falls in the binomial 99.9%
acceptance region of the nominal (or exactly computed) coverage, so a correct interval passes for
all but 1 in 1000 seeds and the test does not depend on a lucky seed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from gradfail.stats import Estimate, clopper_pearson, mean_interval, slope_interval

COVERAGE_SEED = 12345
REPETITIONS = 2000
LEVEL = 0.90                # nominal coverage of the intervals under test (alpha = 0.1)
ACCEPT = 0.999              # probability of the binomial acceptance region


def _acceptance_region(coverage: float) -> tuple[int, int]:
    """[lo, hi] with P(lo <= Binomial(REPETITIONS, coverage) <= hi) >= ACCEPT."""
    tail = (1 - ACCEPT) / 2
    return (int(stats.binom.ppf(tail, REPETITIONS, coverage)), int(stats.binom.ppf(1 - tail, REPETITIONS, coverage)))


def _beta_interval(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The Clopper-Pearson interval from its definition through beta quantiles (the test oracle)."""
    lo = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
    return float(lo), float(hi)


# --- clopper_pearson ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("k", "n", "alpha"), [(3, 10, 0.05), (50, 100, 0.01), (1, 7, 0.2), (9990, 10000, 1e-3),
                                               (17, 40, 0.5)])
def test_clopper_pearson_equals_beta_quantiles(k, n, alpha):
    """The interval's ends are the alpha/2 and 1 - alpha/2 beta quantiles of the exact method."""
    lo, hi = clopper_pearson(k, n, alpha)
    expected_lo, expected_hi = _beta_interval(k, n, alpha)
    assert lo == pytest.approx(expected_lo, rel=1e-10)
    assert hi == pytest.approx(expected_hi, rel=1e-10)
    assert lo < k / n < hi


def test_clopper_pearson_matches_tabulated_value():
    """3 successes in 10 trials at 95% gives the textbook [0.0667, 0.6525]."""
    lo, hi = clopper_pearson(3, 10, 0.05)
    assert lo == pytest.approx(0.06673951117773447, rel=1e-9)
    assert hi == pytest.approx(0.6524528500599973, rel=1e-9)


@pytest.mark.parametrize("n", (1, 10, 1000))
def test_clopper_pearson_zero_successes_has_closed_form_upper_end(n):
    """With 0 successes the interval is [0, 1 - (alpha/2)^(1/n)]."""
    alpha = 0.05
    lo, hi = clopper_pearson(0, n, alpha)
    assert lo == 0.0
    assert hi == pytest.approx(1 - (alpha / 2) ** (1 / n), rel=1e-10)


@pytest.mark.parametrize("n", (1, 10, 1000))
def test_clopper_pearson_all_successes_has_closed_form_lower_end(n):
    """With n successes out of n the interval is [(alpha/2)^(1/n), 1]."""
    alpha = 0.05
    lo, hi = clopper_pearson(n, n, alpha)
    assert lo == pytest.approx((alpha / 2) ** (1 / n), rel=1e-10)
    assert hi == 1.0


@pytest.mark.parametrize(("successes", "trials", "alpha", "match"), [
    (0, 0, 0.05, r"trials must be an integer in \[1, inf\)"),
    (5, 4, 0.05, r"successes must be an integer in \[0, 4\]"),
    (-1, 4, 0.05, r"successes must be an integer in \[0, 4\]"),
    (1, 4, 0.0, r"alpha must be a finite number in \(0, 1\)"),
    (1, 4, 1.0, r"alpha must be a finite number in \(0, 1\)"),
    (1, 4, -0.1, r"alpha must be a finite number in \(0, 1\)"),
    (1, 4, float("nan"), r"alpha must be a finite number in \(0, 1\)"),
    (1.0, 4, 0.05, r"successes must be an integer"),
])
def test_clopper_pearson_rejects_invalid_arguments(successes, trials, alpha, match):
    """Bad trials, successes or alpha raise ValueError naming the argument and its range."""
    with pytest.raises(ValueError, match=match):
        clopper_pearson(successes, trials, alpha)


def test_clopper_pearson_coverage_on_bernoulli_data_matches_exact_coverage():
    """Empirical coverage over 2000 Bernoulli(0.3) samples of size 30 lies in the 99.9% region of the exact coverage."""
    rng = np.random.default_rng(COVERAGE_SEED)
    p, n, alpha = 0.3, 30, 1 - LEVEL
    # The exact coverage of the exact method at (p, n), from the beta-quantile oracle: >= LEVEL by construction.
    exact = sum(stats.binom.pmf(k, n, p) for k in range(n + 1)
                if _beta_interval(k, n, alpha)[0] <= p <= _beta_interval(k, n, alpha)[1])
    assert exact >= LEVEL
    intervals = {k: clopper_pearson(k, n, alpha) for k in range(n + 1)}   # the code under test, once per count
    counts = rng.binomial(n, p, size=REPETITIONS)
    covered = sum(intervals[int(k)][0] <= p <= intervals[int(k)][1] for k in counts)
    lo, hi = _acceptance_region(exact)
    assert lo <= covered <= hi, f"covered {covered} of {REPETITIONS}; acceptance region [{lo}, {hi}]"


# --- mean_interval -----------------------------------------------------------------------------------------

def test_mean_interval_equals_student_t_formula():
    """For 1..5 at 95%: mean 3, half-width t_{0.975, 4} sqrt(2.5 / 5)."""
    estimate = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0], 0.05)
    half = 2.7764451051977987 * math.sqrt(0.5)
    assert estimate.value == 3.0
    assert estimate.lo == pytest.approx(3.0 - half, rel=1e-12)
    assert estimate.hi == pytest.approx(3.0 + half, rel=1e-12)
    assert estimate.alpha == 0.05
    assert not estimate.exact


def test_mean_interval_of_constant_samples_is_exact():
    """Identical samples give a zero-width interval at the common value."""
    estimate = mean_interval(np.full(4, 2.5), 0.01)
    assert (estimate.lo, estimate.value, estimate.hi) == (2.5, 2.5, 2.5)


@pytest.mark.parametrize(("samples", "alpha", "match"), [
    ([1.0], 0.05, r"number of samples must be an integer in \[2, inf\)"),
    ([], 0.05, r"number of samples must be an integer in \[2, inf\)"),
    ([1.0, 2.0], 0.0, r"alpha must be a finite number in \(0, 1\)"),
    ([1.0, 2.0], 1.0, r"alpha must be a finite number in \(0, 1\)"),
    ([1.0, 2.0], 2.0, r"alpha must be a finite number in \(0, 1\)"),
])
def test_mean_interval_rejects_invalid_arguments(samples, alpha, match):
    """Fewer than 2 samples or alpha outside (0, 1) raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        mean_interval(samples, alpha)


def test_mean_interval_coverage_on_normal_samples_is_nominal():
    """Over 2000 normal samples of size 8, the 90% t-interval covers the mean a Binomial(2000, 0.9) number of times."""
    rng = np.random.default_rng(COVERAGE_SEED)
    mu = 3.0
    samples = rng.normal(mu, 2.0, size=(REPETITIONS, 8))
    covered = 0
    for row in samples:
        estimate = mean_interval(row, 1 - LEVEL)
        covered += estimate.lo <= mu <= estimate.hi
    lo, hi = _acceptance_region(LEVEL)
    assert lo <= covered <= hi, f"covered {covered} of {REPETITIONS}; acceptance region [{lo}, {hi}]"


# --- slope_interval ----------------------------------------------------------------------------------------

def test_slope_interval_equals_least_squares_formula():
    """Slope Sxy/Sxx, intercept and half-width t_{1-alpha/2, n-2} sqrt(SSE/(n-2)/Sxx) computed by hand."""
    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    ys = np.array([0.3, 1.9, 4.2, 5.8, 8.3, 9.7])
    alpha = 0.05
    xc = xs - xs.mean()
    slope = float((xc * (ys - ys.mean())).sum() / (xc**2).sum())
    intercept = float(ys.mean() - slope * xs.mean())
    residuals = ys - (intercept + slope * xs)
    stderr = math.sqrt((residuals**2).sum() / (len(xs) - 2) / (xc**2).sum())
    half = stats.t.ppf(1 - alpha / 2, len(xs) - 2) * stderr
    estimate = slope_interval(xs, ys, alpha)
    assert estimate.value == pytest.approx(slope, rel=1e-12)
    assert estimate.lo == pytest.approx(slope - half, rel=1e-12)
    assert estimate.hi == pytest.approx(slope + half, rel=1e-12)
    assert estimate.detail["intercept"] == pytest.approx(intercept, rel=1e-12)
    assert estimate.alpha == alpha


@pytest.mark.parametrize("slope", (2.0, -0.5, 0.0))
def test_slope_interval_collapses_on_an_exact_fit(slope):
    """Points on a line (zero residual, flat lines included) give the slope with a zero-width interval."""
    xs = [0.0, 1.0, 2.0, 3.0]
    ys = [1.0 + slope * x for x in xs]
    estimate = slope_interval(xs, ys, 0.05)
    assert estimate.value == pytest.approx(slope, abs=1e-12)
    assert estimate.lo == pytest.approx(slope, abs=1e-12)
    assert estimate.hi == pytest.approx(slope, abs=1e-12)


@pytest.mark.parametrize(("xs", "ys", "alpha", "match"), [
    ([0.0, 1.0], [0.0, 1.0], 0.05, r"number of points must be an integer in \[3, inf\)"),
    ([0.0, 1.0, 2.0], [0.0, 1.0], 0.05, r"1-d of equal length"),
    ([[0.0, 1.0, 2.0]], [[0.0, 1.0, 2.0]], 0.05, r"1-d of equal length"),
    ([0.0, 1.0, 2.0, 3.0], [0.0, 1.1, 1.9, 3.2], 0.0, r"alpha must be a finite number in \(0, 1\)"),
    ([0.0, 1.0, 2.0, 3.0], [0.0, 1.1, 1.9, 3.2], 1.5, r"alpha must be a finite number in \(0, 1\)"),
    ([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], 1.0, r"alpha must be a finite number in \(0, 1\)"),
])
def test_slope_interval_rejects_invalid_arguments(xs, ys, alpha, match):
    """Under 3 points, mismatched or non-1-d inputs, or alpha outside (0, 1) raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        slope_interval(xs, ys, alpha)


def test_slope_interval_coverage_on_noisy_lines_is_nominal():
    """Over 2000 noisy lines of slope -0.7, the 90% slope interval covers -0.7 a Binomial(2000, 0.9) number of times."""
    rng = np.random.default_rng(COVERAGE_SEED)
    true_slope = -0.7
    xs = np.linspace(0.0, 5.0, 7)
    ys = 1.5 + true_slope * xs + rng.normal(0.0, 0.8, size=(REPETITIONS, xs.size))
    covered = 0
    for row in ys:
        estimate = slope_interval(xs, row, 1 - LEVEL)
        covered += estimate.lo <= true_slope <= estimate.hi
    lo, hi = _acceptance_region(LEVEL)
    assert lo <= covered <= hi, f"covered {covered} of {REPETITIONS}; acceptance region [{lo}, {hi}]"


# --- Estimate ----------------------------------------------------------------------------------------------

def test_estimate_without_interval_is_exact():
    """An Estimate built from a value alone has lo = hi = value, alpha 0 and is exact."""
    estimate = Estimate(0.25)
    assert (estimate.lo, estimate.hi, estimate.alpha) == (0.25, 0.25, 0.0)
    assert estimate.exact


@pytest.mark.parametrize(("value", "lo", "hi"), [(1.0, 1.5, 2.0), (3.0, 1.0, 2.0), (0.0, 1.0, -1.0)])
def test_estimate_rejects_value_outside_its_interval(value, lo, hi):
    """lo <= value <= hi is enforced with a ValueError that quotes the three numbers."""
    with pytest.raises(ValueError, match=r"lo <= value <= hi"):
        Estimate(value, lo, hi, alpha=0.1)


def test_estimate_allows_nan_and_infinite_ends():
    """NaN anywhere (a failed measurement) and infinite ends are accepted rather than raising."""
    Estimate(float("nan"), 0.0, 1.0)
    Estimate(0.5, float("nan"), float("nan"))
    Estimate(0.5, -math.inf, math.inf, alpha=0.1)


def test_estimate_as_json_is_a_number_for_exact_values():
    """as_json of an exact estimate is the plain number."""
    assert Estimate(0.125).as_json() == 0.125
    assert Estimate(2.0, 2.0, 2.0).as_json() == 2.0


def test_estimate_as_json_is_a_dict_for_intervals():
    """as_json of an interval estimate is {"value", "ci", "alpha"}."""
    assert Estimate(0.5, 0.25, 0.75, alpha=0.01).as_json() == {"value": 0.5, "ci": [0.25, 0.75], "alpha": 0.01}


def test_estimate_as_json_spells_inf_and_nan_as_strings():
    """Infinite and NaN numbers become strings, so the report is strict JSON."""
    assert Estimate(math.inf).as_json() == "inf"
    assert Estimate(-math.inf).as_json() == "-inf"
    assert Estimate(1.0, -math.inf, math.inf, alpha=0.1).as_json() == {"value": 1.0, "ci": ["-inf", "inf"],
                                                                       "alpha": 0.1}
    nan_json = Estimate(float("nan"), 0.0, 1.0, alpha=0.1).as_json()
    assert nan_json == {"value": "nan", "ci": [0.0, 1.0], "alpha": 0.1}
    for estimate in (Estimate(math.inf), Estimate(float("nan")), Estimate(0.5, float("nan"), math.inf)):
        json.dumps(estimate.as_json(), allow_nan=False)  # raises ValueError on a bare inf or nan

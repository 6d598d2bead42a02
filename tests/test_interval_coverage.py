"""Coverage of the claims' Monte Carlo intervals: run each estimator many times where the answer is known.

A claim's false-failure probability is its interval's miss probability (Note [Benefit of the doubt] in
gradfail.claims._core), so every interval construction a claim uses must miss the truth at most at its
nominal rate alpha. The three interval routines of gradfail.stats (clopper_pearson, mean_interval,
slope_interval) are checked this way in tests/test_stats.py; this file covers the estimators built on top of
them: the jackknife interval of the gradient SNR (Figure 5), the Monte Carlo variance over linear-periodic
targets (Theorem 2), the linearised ratio-estimator interval (Figure 6 training claims), the ratio of two
means (Section 5) and the Bonferroni interval for a maximum of several quantities (Figure 5, Figure 3).
The last tests tie each claim's error_budget (its false-failure probability per check, summed in the claims
table's footer) to the alpha its Estimate states (gradfail.claims._core.budget_problem).

Each test draws all its replicates in one tensor operation, applies the library's interval to each, and
counts misses M out of R. It accepts when M lies in the binomial acceptance region of probability 1 - 1e-4
(two-sided for intervals that should be about nominal, upper end only for intervals that are conservative
by construction). The generators are seeded only for reproducibility; a correct interval passes for all
but about 1 in 10,000 seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gradfail.claims import Bound, Claim, all_claims, conditioning_training, end_to_end_tuples, flat
from gradfail.claims._core import budget_problem
from gradfail.claims.parity import CubeSetting
from gradfail.experiments.periodic import PeriodicSample, periodic_variance
from gradfail.experiments.snr import Moments, jackknife
from gradfail.stats import Estimate, mean_interval

ALPHA = 0.1            # the intervals' nominal miss rate here: large enough that R replicates measure it
REJECT = 1e-4          # probability that a correct interval falls outside the acceptance region
# Asymptotic intervals (jackknife, linearised ratio) are "about" nominal: their true miss rate is accepted
# anywhere in [ASYMPTOTIC[0] alpha, ASYMPTOTIC[1] alpha]; an interval that is wrong by a factor misses that.
ASYMPTOTIC = (0.5, 1.5)


def assert_coverage(misses: int, replicates: int, *, alpha: float = ALPHA, band=(1.0, 1.0),
                    conservative: bool = False) -> None:
    """misses ~ Binomial(replicates, rate) with rate in [band[0] alpha, band[1] alpha] (or <= alpha when
    `conservative`): fail when the count is outside that family's (1 - REJECT) acceptance region."""
    upper = int(stats.binom.ppf(1 - REJECT / 2, replicates, band[1] * alpha))
    lower = 0 if conservative else int(stats.binom.ppf(REJECT / 2, replicates, band[0] * alpha))
    assert lower <= misses <= upper, (
        f"{misses} misses in {replicates} replicates: a miss rate of {misses / replicates:.3g} is outside "
        f"[{lower}, {upper}] (nominal {alpha:g}{', conservative' if conservative else ''})")


def _misses(intervals, truth: float) -> int:
    return sum(not lo <= truth <= hi for lo, hi in intervals)


# --- Figure 5: SNR = ||mu||^2 / E||g - mu||^2 with a delete-one-group jackknife interval ------------------

def test_snr_jackknife_interval_covers_at_about_nominal_rate():
    """Per-tuple gradients g ~ N(mu, I_P) with ||mu|| = 1, P = 20: the true SNR is 1/20. The library's
    Moments (U-statistic signal, unbiased noise) and jackknife over 10 groups cover it at about 1 - alpha."""
    replicates, tuples, groups, dim = 500, 200, 10, 20
    mu = torch.zeros(dim, dtype=torch.float64)
    mu[0] = 1.0
    g = torch.randn(replicates, groups, tuples // groups, dim, generator=torch.Generator().manual_seed(5),
                    dtype=torch.float64) + mu
    sums, squares = g.sum(2), g.square().sum((2, 3))          # per group: sum of g, sum of ||g||^2
    count = torch.full((groups,), tuples / groups, dtype=torch.float64)
    intervals = []
    for r in range(replicates):
        # Plain (non-antithetic) moments: g_bar = g, so the average ||g||^2 of a tuple is ||g_bar||^2.
        moments = Moments(count=count, mean_sum=sums[r], mean_sq=squares[r], second=squares[r])
        estimate = jackknife(moments.snr, groups, ALPHA)
        intervals.append((estimate.lo, estimate.hi))
    assert_coverage(_misses(intervals, 1 / dim), replicates, band=ASYMPTOTIC)


def test_snr_moments_are_unbiased():
    """E[signal] = ||mu||^2 and E[noise] = E||g - mu||^2 exactly (U-statistic): the mean over 500 replicates
    is within 4 standard errors of the truth."""
    replicates, tuples, groups, dim = 500, 40, 4, 5
    mu = torch.full((dim,), 0.2, dtype=torch.float64)
    g = torch.randn(replicates, groups, tuples // groups, dim, generator=torch.Generator().manual_seed(6),
                    dtype=torch.float64) + mu
    sums, squares = g.sum(2), g.square().sum((2, 3))
    count = torch.full((groups,), tuples / groups, dtype=torch.float64)
    moments = [Moments(count=count, mean_sum=sums[r], mean_sq=squares[r], second=squares[r])
               for r in range(replicates)]
    for name, truth in (("signal", float(mu @ mu)), ("noise", float(dim))):
        values = np.array([getattr(m, name)() for m in moments])
        sem = values.std(ddof=1) / math.sqrt(replicates)
        assert abs(values.mean() - truth) <= 4 * sem, f"{name}: mean {values.mean():.4g} vs truth {truth:.4g}"


# --- Theorem 2: Monte Carlo Var over sin(v^T x), linear predictor, x ~ N(0, I): truth r^2 exp(-r^2) --------

def test_periodic_variance_interval_covers_closed_form():
    """periodic_variance's i.i.d. replicates, taken three at a time through PeriodicSample.interval (a
    t-interval widened below by the x-sampling bias bound), cover r^2 exp(-r^2) at r = 1 at least at 1 - alpha.
    One call draws every replicate; the bias bound is the largest over all of them (conservative)."""
    per_interval, intervals_wanted, r = 3, 100, 1.0
    sample = periodic_variance(d=3, radii=(r,), psi="sin", model="linear", width=1, input_scale=1.0,
                               directions="sphere", n_inputs=200, n_directions=20,
                               replicates=per_interval * intervals_wanted, seed=7, device=torch.device("cpu"))[r]
    chunks = sample.variances.reshape(intervals_wanted, per_interval)
    intervals = []
    for chunk in chunks:
        estimate = PeriodicSample(chunk, sample.bias_bound, sample.g_squared).interval(ALPHA)
        intervals.append((estimate.lo, estimate.hi))
    assert_coverage(_misses(intervals, r**2 * math.exp(-(r**2))), intervals_wanted, conservative=True)


# --- Figure 6: the linearised interval of R = sum a_i / sum b_i over i.i.d. pairs ------------------------------

def test_ratio_estimator_interval_covers_at_about_nominal_rate():
    """Pairs b ~ Gamma(2), a = 3 b + N(0, 1): E a / E b = 3. ratio_interval (the Figure 6 training claims'
    held-out loss ratio and the auto-encoder's kink ratio) covers it at about 1 - alpha with 50 pairs."""
    replicates, pairs = 2000, 50
    rng = np.random.default_rng(8)
    b = rng.gamma(2.0, 1.0, (replicates, pairs))
    a = 3.0 * b + rng.normal(0.0, 1.0, (replicates, pairs))
    intervals = [conditioning_training.ratio_interval(a[r], b[r], ALPHA)[1:] for r in range(replicates)]
    assert_coverage(_misses(intervals, 3.0), replicates, band=ASYMPTOTIC)


# --- Section 5: E a / E b from two Student-t intervals (each at ALPHA / 2) -------------------------------------

def test_ratio_of_means_interval_is_conservative(monkeypatch):
    """flat._mean_ratio divides two intervals at ALPHA / 2 each (Bonferroni), so it misses E a / E b at most
    at rate ALPHA. The claims' ALPHA (1e-3) is raised to 0.1 here so that 2,000 replicates can see misses."""
    monkeypatch.setattr(flat, "ALPHA", ALPHA)
    replicates, n = 2000, 30
    rng = np.random.default_rng(9)
    a = rng.exponential(2.0, (replicates, n))
    b = rng.exponential(1.0, (replicates, n)) + 0.5
    intervals = [flat._mean_ratio(a[r], b[r])[1:] for r in range(replicates)]
    assert_coverage(_misses(intervals, 2.0 / 1.5), replicates, conservative=True)


# --- Figures 3 and 5: the largest of several quantities, each interval at alpha / K ----------------------------

def test_bonferroni_interval_of_a_maximum_is_conservative():
    """end_to_end_tuples._largest: if K intervals at alpha / K each cover their means, [max lo, max hi] covers
    the largest mean; over 2,000 replicates of K = 3 normal samples it misses at most at rate alpha."""
    replicates, n, means = 2000, 10, np.array([0.0, 0.5, 0.6])
    rng = np.random.default_rng(10)
    samples = rng.normal(means[None, :, None], 1.0, (replicates, len(means), n))
    intervals = []
    for r in range(replicates):
        parts = [mean_interval(samples[r, i], ALPHA / len(means)) for i in range(len(means))]
        largest = end_to_end_tuples._largest(parts, ALPHA, {})
        intervals.append((largest.lo, largest.hi))
    assert_coverage(_misses(intervals, float(means.max())), replicates, conservative=True)


@pytest.mark.parametrize("misses, conservative, ok", [(100, False, True), (160, False, False), (20, False, False),
                                                      (20, True, True), (160, True, False)])
def test_assert_coverage_rejects_wrong_rates(misses, conservative, ok):
    """The acceptance test itself: 100 misses in 1,000 is nominal for alpha 0.1; 160 or 20 are not (20 is
    fine for a conservative interval)."""
    if ok:
        assert_coverage(misses, 1000, conservative=conservative)
    else:
        with pytest.raises(AssertionError, match="misses"):
            assert_coverage(misses, 1000, conservative=conservative)



# --- Error budgets: every claim states the alpha its check uses ------------------------------------------------

def _claim_with(budget: float, estimate: Estimate) -> Claim:
    return Claim(id="parity.budget_probe", statement="A probe.", source="test", section="2", quantity="q",
                 measure=lambda setting, *, seeds, device: estimate,
                 bound=Bound(relation="le", rhs=lambda s: 1.0, why="probe"), reference=CubeSetting(d=2),
                 violation=None, error_budget=budget)


@pytest.mark.parametrize("budget, estimate, problem", [
    (0.0, Estimate(0.5, 0.4, 0.6, alpha=1e-3), "alpha 0.001 but the record states error_budget 0"),
    (0.0, Estimate(0.5, 0.4, 0.6), "interval .* but states alpha 0"),
    (1e-4, Estimate(0.5, 0.4, 0.6, alpha=1e-3), "alpha 0.001 but the record states error_budget 0.0001"),
    (1e-3, Estimate(0.5), "exact .* error_budget 0.001"),
    (1e-3, Estimate(0.5, 0.4, 0.6, alpha=1e-3), None),
    (1e-3, Estimate(0.5, 0.4, 0.6, alpha=1e-4), None),      # a smaller alpha at some settings is covered
    (0.0, Estimate(0.5), None),
])
def test_check_refuses_an_estimate_its_error_budget_does_not_cover(budget, estimate, problem):
    """Claim.check (which every template calls, for every registered claim) raises when the record's
    error_budget does not cover the Estimate's alpha, hides an interval behind budget 0, or gives an exact
    check a budget; so a claim added without a correct budget fails its first test."""
    claim = _claim_with(budget, estimate)
    if problem is None:
        assert budget_problem(claim, estimate) is None
        assert claim.check(claim.reference, seeds=(0,), device=torch.device("cpu")).holds
    else:
        with pytest.raises(ValueError, match=f"budget_probe.*{problem}"):
            claim.check(claim.reference, seeds=(0,), device=torch.device("cpu"))


@pytest.mark.parametrize("claim", list(all_claims().values()), ids=lambda c: c.id)
def test_every_registered_budget_is_zero_or_a_per_check_alpha(claim):
    """A budget is 0 (exact) or a per-check alpha between 1e-6 and 1e-2: a larger one would make a 20-seed run
    likely to fail falsely (20 x 1e-2 already allows 0.2), and the runtime check above ties it to the alphas."""
    assert claim.error_budget == 0 or 1e-6 <= claim.error_budget <= 1e-2

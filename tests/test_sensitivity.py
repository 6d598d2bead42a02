"""Sensitivity (power) of the claims: inject a realistic bug into the library, and the claim that should
notice it must fail.

Each `Bug` names the paper section, the claim that should notice, the setting it is checked at, and how the
bug is injected: `monkeypatch` replaces a library function at the module attribute where the claim's code
looks it up, so the claim runs its ordinary measurement on broken code. The test first checks the same
claim at the same setting and seed on the intact library (it must hold), so a failure under the bug is the
bug's doing and not the setting's. Caches of measured runs (functools caches in gradfail modules) are
cleared around every case, so a cached clean run cannot hide the bug and a buggy run cannot leak out.

Run `pytest tests/test_sensitivity.py -rA -m "slow or not slow"` to see every case (each passing case is a
bug caught); test_bug_tally_per_section prints how many bugs each section injects and how many run by
default. Bugs whose check trains for seconds are marked slow; every section keeps at least two in the default
run. One bug no claim can notice, the authors' SNR formula, is caught by an estimator check instead (last test).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from gradfail.claims import Claim, get_claim
from gradfail.claims import conditioning as conditioning_claims
from gradfail.claims import flat as flat_claims
from gradfail.claims import parity as parity_claims
from gradfail.claims.end_to_end_tuples import SNRSetting
from gradfail.data.staircase import staircase, staircase_autograd
from gradfail.experiments import conditioning as conditioning_experiments
from gradfail.experiments import snr, staircase as staircase_experiments, stocks
from gradfail.measure import target_variance
from gradfail.measure.target_variance import TargetVariance

CPU = torch.device("cpu")
SECTIONS = {"2": "parity", "3": "end_to_end", "4": "conditioning", "5": "flat"}


@dataclass(frozen=True)
class Bug:
    """A realistic mistake, where it goes in, and which claim must notice it."""

    name: str
    section: str
    claim: str
    inject: Callable[[pytest.MonkeyPatch], None]
    setting: Callable[[Claim], object] = lambda claim: claim.reference_for("ci")
    slow: bool = False


# --- Section 2: parities -------------------------------------------------------------------------------------

def _wht_reversed_rows(mp):
    """The Walsh-Hadamard transform reads the cube's rows in reversed (big- vs little-endian) order. Every
    parity becomes +-parity, so Theorem 1's bound still holds, but the mean over targets picks up
    c(all ones) instead of c(x0): the square-loss identity is off by about 2^-d relative."""
    original = target_variance.fwht
    mp.setattr(target_variance, "fwht", lambda a, **kw: original(a.flip(0), **kw))


def _g_squared_of_mean_gradient(mp):
    """G(w)^2 computed as ||E_x g(x)||^2 (the per-example gradient averaged before squaring), not E||g||^2."""
    original = parity_claims.variance_over_targets

    def averaged_first(predictions, jacobian, loss, targets=None, **kw):
        result = original(predictions, jacobian, loss, targets, **kw)
        blocks = [jacobian] if isinstance(jacobian, torch.Tensor) else list(jacobian)
        g_squared = sum(float(block.mean(0).pow(2).sum()) for block in blocks)
        return TargetVariance(result.variance, g_squared, result.n_targets)

    mp.setattr(parity_claims, "variance_over_targets", averaged_first)


def _lemma3_as_printed(mp):
    """Lemma 3's construction as printed (triads i = 1..d/2), without the i = 0 triad (digest §1.6)."""
    original = parity_claims.relu_parity_network
    mp.setattr(parity_claims, "relu_parity_network", lambda v, include_zero_triad=True: original(v, include_zero_triad=False))


# --- Section 3: decomposition vs end-to-end ----------------------------------------------------------------

def _tuple_label_from_first_image(mp):
    """The tuple's label is the first image's label: the product over the tuple is forgotten."""
    original = snr._loss_fn

    def first_label(loss, head, k, bias):
        fn = original(loss, head, k, bias)
        if loss != "end_to_end":
            return fn
        return lambda w, h, y: fn(w, h, torch.cat([y[:1], torch.ones_like(y[1:])]))

    mp.setattr(snr, "_loss_fn", first_label)


def _authors_snr(mp):
    """The SNR as tuple_rect_SNR.py computes it (Note [Authors' SNR]): signal S = ||mean g||^2 (the plug-in,
    biased upward by E||g - mu||^2 / n) and noise M - S**2."""
    def signal(self, drop=None):
        n, total, _, _ = self._pooled(drop)
        return float(total @ total) / n**2

    def noise(self, drop=None):
        n, _, _, second = self._pooled(drop)
        return second / n - self.signal(drop) ** 2

    mp.setattr(snr.Moments, "signal", signal)
    mp.setattr(snr.Moments, "noise", noise)


def _winning_stock_off_by_one(mp):
    """The outcome vector z puts its sure +1 on stock y(x) + 1 instead of y(x)."""
    original = stocks.outcome_distribution

    def shifted(k, best, **kw):
        z, probability = original(k, best, **kw)
        return z.roll(1, dims=-1), probability

    mp.setattr(stocks, "outcome_distribution", shifted)


def _one_sign_for_all_stocks(mp):
    """One random sign broadcast to every non-best stock (a (n, 1) draw where (n, k) was meant)."""
    original = stocks.outcome_distribution
    mp.setattr(stocks, "outcome_distribution",
               lambda k, best, plus_probability=0.5, common_sign=0.0, dtype=torch.float64:
               original(k, best, plus_probability=plus_probability, common_sign=1.0, dtype=dtype))


# --- Section 4: conditioning -----------------------------------------------------------------------------------

def _w_off_by_one(mp):
    """W[i, j] = [i - j + 2]_+: the encoding matrix shifted by one row."""
    original = conditioning_claims.encoding_matrix
    mp.setattr(conditioning_claims, "encoding_matrix",
               lambda n, *, order=2, dtype=torch.float64: original(n + 1, order=order, dtype=dtype)[1:, :-1])


def _whitening_skipped(mp):
    """C^{-1/2} replaced by the identity: the rows are used raw."""
    mp.setattr(conditioning_claims, "inverse_sqrt", lambda matrix: torch.eye(matrix.shape[0], dtype=matrix.dtype))


def _whitening_skipped_in_gd(mp):
    """The same skip inside the gradient-descent experiment on the convolution's rows."""
    mp.setattr(conditioning_experiments, "inverse_sqrt",
               lambda matrix: torch.eye(matrix.shape[0], dtype=matrix.dtype))


def _sgd_step_wrong_sign(mp):
    """Lemma 2's expected-SGD recursion steps up the gradient: U <- U - eta grad becomes U + eta grad."""
    original = conditioning_claims.expected_sgd_recursion
    mp.setattr(conditioning_claims, "expected_sgd_recursion",
               lambda w, sigma, eta, steps: original(w, sigma, -eta, steps))


# --- Section 5: flat activations ----------------------------------------------------------------------------

def _straight_through_leaks_into_gradient(mp):
    """The forward-only (straight-through) backward leaks into the 'true gradient' staircase: u'(r) = 1."""
    mp.setattr(flat_claims, "staircase_autograd", lambda r, levels: r + (staircase(r, levels) - r).detach())


def _forward_only_is_true_gradient(mp):
    """The forward-only unit backpropagates through u itself (derivative 0) instead of replacing u' by 1."""
    original = staircase_experiments.BatchedLinearUnit.forward

    def forward(self, x):
        if self.rule == "forward_only":
            return staircase_autograd(self.pre_activation(x), self.levels)
        return original(self, x)

    mp.setattr(staircase_experiments.BatchedLinearUnit, "forward", forward)


def _glmtron_wrong_sign(mp):
    """The A.7 update with the paper's printed sign (digest §5 item 13): w_{t+1} = w_t + eta g(w_t)."""
    def glmtron_errors(x, y, u, *, eta, steps):
        w = torch.zeros(x.shape[1], dtype=x.dtype)
        errors = torch.empty(steps + 1, dtype=x.dtype)
        for t in range(steps + 1):
            residual = u(x @ w) - y
            errors[t] = (residual**2).mean()
            w = w + eta * (residual @ x) / x.shape[0]
        return errors

    mp.setattr(flat_claims, "glmtron_errors", glmtron_errors)


BUGS = (
    Bug("wht_reversed_row_order", "2", "parity.square_loss_variance_identity", _wht_reversed_rows,
        setting=lambda claim: parity_claims.GradientVarianceSetting(d=8, widths=(16,))),
    Bug("g_squared_of_mean_gradient", "2", "parity.gradient_variance_bound", _g_squared_of_mean_gradient,
        setting=lambda claim: parity_claims.GradientVarianceSetting(d=8, widths=(16,), loss="hinge")),
    Bug("lemma3_without_zero_triad", "2", "parity.relu_construction_realises_parity", _lemma3_as_printed),
    Bug("winning_stock_off_by_one", "3", "end_to_end.stocks_estimators_unbiased", _winning_stock_off_by_one),
    Bug("one_sign_for_all_stocks", "3", "end_to_end.stocks_second_moment_identity", _one_sign_for_all_stocks),
    # The synthetic proxy (the claim's Hypothesis settings) resolves this in a second; the CNN needs ~10 s.
    Bug("tuple_label_not_multiplied", "3", "end_to_end.snr_far_below_decomposition", _tuple_label_from_first_image,
        setting=lambda claim: SNRSetting(k_values=(3,), features="synthetic", n_tuples=4_000)),
    Bug("w_off_by_one", "4", "conditioning.second_difference_inverts_encoding", _w_off_by_one),
    Bug("whitening_skipped", "4", "conditioning.whitening_makes_second_moment_identity", _whitening_skipped),
    Bug("whitening_skipped_in_gd", "4", "conditioning.whitened_gd_steps_flat_in_n", _whitening_skipped_in_gd),
    Bug("sgd_step_wrong_sign", "4", "conditioning.expected_sgd_closed_form", _sgd_step_wrong_sign),
    Bug("straight_through_in_true_gradient", "5", "flat.staircase_gradient_is_zero",
        _straight_through_leaks_into_gradient),
    # 5,000 training steps (the smoke profile's 1,000 leave the intact unit at 0.78, below the bound).
    Bug("forward_only_is_true_gradient", "5", "flat.forward_only_learns_exact_levels",
        _forward_only_is_true_gradient, slow=True),
    Bug("glmtron_update_wrong_sign", "5", "flat.forward_only_converges_for_lipschitz_u", _glmtron_wrong_sign),
)


def _clear_measurement_caches() -> None:
    """Forget every functools cache in gradfail's modules (cached training runs, singular values, ...)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("gradfail.") and module is not None:
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()


@pytest.fixture
def fresh_caches():
    _clear_measurement_caches()
    yield
    _clear_measurement_caches()


@pytest.mark.parametrize("bug", [pytest.param(b, id=b.name, marks=[pytest.mark.slow] if b.slow else [])
                                 for b in BUGS])
def test_injected_bug_makes_the_claim_fail(bug, monkeypatch, fresh_caches):
    """The claim holds on the intact library and fails, at the same setting and seed, with the bug in."""
    claim = get_claim(bug.claim)
    assert claim.section == bug.section
    setting = bug.setting(claim)
    clean = claim.check(setting, seeds=(0,), device=CPU)
    assert clean.holds, f"{bug.claim} must hold without the bug at {setting!r}: {clean.estimate.short()}"
    bug.inject(monkeypatch)
    _clear_measurement_caches()
    broken = claim.check(setting, seeds=(0,), device=CPU)
    assert not broken.holds, (f"{bug.name} went unnoticed: {bug.claim} still holds, measured "
                              f"{broken.estimate.short()} against {broken.bound_text}")


def test_bug_tally_per_section(capsys):
    """At least two bugs per paper section run by default, each aimed at a claim of that section; the tally
    (injected / in the default run) is printed for the report."""
    injected = Counter(b.section for b in BUGS)
    default = Counter(b.section for b in BUGS if not b.slow)
    for section in SECTIONS:
        assert default[section] >= 2, f"section {section} needs at least two bugs in the default run"
    assert all(get_claim(b.claim).section == b.section for b in BUGS)
    with capsys.disabled():
        print("\nsensitivity: " + "; ".join(f"section {s}: {injected[s]} bugs ({default[s]} by default)"
                                            for s in SECTIONS))


def test_authors_snr_is_caught_by_the_estimator_check_not_by_a_claim(monkeypatch):
    """The authors' SNR (plug-in signal ||mean g||^2, noise M - S**2) is biased upward by E||g - mu||^2 / n.
    No claim notices it: the claims use antithetic tuples, whose averaged gradient has so little noise that
    the bias floor stays far below their bounds (measured: snr_falls_with_k and snr_far_below_decomposition
    hold with it, CNN and proxy, with and without antithetic tuples). The estimator check does: over 400
    replicates of g ~ N(mu, I_5) with ||mu||^2 = 0.2 and n = 40, the intact signal's mean is within 4
    standard errors of the truth, the authors' is off by its bias 5/40."""
    replicates, tuples, groups, dim = 400, 40, 4, 5
    mu = torch.full((dim,), 0.2, dtype=torch.float64)
    g = torch.randn(replicates, groups, tuples // groups, dim, generator=torch.Generator().manual_seed(11),
                    dtype=torch.float64) + mu
    sums, squares = g.sum(2), g.square().sum((2, 3))
    count = torch.full((groups,), tuples / groups, dtype=torch.float64)

    def signal_error_in_standard_errors() -> float:
        values = torch.tensor([snr.Moments(count=count, mean_sum=sums[r], mean_sq=squares[r],
                                           second=squares[r]).signal() for r in range(replicates)])
        return float((values.mean() - mu @ mu) / (values.std() / replicates**0.5))

    assert abs(signal_error_in_standard_errors()) <= 4
    _authors_snr(monkeypatch)
    assert signal_error_in_standard_errors() > 4

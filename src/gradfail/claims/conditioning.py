"""Section 4 of Shalev-Shwartz, Shamir & Shammah (ICML 2017): architecture and conditioning.

Encoding a piecewise-linear curve f = W p (p: its slope changes) is a linear, convex problem: the answer is
U = W^{-1}, the second difference (Lemma 1). Yet gradient methods on the fully connected map need about
kappa(W) = S_11^2 / S_nn^2 = Omega(n^3.5) steps (Lemma 2, Theorem 3; measured about 1.3 n^4). A 3-tap
convolution has the same optimum with a 3x3 second moment C whose condition number is Theta(n^3) (A.5/A.6),
and whitening the rows by C^{-1/2} makes it 1, so steps no longer depend on n (Section 4.1.3). Claim ids
follow the digest's T15-T21 (shared/research/paper_digest.md §6); training claims (Figure 6, T22-T23) are in
gradfail.claims.conditioning_training.

Every claim here is exact linear algebra in float64 or a Monte Carlo estimate over independent replicates
with a Student-t interval (ALPHA).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from hypothesis import strategies as st

from gradfail.claims._core import Bound, Claim, Setting
from gradfail.data.curves import (CURVE_LAWS, curves_from_encodings, encoding_matrix, sample_encodings,
                                  second_difference_matrix)
from gradfail.experiments.conditioning import conv_condition_numbers, conv_gd_steps
from gradfail.measure.conditioning import (conv_rows, encoding_condition_number, expected_error_norm,
                                           expected_sgd_closed_form, expected_sgd_recursion, gd_steps_spectral,
                                           inverse_sqrt, second_moment, singular_values, symmetric_condition_number)
from gradfail.seeding import make_generator
from gradfail.stats import Estimate, mean_interval, slope_interval
from gradfail.validation import check_bool, check_choice, check_int, check_real

PAPER = "Shalev-Shwartz, Shamir & Shammah, Failures of Gradient-Based Deep Learning, ICML 2017"
ALPHA = 1e-3
CONV_NS = (25, 50, 100, 200, 400)
FC_NS = (50, 100, 200, 400, 800)


def _check_ns(ns: tuple[int, ...], lo: int, hi: int) -> None:
    check_int("number of sizes n", len(ns), 3, 12)
    for i, n in enumerate(ns):
        check_int(f"ns[{i}]", n, lo, hi)
    if list(ns) != sorted(set(ns)):
        raise ValueError(f"ns must be strictly increasing; got {ns!r}")


@lru_cache(maxsize=64)
def _singular_values(n: int, order: int = 2) -> torch.Tensor:
    return singular_values(encoding_matrix(n, order=order))


# --- T15: Lemma 1, U = W^{-1} is the second difference ----------------------------------------------------

@dataclass(frozen=True)
class InverseSetting(Setting):
    n: int
    w_offset: int = 0    # W[i, j] = [i - j + 1 + w_offset]_+ on and below the diagonal; the paper's W has 0

    def validate(self) -> None:
        check_int("n", self.n, 1, 1000)
        check_int("w_offset", self.w_offset, 0, 10)


def lemma1_error(setting: InverseSetting, *, seeds, device) -> Estimate:
    """max(|U W - I|, |(U f)_{2:} - conv_valid(f, [1, -2, 1])|) with integer p, so float64 is exact.

    f = W p for 3 random integer encodings p in {-2..2}^n; the convolution is numpy's, independent of U.
    """
    n = setting.n
    w = encoding_matrix(n) + setting.w_offset * encoding_matrix(n, order=1)
    u = second_difference_matrix(n)
    inverse_error = float((u @ w - torch.eye(n, dtype=torch.float64)).abs().max())
    p = torch.randint(-2, 3, (3, n), generator=make_generator(seeds[0], "lemma1", n)).to(torch.float64)
    f = p @ w.T
    conv = np.stack([np.convolve(row, [1.0, -2.0, 1.0], mode="valid") for row in f.numpy()])
    conv_error = float(np.abs((f @ u.T).numpy()[:, 2:] - conv).max()) if n >= 3 else 0.0
    return Estimate(max(inverse_error, conv_error),
                    detail={"inverse_error": inverse_error, "convolution_error": conv_error})


# --- T16: Lemma 2, the expected SGD iterate in closed form ----------------------------------------------

@dataclass(frozen=True)
class Lemma2Setting(Setting):
    n: int
    steps: int
    step_fraction: float          # eta lambda S_11^2, inside (0, 1) as Lemma 2 / Theorem 3 assume
    lam: float = 1.0              # E[p p^T] = lam I: Lemma 2's assumption ...
    p_correlation: float = 0.0    # ... broken when > 0: E[p p^T] = lam ((1 - rho) I + rho 1 1^T)

    def validate(self) -> None:
        check_int("n", self.n, 2, 60)
        check_int("steps", self.steps, 1, 1000)
        check_real("step_fraction", self.step_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
        check_real("lam", self.lam, 0.0, 100.0, lo_open=True)
        check_real("p_correlation", self.p_correlation, 0.0, 1.0, hi_open=True)


def lemma2_relative_error(setting: Lemma2Setting, *, seeds, device) -> Estimate:
    """||recursion - closed form||_F / ||closed form||_F after `steps` expected-SGD steps (float64).

    The recursion uses the true E[p p^T]; the closed form assumes it is lam I (Lemma 2).
    """
    n = setting.n
    w = encoding_matrix(n)
    eta_lambda = setting.step_fraction / float(_singular_values(n)[0] ** 2)
    rho = setting.p_correlation
    sigma = setting.lam * ((1 - rho) * torch.eye(n, dtype=torch.float64) + rho * torch.ones(n, n, dtype=torch.float64))
    recursion = expected_sgd_recursion(w, sigma, eta_lambda / setting.lam, setting.steps)
    closed = expected_sgd_closed_form(w, eta_lambda, setting.steps)
    return Estimate(float((recursion - closed).norm() / closed.norm()))


# --- T17: Theorem 3, the expected iterate is far from U for about kappa/2 steps --------------------------

@dataclass(frozen=True)
class Theorem3Setting(Setting):
    n: int
    step_fraction: float      # eta lambda S_11^2; Theorem 3 assumes < 1
    time_fraction: float      # t + 1 = max(1, floor(time_fraction * S_11^2 / (2 S_nn^2))); Theorem 3: <= 1

    def validate(self) -> None:
        check_int("n", self.n, 2, 800)
        check_real("step_fraction", self.step_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
        check_real("time_fraction", self.time_fraction, 0.0, 1000.0, lo_open=True)


def theorem3_distance(setting: Theorem3Setting, *, seeds, device) -> Estimate:
    """||E U_{t+1} - U||_2 = max_j |1 - eta lambda S_j^2|^{t+1} / S_j (A.4), with t + 1 as in the setting."""
    s = _singular_values(setting.n)
    kappa = encoding_condition_number(s)
    steps = max(1, int(setting.time_fraction * kappa / 2))
    eta_lambda = setting.step_fraction / float(s[0] ** 2)
    return Estimate(expected_error_norm(s, eta_lambda, steps), detail={"t_plus_1": steps, "kappa": kappa})


# --- T18: kappa(W) grows like n^4 (the paper proves Omega(n^3.5)) ---------------------------------------

@dataclass(frozen=True)
class FcGrowthSetting(Setting):
    ns: tuple[int, ...] = FC_NS
    order: int = 2      # 2: the paper's W (f from slope changes); 1: f from slopes (a running sum)

    def validate(self) -> None:
        _check_ns(self.ns, 10, 1600)
        check_int("order", self.order, 1, 2)


def fc_condition_slope(setting: FcGrowthSetting, *, seeds, device) -> Estimate:
    """Least-squares slope of log kappa(W) on log n (exact SVDs in float64; no sampling error)."""
    kappas = [encoding_condition_number(_singular_values(n, setting.order)) for n in setting.ns]
    slope = slope_interval(np.log(setting.ns), np.log(kappas), ALPHA).value
    return Estimate(slope, detail={"kappa": dict(zip(map(str, setting.ns), kappas)),
                                   "s_nn": float(_singular_values(setting.ns[-1], setting.order)[-1])})


# --- T19: the convolution's kappa(C) grows like n^3, far below kappa(W) ---------------------------------

@dataclass(frozen=True)
class ConvSetting(Setting):
    law: str = "paper"
    ns: tuple[int, ...] = CONV_NS
    curves: int = 1000          # curves per replicate (the digest's calibration used 4,000 in one sample)
    replicates: int = 4         # independent samples per n: their spread is the Monte Carlo error
    whiten: bool = False        # rows multiplied by C^{-1/2} (Section 4.1.3)
    fc_order: int = 2           # the W that kappa(C) is compared with (conv_far_better_conditioned_than_fc)

    def validate(self) -> None:
        check_choice("law", self.law, CURVE_LAWS)
        _check_ns(self.ns, 9, 1000)
        check_int("curves", self.curves, 10, 100_000)
        check_int("replicates", self.replicates, 2, 100)
        check_bool("whiten", self.whiten)
        check_int("fc_order", self.fc_order, 1, 2)


def _conv_kappas(setting: ConvSetting, seed: int) -> np.ndarray:
    return conv_condition_numbers(setting.ns, law=setting.law, curves=setting.curves,
                                  replicates=setting.replicates, seed=seed, whiten=setting.whiten)


def _loglog_slope(ns: tuple[int, ...], values: np.ndarray) -> Estimate:
    """Slope of log(values) on log(n), pooling every replicate row; Student-t interval at ALPHA."""
    x = np.log(np.broadcast_to(np.asarray(ns, dtype=float), values.shape)).ravel()
    return slope_interval(x, np.log(values).ravel(), ALPHA)


def conv_condition_slope(setting: ConvSetting, *, seeds, device) -> Estimate:
    """Slope of log kappa(C) on log n over independent Monte Carlo replicates (A.5/A.6: Theta(n^3))."""
    kappas = _conv_kappas(setting, seeds[0])
    estimate = _loglog_slope(setting.ns, kappas)
    median = dict(zip(map(str, setting.ns), np.median(kappas, axis=0).round(1).tolist()))
    return Estimate(estimate.value, estimate.lo, estimate.hi, alpha=ALPHA, detail={"median_kappa": median})


def conv_vs_fc_gap(setting: ConvSetting, *, seeds, device) -> Estimate:
    """min over n of log10(kappa(W) / kappa(C)), with a Student-t interval over replicates at the worst n."""
    log_conv = np.log10(_conv_kappas(setting, seeds[0]))
    log_fc = np.log10([encoding_condition_number(_singular_values(n, setting.fc_order)) for n in setting.ns])
    gaps = log_fc[None, :] - log_conv                       # (replicates, len(ns))
    worst = int(np.argmin(gaps.mean(axis=0)))
    estimate = mean_interval(gaps[:, worst], ALPHA)
    return Estimate(estimate.value, estimate.lo, estimate.hi, alpha=ALPHA,
                    detail={"worst_n": setting.ns[worst], "mean_gap": gaps.mean(axis=0).round(3).tolist()})


# --- T20: whitening makes the conditioning trivial ------------------------------------------------------

@dataclass(frozen=True)
class WhiteningSetting(Setting):
    n: int
    law: str = "paper"
    curves: int = 1000
    estimate_curves: int = 0    # 0: C^{-1/2} from the same sample (the method); > 0: from that many other curves

    def validate(self) -> None:
        check_int("n", self.n, 9, 400)
        check_choice("law", self.law, CURVE_LAWS)
        check_int("curves", self.curves, 10, 100_000)
        check_int("estimate_curves", self.estimate_curves, 0, 100_000)


def whitened_condition_excess(setting: WhiteningSetting, *, seeds, device) -> Estimate:
    """kappa(C^{-1/2} C C^{-1/2}) - 1 for the rows' uncentred second moment C (float64)."""
    def moment(count: int, label: str) -> torch.Tensor:
        p = sample_encodings(setting.n, count, law=setting.law, generator=make_generator(seeds[0], "whiten", label))
        return second_moment(conv_rows(curves_from_encodings(p)))

    c = moment(setting.curves, "sample")
    root = inverse_sqrt(c if setting.estimate_curves == 0 else moment(setting.estimate_curves, "other"))
    return Estimate(symmetric_condition_number(root @ c @ root) - 1.0,
                    detail={"kappa_before": symmetric_condition_number(c)})


# --- T20/T21: gradient-descent steps follow the condition number ---------------------------------------

@dataclass(frozen=True)
class StepsSetting(Setting):
    whiten: bool
    law: str = "paper"
    ns: tuple[int, ...] = CONV_NS
    curves: int = 1000
    replicates: int = 4
    eps: float = 1e-6          # target held-out error, relative to the zero filter's

    def validate(self) -> None:
        check_choice("law", self.law, CURVE_LAWS)
        _check_ns(self.ns, 9, 1000)
        check_int("curves", self.curves, 10, 100_000)
        check_int("replicates", self.replicates, 2, 100)
        check_bool("whiten", self.whiten)
        check_real("eps", self.eps, 0.0, 0.5, lo_open=True)


def gd_steps_slope(setting: StepsSetting, *, seeds, device) -> Estimate:
    """Slope of log(steps to eps) on log n for full-batch GD (eta = 1/lambda_1) on the convolution's rows."""
    steps = conv_gd_steps(setting.ns, law=setting.law, curves=setting.curves, replicates=setting.replicates,
                          seed=seeds[0], whiten=setting.whiten, eps=setting.eps)
    estimate = _loglog_slope(setting.ns, steps.astype(float))
    median = dict(zip(map(str, setting.ns), np.median(steps, axis=0).tolist()))
    return Estimate(estimate.value, estimate.lo, estimate.hi, alpha=ALPHA, detail={"median_steps": median})


@dataclass(frozen=True)
class SpectralGdSetting(Setting):
    dim: int
    log10_kappa: float         # lambda_1 = 1, lambda_min = 10^-log10_kappa, the rest log-uniform between
    eps: float                 # target ||w_t - w*||; below 0.5 so that the lower bound applies
    eta_factor: float = 1.0    # eta = eta_factor / lambda_1; A.5 chooses 1

    def validate(self) -> None:
        check_int("dim", self.dim, 2, 500)
        check_real("log10_kappa", self.log10_kappa, 0.0, 12.0)
        check_real("eps", self.eps, 0.0, 0.5, lo_open=True, hi_open=True)
        check_real("eta_factor", self.eta_factor, 0.0, 1.0, lo_open=True)


def gd_steps_against_bounds(setting: SpectralGdSetting, *, seeds, device) -> Estimate:
    """max(steps / ceil(kappa ln(||w*|| / eps)), ceil(kappa / 2) / steps) for GD on a quadratic (A.5).

    A.5: with eta = 1/lambda_1, ||w_t - w*|| <= (1 - 1/kappa)^t ||w*|| <= eps once t >= kappa ln(||w*||/eps);
    and if w*'s coordinate on the lowest eigenvector is 1, the error stays >= 1 - t/kappa > 0.5 >= eps while
    t < kappa / 2 (the paper prints 0.5 D_nn/D_11 for 0.5 D_11/D_nn, digest §5 item 11). Both hold iff <= 1.
    """
    generator = make_generator(seeds[0], "spectral_gd", setting.dim)
    kappa = 10.0**setting.log10_kappa
    inner = torch.rand(setting.dim - 2, generator=generator, dtype=torch.float64)
    eigenvalues = torch.cat([torch.ones(1, dtype=torch.float64), kappa ** -inner,
                             torch.full((1,), 1 / kappa, dtype=torch.float64)])
    coefficients = torch.randn(setting.dim, generator=generator, dtype=torch.float64)
    coefficients[-1] = 1.0
    steps = gd_steps_spectral(eigenvalues, coefficients, setting.eta_factor, setting.eps)
    upper = max(1, int(np.ceil(kappa * np.log(float(coefficients.norm()) / setting.eps))))
    lower = int(np.ceil(kappa / 2))
    return Estimate(max(steps / upper, lower / steps), detail={"steps": steps, "upper": upper, "lower": lower})


# --- The records ---------------------------------------------------------------------------------------

LEMMAS = f"{PAPER}, Section 4.1"


def _sizes(lo: int, hi: int):
    """Strictly increasing tuples of 3-5 sizes from the doubling grid between lo and hi."""
    grid = [n for n in (25, 50, 75, 100, 150, 200, 300, 400, 600, 800) if lo <= n <= hi]
    return st.lists(st.sampled_from(grid), min_size=3, max_size=5, unique=True).map(lambda ns: tuple(sorted(ns)))


CONDITIONING_CLAIMS = (
    Claim(
        id="conditioning.second_difference_inverts_encoding",
        statement="The encoding matrix W (W[i, j] = [i - j + 1]_+) has inverse U, the banded second difference "
                  "(1, -2, 1), so U f is the valid convolution of f with [1, -2, 1].",
        source=f"{LEMMAS}, Lemma 1",
        section="4",
        quantity="max(|UW - I|, |Uf - conv(f, [1,-2,1])|), integer data",
        measure=lemma1_error,
        bound=Bound(relation="le", rhs=lambda s: 0.0, why="integer arithmetic, exact in float64"),
        settings=st.builds(InverseSetting, n=st.integers(1, 1000)),
        reference=InverseSetting(n=100),
        violation=InverseSetting(n=100, w_offset=1),   # an off-by-one in W's first column (2, 3, ..., n+1)
    ),
    Claim(
        id="conditioning.expected_sgd_closed_form",
        statement="With U_0 = 0 and E[p p^T] = lambda I, the expected SGD iterate is "
                  "eta lambda W^T sum_{i<t} (I - eta lambda W W^T)^i.",
        source=f"{LEMMAS}, Lemma 2 and Appendix A.3",
        section="4",
        quantity="relative Frobenius distance between the expected-SGD recursion and the closed form",
        measure=lemma2_relative_error,
        bound=Bound(relation="le", rhs=lambda s: 0.0, atol=1e-9, why="float64 rounding over at most 1000 steps"),
        settings=st.builds(Lemma2Setting, n=st.integers(2, 30), steps=st.integers(1, 200),
                           step_fraction=st.floats(0.01, 0.99), lam=st.sampled_from([0.1, 1.0, 3.0])),
        reference=Lemma2Setting(n=20, steps=200, step_fraction=0.9),
        # Correlated slope changes: E[p p^T] is not a multiple of I, so the closed form no longer applies.
        violation=Lemma2Setting(n=20, steps=200, step_fraction=0.5, p_correlation=0.05),
    ),
    Claim(
        id="conditioning.theorem3_expected_iterate_stays_far",
        statement="If eta lambda S_11^2 < 1, the expected SGD iterate stays at spectral distance >= 0.5 from "
                  "U = W^{-1} for every t + 1 <= S_11^2 / (2 S_nn^2) steps.",
        source=f"{LEMMAS}, Theorem 3 and Appendix A.4",
        section="4",
        quantity="||E U_{t+1} - U||_2",
        measure=theorem3_distance,
        bound=Bound(relation="ge", rhs=lambda s: 0.5, why="exact spectral formula (A.4), float64 in log space"),
        settings=st.builds(Theorem3Setting, n=st.integers(2, 400), step_fraction=st.floats(0.01, 0.999),
                           time_fraction=st.floats(1e-6, 1.0)),
        reference=Theorem3Setting(n=100, step_fraction=0.99, time_fraction=1.0),
        violation=Theorem3Setting(n=100, step_fraction=0.99, time_fraction=40.0),  # 20 kappa steps: converged
    ),
    Claim(
        id="conditioning.fc_condition_number_grows_like_n4",
        statement="The condition number S_11^2 / S_nn^2 of W grows at least like n^3.5 (Theorem 3); its fitted "
                  "log-log slope over n in [50, 800] is in [3.5, 4.1] (measured about 1.3 n^4).",
        source=f"{LEMMAS}, Theorem 3 (Omega(n^3.5); A.4 prints n^-3.5) and digest §3.4 (c)",
        section="4",
        quantity="slope of log kappa(W) on log n",
        measure=fc_condition_slope,
        bound=Bound(relation="within", rhs=lambda s: (3.5, 4.1),
                    why="3.5 is the paper's bound; local slopes are 3.81-3.99 over [50, 800], so 4.1 leaves room"),
        settings=st.builds(FcGrowthSetting, ns=_sizes(50, 800)),
        reference=FcGrowthSetting(),
        violation=FcGrowthSetting(order=1),   # encoding f by its slopes (a running sum): kappa grows like n^2
    ),
    Claim(
        id="conditioning.conv_condition_number_grows_like_n3",
        statement="The 3x3 second moment C of the convolution's rows [f_{t-1}, f_t, f_{t+1}] has a condition "
                  "number growing like n^3: the fitted log-log slope is in [2.7, 3.3] for both curve laws.",
        source=f"{PAPER}, Section 4.1.2 and Appendix A.5-A.6 (Theta(n^3))",
        section="4",
        quantity="slope of log kappa(C) on log n, n = 25..400",
        measure=conv_condition_slope,
        bound=Bound(relation="within", rhs=lambda s: (2.7, 3.3),
                    why="Theta(n^3); measured 2.95 (paper law) and 3.13 (code law) with intervals +-0.07"),
        settings=st.builds(ConvSetting, law=st.sampled_from(CURVE_LAWS)),
        reference=ConvSetting(),
        error_budget=ALPHA,
        violation=ConvSetting(whiten=True),   # whitened rows: kappa = 1 at every n, slope 0
    ),
    Claim(
        id="conditioning.conv_far_better_conditioned_than_fc",
        statement="The convolution's condition number kappa(C) is at least 10 times smaller than the fully "
                  "connected map's kappa(W) at every n from 25 to 400.",
        source=f"{PAPER}, Section 4.1.2 and Appendix A.5 (Theta(n^3) against Omega(n^3.5))",
        section="4",
        quantity="min over n of log10(kappa(W) / kappa(C))",
        measure=conv_vs_fc_gap,
        bound=Bound(relation="ge", rhs=lambda s: 1.0, why="the gap is smallest at n = 25 (measured 1.3, paper law)"),
        settings=st.builds(ConvSetting, law=st.sampled_from(CURVE_LAWS)),
        reference=ConvSetting(),
        error_budget=ALPHA,
        violation=ConvSetting(fc_order=1),   # against the slopes' running sum (kappa ~ n^2), C is worse
    ),
    Claim(
        id="conditioning.whitening_makes_second_moment_identity",
        statement="Whitening the convolution's rows by C^{-1/2} of the same sample makes the condition number "
                  "of their second moment 1 (within 1e-6), whatever n and the curve law.",
        source=f"{PAPER}, Section 4.1.3 (explicit conditioning) and Appendix A.5",
        section="4",
        quantity="kappa(C^{-1/2} C C^{-1/2}) - 1",
        measure=whitened_condition_excess,
        bound=Bound(relation="le", rhs=lambda s: 0.0, atol=1e-6,
                    why="exact by construction; float64 eigh on kappa(C) <= 1e8 leaves about 1e-8"),
        settings=st.builds(WhiteningSetting, n=st.integers(9, 400), law=st.sampled_from(CURVE_LAWS),
                           curves=st.integers(10, 2000)),
        reference=WhiteningSetting(n=100),
        violation=WhiteningSetting(n=100, estimate_curves=20),   # C^{-1/2} estimated on 20 other curves
    ),
    Claim(
        id="conditioning.whitened_gd_steps_flat_in_n",
        statement="After whitening, full-batch gradient descent reaches a fixed held-out error in a number of "
                  "steps that does not grow with n (fitted log-log slope within +-0.25).",
        source=f"{PAPER}, Section 4.1.3 and Appendix A.5 (order log(1/eps) iterations, independently of n)",
        section="4",
        quantity="slope of log(GD steps to held-out error 1e-6) on log n, n = 25..400",
        measure=gd_steps_slope,
        bound=Bound(relation="within", rhs=lambda s: (-0.25, 0.25),
                    why="whitened Hessian is the identity: 1 step at eta = 1 for every n"),
        settings=st.builds(StepsSetting, whiten=st.just(True), law=st.sampled_from(CURVE_LAWS),
                           eps=st.sampled_from([1e-3, 1e-6, 1e-9])),
        reference=StepsSetting(whiten=True),
        error_budget=ALPHA,
        violation=StepsSetting(whiten=False),
    ),
    Claim(
        id="conditioning.conv_gd_steps_grow_like_n3",
        statement="Without whitening, full-batch gradient descent on the convolution needs a number of steps to "
                  "a fixed held-out error that grows like n^3 (fitted log-log slope in [2.7, 3.3]).",
        source=f"{PAPER}, Section 4.1.2 and Appendix A.5 (iterations of order kappa(C) = Theta(n^3))",
        section="4",
        quantity="slope of log(GD steps to held-out error 1e-6) on log n, n = 25..400",
        measure=gd_steps_slope,
        bound=Bound(relation="within", rhs=lambda s: (2.7, 3.3),
                    why="steps ~ kappa(C) log(1/eps) / 2; measured slopes 2.95 (paper law), 3.13 (code law)"),
        settings=st.builds(StepsSetting, whiten=st.just(False), law=st.sampled_from(CURVE_LAWS),
                           eps=st.sampled_from([1e-3, 1e-6, 1e-9])),
        reference=StepsSetting(whiten=False),
        error_budget=ALPHA,
        violation=StepsSetting(whiten=True),
    ),
    Claim(
        id="conditioning.gd_steps_within_spectral_bounds",
        statement="Gradient descent with eta = 1/lambda_1 on a quadratic reaches error eps < 0.5 within "
                  "kappa ln(||w*|| / eps) steps, and not before kappa / 2 steps when w* has unit weight on the "
                  "lowest eigenvector.",
        source=f"{PAPER}, Appendix A.5 (upper and lower bounds; the lower bound's ratio is printed inverted)",
        section="4",
        quantity="max(steps / upper bound, lower bound / steps)",
        measure=gd_steps_against_bounds,
        bound=Bound(relation="le", rhs=lambda s: 1.0, why="exact step counts from the spectral error formula"),
        settings=st.builds(SpectralGdSetting, dim=st.integers(2, 200), log10_kappa=st.floats(0.0, 10.0),
                           eps=st.floats(1e-10, 0.49)),
        reference=SpectralGdSetting(dim=100, log10_kappa=8.0, eps=1e-6),
        violation=SpectralGdSetting(dim=100, log10_kappa=8.0, eps=1e-6, eta_factor=0.1),   # 10x too small a step
    ),
)

from gradfail.claims.conditioning_training import TRAINING_CLAIMS  # noqa: E402  (Figure 6: T22, T23)

CLAIMS = CONDITIONING_CLAIMS + TRAINING_CLAIMS

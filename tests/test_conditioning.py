"""Section 4 library: curve laws, the encoding matrix, spectral formulas, exact GD step counts, and errata."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradfail.claims.conditioning import (ConvSetting, FcGrowthSetting, InverseSetting, Lemma2Setting,
                                          SpectralGdSetting, StepsSetting, Theorem3Setting, WhiteningSetting)
from gradfail.data.curves import (SLOPE_PATTERNS, encoding_matrix, near_kink_mask,
                                  sample_curves, sample_encodings, second_difference_matrix, smooth_kink_curves)
from gradfail.measure.conditioning import (conv_rows, expected_error_norm, expected_sgd_closed_form,
                                           expected_sgd_recursion, gd_steps_matrix_power, gd_steps_spectral,
                                           inverse_sqrt, second_moment, singular_values, symmetric_condition_number)
from gradfail.seeding import make_generator

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return make_generator(seed, "test_conditioning")


# --- the encoding ------------------------------------------------------------------------------------------

def test_encoding_matrix_is_lower_triangular_toeplitz_with_first_column_one_to_n():
    w = encoding_matrix(6)
    assert torch.equal(w[:, 0], torch.arange(1, 7, dtype=F64))
    assert torch.equal(w, torch.tril(w))
    for offset in range(6):
        assert torch.unique(torch.diagonal(w, -offset)).numel() == 1


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_second_difference_inverts_the_encoding_for_tiny_n(n):
    assert torch.equal(second_difference_matrix(n) @ encoding_matrix(n), torch.eye(n, dtype=F64))


def test_slope_encoding_has_the_first_difference_as_inverse():
    n = 8
    first_difference = torch.eye(n, dtype=F64) - torch.diag(torch.ones(n - 1, dtype=F64), -1)
    assert torch.equal(first_difference @ encoding_matrix(n, order=1), torch.eye(n, dtype=F64))


@settings(max_examples=25)
@given(n=st.integers(1, 120), kinks=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_paper_law_draws_distinct_breakpoints_and_bounded_slope_changes(n, kinks, seed):
    kinks = min(kinks, n)
    p = sample_encodings(n, 50, law="paper", kinks=kinks, generator=_gen(seed))
    assert p.shape == (50, n)
    assert bool(((p != 0).sum(dim=1) == kinks).all())      # a_i = 0 has probability 0
    assert float(p.abs().max()) <= 1.0


@settings(max_examples=25)
@given(n=st.integers(9, 120), seed=st.integers(0, 10**6))
def test_code_law_uses_the_authors_patterns_inside_the_margin(n, seed):
    p = sample_encodings(n, 50, law="code", generator=_gen(seed))
    patterns = {tuple(pattern) for pattern in SLOPE_PATTERNS}
    for row in p:
        where = row.nonzero().squeeze(1)
        assert len(where) == 3 and int(where.min()) >= 3 and int(where.max()) <= n - 4
        assert tuple(torch.cumsum(row[where], 0).tolist()) in patterns   # slopes of the three segments


@settings(max_examples=20)
@given(n=st.integers(1, 60), law=st.sampled_from(["paper", "code"]), seed=st.integers(0, 10**6))
def test_curves_follow_the_hinge_formula_and_decode_exactly(n, law, seed):
    if law == "code" and n < 9:
        n = 9
    f, p = sample_curves(n, 5, law=law, kinks=min(3, n), generator=_gen(seed))
    x = torch.arange(n, dtype=F64)
    direct = ((x[None, :, None] - x[None, None, :] + 1).clamp(min=0) * p[:, None, :]).sum(-1)  # sum_j p_j [x-j+1]_+
    torch.testing.assert_close(f, direct, rtol=0, atol=1e-12)
    torch.testing.assert_close(f @ second_difference_matrix(n).T, p, rtol=0, atol=1e-10)


def test_curves_are_deterministic_per_generator():
    a, _ = sample_curves(50, 10, law="code", generator=_gen(3))
    b, _ = sample_curves(50, 10, law="code", generator=_gen(3))
    c, _ = sample_curves(50, 10, law="code", generator=_gen(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_smooth_kink_curves_are_linear_away_from_their_kinks():
    f, theta = smooth_kink_curves(100, 20, generator=_gen())
    second = f[:, 2:] - 2 * f[:, 1:-1] + f[:, :-2]                  # at x = 1..n-2
    near = near_kink_mask(theta, 100, radius=1.0)[:, 1:-1]
    assert float(second[~near].abs().max()) < 1e-12
    assert float(second[near].abs().max()) > 1e-3


def test_bad_curve_arguments_name_the_field():
    with pytest.raises(ValueError, match="law must be one of"):
        sample_encodings(20, 5, law="text", generator=_gen())
    with pytest.raises(ValueError, match="kinks must be 3 for law 'code'"):
        sample_encodings(20, 5, law="code", kinks=4, generator=_gen())
    with pytest.raises(ValueError, match=r"n must be an integer in \[9"):
        sample_encodings(8, 5, law="code", generator=_gen())
    with pytest.raises(ValueError, match=r"kinks must be an integer in \[1, 5\]"):
        sample_encodings(5, 5, law="paper", kinks=6, generator=_gen())


# --- spectra --------------------------------------------------------------------------------------------

def test_condition_number_matches_the_digest_and_smallest_singular_value_tends_to_a_quarter():
    s100, s800 = singular_values(encoding_matrix(100)), singular_values(encoding_matrix(800))
    assert float((s100[0] / s100[-1]) ** 2) == pytest.approx(1.35e8, rel=0.01)     # digest §3.4 (c)
    assert float(s800[-1]) == pytest.approx(0.25, abs=1e-4)                          # ||U||_2 -> 4


def test_conv_rows_are_the_sliding_windows():
    f = torch.arange(10, dtype=F64).reshape(2, 5)
    rows = conv_rows(f)
    assert rows.shape == (6, 3)
    assert rows[0].tolist() == [0, 1, 2] and rows[3].tolist() == [5, 6, 7]


def test_whitening_the_sample_gives_the_identity():
    f, _ = sample_curves(100, 200, generator=_gen())
    c = second_moment(conv_rows(f))
    root = inverse_sqrt(c)
    torch.testing.assert_close(root @ c @ root, torch.eye(3, dtype=F64), rtol=0, atol=1e-8)
    assert symmetric_condition_number(c) > 1e5


def test_inverse_sqrt_rejects_a_singular_matrix():
    with pytest.raises(ValueError, match="positive definite"):
        inverse_sqrt(torch.zeros(3, 3, dtype=F64))


# --- Lemma 2 / Theorem 3 -------------------------------------------------------------------------------------

def test_spectral_error_norm_equals_the_matrix_two_norm():
    n = 12
    w, u = encoding_matrix(n), second_difference_matrix(n)
    s = singular_values(w)
    eta_lambda = 0.7 / float(s[0] ** 2)
    for t in (1, 10, 300):
        direct = torch.linalg.matrix_norm(expected_sgd_closed_form(w, eta_lambda, t) - u, ord=2)
        assert expected_error_norm(s, eta_lambda, t) == pytest.approx(float(direct), rel=1e-9)


def test_theorem3_divergence_threshold_is_two_not_one():
    """Erratum (digest §3.4 (a)): the paper says E U_t diverges once eta lambda S_11^2 >= 1. The geometric
    series converges for every eta lambda S_j^2 in (0, 2): at 1.5 the iterate still tends to U; above 2 it blows up."""
    n = 6
    w, u = encoding_matrix(n), second_difference_matrix(n)
    s = singular_values(w)
    for fraction in (0.5, 1.5, 2.5):     # the spectral formula is the recursion's (checked at 200 steps)
        eta_lambda = fraction / float(s[0] ** 2)
        recursion = expected_sgd_recursion(w, torch.eye(n, dtype=F64), eta_lambda, 200)
        direct = float(torch.linalg.matrix_norm(recursion - u, ord=2))
        assert expected_error_norm(s, eta_lambda, 200) == pytest.approx(direct, rel=1e-8)
    late = {f: expected_error_norm(s, f / float(s[0] ** 2), 10**7) for f in (0.5, 1.5)}
    assert late[0.5] < 1e-6 and late[1.5] < 1e-6          # converges despite the paper's threshold of 1
    assert expected_error_norm(s, 2.5 / float(s[0] ** 2), 200) > 1e30   # diverges beyond 2


def test_lemma2_recursion_and_closed_form_agree_for_lambda_not_one():
    w = encoding_matrix(8)
    s = singular_values(w)
    eta_lambda = 0.5 / float(s[0] ** 2)
    recursion = expected_sgd_recursion(w, 3.0 * torch.eye(8, dtype=F64), eta_lambda / 3.0, 50)
    torch.testing.assert_close(recursion, expected_sgd_closed_form(w, eta_lambda, 50), rtol=1e-10, atol=0)


# --- exact gradient-descent step counts --------------------------------------------------------------------

def _loop_steps(hessian, w_star, eta, eps):
    w = torch.zeros_like(w_star)
    for t in range(100_000):
        if float((w - w_star).norm()) <= eps:
            return t
        w = w - eta * (hessian @ (w - w_star))
    raise AssertionError("did not converge")


@settings(max_examples=20)
@given(seed=st.integers(0, 10**6), dim=st.integers(2, 6), log_kappa=st.floats(0, 3), eps=st.floats(1e-6, 0.4))
def test_step_counts_by_matrix_powers_and_spectrum_equal_an_explicit_loop(seed, dim, log_kappa, eps):
    g = _gen(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=F64))
    eigenvalues = 10 ** (-log_kappa * torch.rand(dim, generator=g, dtype=F64))
    eigenvalues[0] = 1.0
    hessian = q @ torch.diag(eigenvalues) @ q.T
    w_star = torch.randn(dim, generator=g, dtype=F64)
    expected = _loop_steps(hessian, w_star, 1.0, eps)
    assert gd_steps_matrix_power(hessian, w_star, 1.0, lambda e: float(e.norm()), eps) == expected
    assert gd_steps_spectral(eigenvalues, q.T @ w_star, 1.0, eps) in (expected - 1, expected, expected + 1)


def test_step_count_refuses_a_divergent_step_size():
    with pytest.raises(ValueError, match="does not converge"):
        gd_steps_spectral(torch.tensor([1.0, 0.1], dtype=F64), torch.ones(2, dtype=F64), 2.5, 1e-3)


# --- settings reject bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("build, message", [
    (lambda: InverseSetting(n=0), r"n must be an integer in \[1, 1000\]"),
    (lambda: Lemma2Setting(n=10, steps=10, step_fraction=1.0), "step_fraction must be a finite number in"),
    (lambda: Lemma2Setting(n=10, steps=10, step_fraction=0.5, p_correlation=math.nan), "p_correlation"),
    (lambda: Theorem3Setting(n=10, step_fraction=0.5, time_fraction=0.0), "time_fraction"),
    (lambda: FcGrowthSetting(ns=(100, 50, 200)), "ns must be strictly increasing"),
    (lambda: FcGrowthSetting(ns=(50, 100)), r"number of sizes n must be an integer in \[3, 12\]"),
    (lambda: ConvSetting(law="book"), "law must be one of"),
    (lambda: WhiteningSetting(n=5), r"n must be an integer in \[9, 400\]"),
    (lambda: StepsSetting(whiten=False, eps=0.7), "eps must be a finite number in"),
    (lambda: SpectralGdSetting(dim=10, log10_kappa=2.0, eps=0.1, eta_factor=1.5), "eta_factor"),
])
def test_settings_reject_bad_values(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_steps_slope_detail_reports_medians():
    from gradfail.claims.conditioning import gd_steps_slope
    estimate = gd_steps_slope(StepsSetting(whiten=True, ns=(25, 50, 100), replicates=2), seeds=(0,), device="cpu")
    assert estimate.detail["median_steps"] == {"25": 1.0, "50": 1.0, "100": 1.0}
    assert np.isclose(estimate.value, 0.0)

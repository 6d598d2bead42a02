"""The information-exponent experiment: Hermite links, the step-size rule and the exact overlap chain."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gradfail.claims.single_index import SingleIndexSetting
from gradfail.experiments.single_index import (GRADIENT_SECOND_MOMENT, LINKS, batch_size, hermite, overlap_chain,
                                               sphere_sgd, step_size)

# Gauss-Hermite (probabilists') quadrature: exact for polynomials of degree < 2 * 40.
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
Z = torch.tensor(NODES)
W = torch.tensor(WEIGHTS / math.sqrt(2 * math.pi))


def gaussian_mean(values: torch.Tensor) -> float:
    return float((W * values).sum())


@pytest.mark.parametrize("j", LINKS)
@pytest.mark.parametrize("k", LINKS)
def test_hermite_links_are_orthonormal(j, k):
    """E[h_j(z) h_k(z)] = [j == k] for z ~ N(0, 1) (exact quadrature, float64)."""
    assert gaussian_mean(hermite(j, Z)[0] * hermite(k, Z)[0]) == pytest.approx(float(j == k), abs=1e-12)


@pytest.mark.parametrize("k", LINKS)
def test_hermite_derivative_and_gradient_moment(k):
    """h_k' matches a central difference, and E[c^2] at m = 0 is GRADIENT_SECOND_MOMENT[k] (Note [Step size])."""
    value, slope = hermite(k, Z)
    h = 1e-6
    numeric = (hermite(k, Z + h)[0] - hermite(k, Z - h)[0]) / (2 * h)
    torch.testing.assert_close(slope, numeric, rtol=1e-6, atol=1e-6)
    # a, b independent at m = 0: E[(h(b) - h(a))^2 h'(a)^2] = E[h'^2] + E[h^2 h'^2]
    second_moment = gaussian_mean(slope**2) + gaussian_mean(value**2 * slope**2)
    assert second_moment == pytest.approx(GRADIENT_SECOND_MOMENT[k], rel=1e-12)


def test_step_size_rule():
    """delta = beta 2k min(m^(k-2)) / E[c^2]: 1/2, 1/12 and m0/64 at beta = 1/4; batches keep eta <= 1/32."""
    assert step_size(1, 0.1, 0.5) == pytest.approx(0.5)
    assert step_size(2, 0.1, 0.5) == pytest.approx(1 / 12)
    assert step_size(3, 0.1, 0.5) == pytest.approx(0.1 / 64)
    assert batch_size(0.5, 16, 256) == 1 and batch_size(1 / 12, 32, 256) == 12 and batch_size(1e-4, 64, 256) == 256


def test_overlap_chain_matches_sgd_in_dimension_d():
    """The exact reduction (Note [Exact reduction]) has the hitting-time law of SGD on explicit vectors in R^d.

    Two-sample Kolmogorov-Smirnov test at alpha = 1e-3 on 600 runs each (He_2, d = 16, batch 6); the test is
    conservative for these discrete times.
    """
    d, m0, threshold = 16, 0.5 / 4, 0.5
    delta = step_size(2, m0, threshold)
    batch = batch_size(delta, d, 256)
    chain = overlap_chain(links=(2,), dims=(d,), runs=600, seed=0, max_steps=2000)
    assert (chain.batches == batch).all() and not chain.censored.any()
    full = sphere_sgd(link=2, d=d, runs=600, steps=2000, seed=0, batch=batch, delta=delta, initial_overlap=m0)
    assert (full > 0).all()
    assert stats.ks_2samp(chain.samples // batch, full).pvalue > 1e-3


def test_warm_start_is_faster_and_runs_are_reproducible():
    """Same seed, same hitting times; a warm start at overlap 0.3 needs fewer samples than the d^-1/2 / 2 start."""
    first = overlap_chain(links=(3,), dims=(16,), runs=16, seed=3, max_steps=3000)
    again = overlap_chain(links=(3,), dims=(16,), runs=16, seed=3, max_steps=3000)
    np.testing.assert_array_equal(first.samples, again.samples)
    warm = overlap_chain(links=(3,), dims=(16,), runs=16, seed=3, max_steps=3000, initial_overlap=0.3)
    assert np.median(warm.samples) < np.median(first.samples)


@pytest.mark.parametrize(("change", "field"), [({"links": (4,)}, "links"), ({"dims": (32, 16)}, "dims"),
                                                ({"runs": 1}, "runs"), ({"initial_overlap": 0.7}, "initial_overlap"),
                                                ({"beta": 1.0}, "beta")])
def test_bad_settings_name_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        SingleIndexSetting(**change)


def test_figure_is_drawn(tmp_path):
    """`gradfail figures lit_single_index` writes its PNG (smoke profile: 32 runs per (k, d))."""
    from gradfail.figures.lit_single_index import draw_lit_single_index

    path = draw_lit_single_index(tmp_path, profile="smoke", progress=False)
    assert path == tmp_path / "lit_single_index.png" and path.stat().st_size > 10_000

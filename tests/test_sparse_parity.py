"""Unit tests of the sparse-parity library code: the exact neuron gradient, padding, and the run summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gradfail.claims.sparse_parity import (FourierGapSetting, SparseParityTrainingSetting, persistent_overtake,
                                           steps_to_learn)
from gradfail.data.parity import cube_bits, encode
from gradfail.experiments.sparse_parity import ModelSpec, SparseParityRun, random_k_support, sparse_parity_sgd
from gradfail.measure.fourier_gap import neuron_population_gradients


def test_random_k_support_has_k_ones_and_checks_k():
    support = random_k_support(12, 5, generator=torch.Generator().manual_seed(0))
    assert support.shape == (12,) and int(support.sum()) == 5 and set(support.tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="k must be an integer in \\[0, 12\\]"):
        random_k_support(12, 13, generator=torch.Generator())


def _inits(count: int, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(count, n, generator=g, dtype=torch.float64) / math.sqrt(n),
            (2 * torch.rand(count, generator=g, dtype=torch.float64) - 1) / math.sqrt(n))


def test_neuron_gradient_matches_autograd_of_the_correlation():
    """g = E[chi_S(x) 1[w.x + b > 0] x] is the gradient of E[chi_S(x) relu(w.x + b)] in w (exact, n = 7)."""
    n, support = 7, torch.tensor([1, 0, 1, 1, 0, 0, 0])
    weights, biases = _inits(5, n)
    x = encode(cube_bits(n), "pm1", dtype=torch.float64)
    chi = torch.prod(torch.where(support.bool(), x, torch.ones_like(x)), dim=1)
    w = weights.clone().requires_grad_(True)
    (torch.relu(x @ w.T + biases) * chi[:, None]).mean(0).sum().backward()
    got = neuron_population_gradients(weights, biases, support)
    torch.testing.assert_close(got, w.grad, rtol=0, atol=1e-15)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_zero_bias_makes_the_odd_k_gradient_vanish_exactly(k):
    n = 9
    weights, _ = _inits(16, n)
    support = torch.zeros(n, dtype=torch.int64)
    support[:k] = 1
    zero = neuron_population_gradients(weights, torch.zeros(16, dtype=torch.float64), support)
    # k = 1 keeps the constant coefficient (degree 0) on S: only the off-S entries vanish.
    off_s = zero[:, k:] if k == 1 else zero
    assert off_s.abs().max().item() == 0.0
    _, biases = _inits(16, n)
    assert neuron_population_gradients(weights, biases, support).abs().max().item() > 1e-3


def test_neuron_gradient_checks_shapes():
    weights, biases = _inits(3, 5)
    with pytest.raises(ValueError, match="biases must have shape"):
        neuron_population_gradients(weights, biases[:2], torch.zeros(5, dtype=torch.int64))


def test_padding_is_exact():
    """Note [Padding]: a model in an ensemble padded to n_max = 12 trains as it does alone (n_max = n = 6)."""
    alone_spec, wide = ModelSpec(6, 2, 3), ModelSpec(12, 3, 0)
    common = dict(width=16, max_steps=60, eval_every=20, test_samples=200, stop_accuracy=None)
    alone = sparse_parity_sgd([alone_spec], **common)
    padded = sparse_parity_sgd([alone_spec, wide], **common)
    np.testing.assert_array_equal(alone.steps, padded.steps)
    np.testing.assert_array_equal(alone.correct[:, 0], padded.correct[:, 0])
    np.testing.assert_allclose(alone.support_move[:, 0], padded.support_move[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(alone.off_support_move[:, 0], padded.off_support_move[:, 0], rtol=1e-5, atol=1e-6)


def test_training_learns_an_easy_parity_and_stops_early():
    run = sparse_parity_sgd([ModelSpec(8, 2, 0)], width=64, max_steps=3000, eval_every=10, test_samples=1000)
    assert run.steps[-1] < 3000                        # stopped once the CP lower bound reached 0.99
    assert run.accuracy[-1, 0] >= 0.99
    assert run.support_move[-1, 0] > run.off_support_move[-1, 0]


def _run(accuracy, on, off, max_steps=100):
    accuracy = np.asarray(accuracy, dtype=np.float64)
    steps = np.arange(len(accuracy)) * 10
    specs = tuple(ModelSpec(10, 2, r) for r in range(accuracy.shape[1]))
    return SparseParityRun(specs, steps, np.rint(accuracy * 1000).astype(int), 1000, np.asarray(on, float),
                           np.asarray(off, float), max_steps)


def test_steps_to_learn_censors_at_the_budget():
    run = _run([[0.5, 0.5], [0.7, 0.5], [1.0, 0.5]], np.zeros((3, 2)), np.zeros((3, 2)), max_steps=20)
    assert steps_to_learn(run).tolist() == [20.0, 20.0]     # learned at the last evaluation; never
    run = _run([[0.5, 0.5], [1.0, 0.5], [1.0, 0.5]], np.zeros((3, 2)), np.zeros((3, 2)), max_steps=50)
    assert steps_to_learn(run).tolist() == [10.0, 50.0]


def test_persistent_overtake_needs_the_lead_to_last():
    on = [[0, 0], [2, 2], [1, 3], [3, 1]]
    off = [[1, 1], [1, 1], [2, 1], [1, 2]]
    run = _run(np.full((4, 2), 0.5), on, off)
    # Model 0 leads at step 10, falls behind at 20, leads again from 30; model 1 is behind at the end.
    assert persistent_overtake(run)[0] == 30.0
    assert math.isinf(persistent_overtake(run)[1])


@pytest.mark.parametrize("fields, message", [
    (dict(ns=(10, 10, 20)), "ns must be strictly increasing"),
    (dict(ks=(3, 2)), "ks must be two degrees"),
    (dict(replicates=0), "replicates must be an integer in \\[1, 64\\]"),
    (dict(plateau_n=40), "plateau_n must be an integer in \\[10, 30\\]"),
])
def test_training_setting_rejects_bad_fields(fields, message):
    with pytest.raises(ValueError, match=message):
        SparseParityTrainingSetting(**fields)


def test_fourier_gap_setting_rejects_n_below_k_plus_one():
    with pytest.raises(ValueError, match="ns\\[0\\] must be an integer in \\[4, 16\\]"):
        FourierGapSetting(k=3, ns=(3, 8))


def test_fourier_gap_figure_is_drawn(tmp_path):
    from gradfail.figures.lit_sparse_parity import draw_fourier_gap

    path = draw_fourier_gap(tmp_path, profile="smoke")
    assert path == tmp_path / "lit_sparse_parity_fourier_gap.png" and path.stat().st_size > 10_000


@pytest.mark.slow
def test_training_figures_are_drawn(tmp_path):
    from gradfail.figures.lit_sparse_parity import draw_hidden_progress, draw_scaling

    for draw, name in ((draw_scaling, "scaling"), (draw_hidden_progress, "hidden_progress")):
        path = draw(tmp_path, profile="smoke")
        assert path == tmp_path / f"lit_sparse_parity_{name}.png" and path.stat().st_size > 10_000

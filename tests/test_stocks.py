"""Unit tests of the stocks toy (Section 3.2, Figure 4): data, the batched model, the exact moments, settings."""

from __future__ import annotations

import math
import re

import pytest
import torch

from gradfail.claims.end_to_end import EstimatorSetting, RatioSetting, StocksTrainingSetting
from gradfail.data.stocks import best_classes, one_hot, outcome_distribution, sample_inputs, sample_outcomes
from gradfail.experiments.stocks import (
    BatchedLinearSoftmax,
    allocation_jacobian,
    enumerate_estimators,
    estimator_loss,
    fresh_sample_loss,
    gradient_sq_norms,
    population_loss,
    stocks_training,
)
from gradfail.models.mlp import truncated_normal_

DTYPE = torch.float64


def _assert_close(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float = 1e-12, atol: float = 1e-15) -> None:
    # torch.allclose rather than torch.testing.assert_close, whose first call imports torch.distributed (~1 s).
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max |diff| = {(actual - expected).abs().max()}"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_model(d: int, k: int, seeds=(1,), std: float = 1.0) -> BatchedLinearSoftmax:
    """A model at arbitrary weights (not an initialisation), so softmax outputs are far from uniform."""
    model = BatchedLinearSoftmax(d, k, [_gen(s) for s in seeds], dtype=DTYPE)
    with torch.no_grad():
        model.weight.copy_(std * torch.randn(model.weight.shape, generator=_gen(99), dtype=DTYPE))
        model.bias.copy_(std * torch.randn(model.bias.shape, generator=_gen(98), dtype=DTYPE))
    return model


# --- data --------------------------------------------------------------------------------------------------

def test_best_classes_and_inputs_have_the_right_shape_range_and_are_deterministic():
    """y(x) is (d,) int64 in [0, k); inputs are indices in [0, d); the same generator seed repeats them."""
    best = best_classes(50, 7, generator=_gen(0))
    assert best.shape == (50,) and best.dtype == torch.int64
    assert int(best.min()) >= 0 and int(best.max()) < 7
    assert torch.equal(best, best_classes(50, 7, generator=_gen(0)))
    assert not torch.equal(best, best_classes(50, 7, generator=_gen(1)))
    x = sample_inputs((3, 4), 50, generator=_gen(2))
    assert x.shape == (3, 4) and x.dtype == torch.int64 and int(x.max()) < 50
    assert torch.equal(x, sample_inputs((3, 4), 50, generator=_gen(2)))


def test_sampled_outcomes_have_z_best_one_and_fair_independent_signs():
    """z_y = 1; other coordinates are +-1 with mean 0 and no correlation (5 standard errors)."""
    k, n = 6, 40_000
    best = torch.randint(0, k, (n,), generator=_gen(3))
    z = sample_outcomes(best, k, generator=_gen(4), dtype=DTYPE)
    assert z.shape == (n, k) and z.dtype == DTYPE
    assert torch.all(z.gather(1, best.unsqueeze(1)) == 1)
    assert set(z.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(z, sample_outcomes(best, k, generator=_gen(4), dtype=DTYPE))
    others = z[best == 0][:, 1:]                                      # inputs with y = 0: columns 1..k-1
    se = 5 / math.sqrt(len(others))
    assert others.mean(0).abs().max() < se
    second = others.T @ others / len(others)
    assert (second - torch.eye(k - 1, dtype=DTYPE)).abs().max() < se


@pytest.mark.parametrize(("p", "c"), [(0.5, 0.0), (0.7, 0.0), (0.5, 0.5), (0.3, 0.25)])
def test_sampled_outcomes_follow_the_enumerated_distribution(p, c):
    """Monte Carlo frequencies of every z (k = 4) match outcome_distribution's probabilities (5 sigma)."""
    k, best, n = 4, 2, 40_000
    z_all, prob = outcome_distribution(k, best, plus_probability=p, common_sign=c)
    assert z_all.shape == (2 ** (k - 1), k) and torch.all(z_all[:, best] == 1)
    assert len({tuple(row) for row in z_all.tolist()}) == len(z_all)
    assert math.isclose(float(prob.sum()), 1.0, rel_tol=1e-14)
    z = sample_outcomes(torch.full((n,), best), k, generator=_gen(5), plus_probability=p, common_sign=c, dtype=DTYPE)
    counts = (z.unsqueeze(1) == z_all.unsqueeze(0)).all(-1).sum(0).to(DTYPE) / n
    sigma = (prob * (1 - prob) / n).sqrt()
    assert torch.all((counts - prob).abs() <= 5 * sigma + 1e-12)


def test_exact_outcome_moments_match_the_paper_only_for_fair_independent_signs():
    """E[z] = e_y and E[z z^T] = I for the paper's law; a bias moves the mean, a common sign the cross terms."""
    k, best = 5, 1
    for p, c, mean_ok, second_ok in [(0.5, 0.0, True, True), (0.7, 0.0, False, False), (0.5, 0.5, True, False)]:
        z, prob = outcome_distribution(k, best, plus_probability=p, common_sign=c)
        mean = prob @ z
        second = z.T @ (prob.unsqueeze(1) * z)
        assert torch.allclose(mean, one_hot(torch.tensor(best), k, dtype=DTYPE), atol=1e-15) == mean_ok
        assert torch.allclose(second, torch.eye(k, dtype=DTYPE), atol=1e-15) == second_ok


# --- the batched model -------------------------------------------------------------------------------------

def test_batched_model_initialisation_is_the_authors_truncated_normal():
    """Model m's (d, k) weights are the (k, d) truncated normal of std 1/sqrt(d) from generators[m], transposed."""
    d, k, seeds = 9, 4, (3, 4)
    model = BatchedLinearSoftmax(d, k, [_gen(s) for s in seeds], dtype=DTYPE)
    for m, seed in enumerate(seeds):
        expected = truncated_normal_(torch.empty(k, d, dtype=DTYPE), 1 / math.sqrt(d), generator=_gen(seed))
        assert torch.equal(model.weight[m].detach(), expected.T)
    assert torch.equal(model.bias.detach(), torch.zeros(len(seeds), 1, k, dtype=DTYPE))


def test_batched_forward_equals_each_models_dense_one_hot_product():
    """Row indexing equals the authors' softmax(one_hot(x) W_m + b_m) for every model."""
    d, k, seeds = 11, 5, (1, 2, 3)
    model = _random_model(d, k, seeds)
    index = torch.randint(0, d, (len(seeds), 7), generator=_gen(6))
    allocations = model(index)
    assert allocations.shape == (len(seeds), 7, k)
    for m in range(len(seeds)):
        dense = torch.softmax(one_hot(index[m], d, dtype=DTYPE) @ model.weight[m] + model.bias[m], dim=-1)
        _assert_close(allocations[m], dense, rtol=0, atol=1e-15)
    _assert_close(model.allocations_all()[:, index[0]][0], allocations[0], rtol=0, atol=1e-15)


def test_estimator_loss_with_label_targets_is_minus_the_allocation_of_the_best_class():
    """-e_y^T N(x) averaged over the batch; -z^T N(x) for z targets."""
    model = _random_model(6, 4, (0, 1))
    index = torch.randint(0, 6, (2, 5), generator=_gen(7))
    best = torch.randint(0, 4, (2, 5), generator=_gen(8))
    allocations = model(index)
    expected = -allocations.gather(-1, best.unsqueeze(-1)).squeeze(-1).mean(-1)
    _assert_close(estimator_loss(allocations, one_hot(best, 4, dtype=DTYPE)), expected)


def test_a_model_trains_the_same_inside_an_ensemble_as_alone():
    """Seed 1's final losses are the same alone or next to seed 0 (Note [Stocks ensembles]); both estimators
    of one seed start from the same weights."""
    kwargs = dict(k=5, d=20, steps=30, batch=8, eval_every=10, dtype=DTYPE)
    together = stocks_training(seeds=(0, 1), **kwargs)
    alone = stocks_training(seeds=(1,), **kwargs)
    for estimator in ("end_to_end", "decomposition"):
        _assert_close(torch.from_numpy(together.curve(estimator)[:, 1]),
                                   torch.from_numpy(alone.curve(estimator)[:, 0]), rtol=0, atol=1e-12)
    assert together.trace.steps.tolist() == [0, 10, 20, 30]
    assert together.curve("end_to_end")[0].tolist() == together.curve("decomposition")[0].tolist()
    assert not torch.equal(together.model.weight[0], together.model.weight[2])   # training moved them apart


def test_population_loss_is_the_mean_of_fresh_sample_losses():
    """The exact L(w) agrees with the authors' fresh-sample estimate within a Hoeffding bound (alpha 1e-6)."""
    d, k, n = 30, 6, 20_000
    model = _random_model(d, k, (0, 1), std=2.0)
    best = torch.stack([best_classes(d, k, generator=_gen(s)) for s in (10, 11)])
    exact = population_loss(model, best)
    fresh = fresh_sample_loss(model, best, n, generators=[_gen(12), _gen(13)])
    half_width = 2 * math.sqrt(math.log(2 / 1e-6) / (2 * n))           # terms in [-1, 1]
    assert torch.all((exact - fresh).abs() < half_width)
    assert torch.all(exact < -1 / k + 0.3) and torch.all(exact > -1)   # a real, non-trivial value


# --- exact moments (Eq. (2), (3)) --------------------------------------------------------------------------

def test_closed_form_gradient_norms_equal_autograd():
    """||G_i||^2 = 2 s_i^2 (1 - 2 s_i + ||s||^2) against torch.func's Jacobian, at non-uniform softmax outputs."""
    d, k = 7, 5
    model = _random_model(d, k, std=3.0)
    jacobian = allocation_jacobian(model)
    assert jacobian.shape == (d, k, d * k + k)
    closed = gradient_sq_norms(model.allocations_all()[0])
    _assert_close(jacobian.pow(2).sum(-1), closed, rtol=1e-12, atol=1e-15)
    _assert_close(jacobian.sum(1), torch.zeros(d, d * k + k, dtype=DTYPE), rtol=0, atol=1e-15)


def test_exact_second_moment_identity_against_monte_carlo():
    """E_z||-z^T grad N||^2 by enumeration equals sum_i ||G_i||^2 and the Monte Carlo mean over sampled z."""
    d, k, n = 5, 6, 20_000
    model = _random_model(d, k, std=2.0)
    best = best_classes(d, k, generator=_gen(20))
    moments = enumerate_estimators(model, best)
    _assert_close(moments.end_to_end_second, moments.sum_sq_norms, rtol=1e-12, atol=0)
    _assert_close(moments.end_to_end_mean, moments.decomposition, rtol=0, atol=1e-14)
    jacobian = allocation_jacobian(model)
    for j in range(d):
        z = sample_outcomes(torch.full((n,), int(best[j])), k, generator=_gen(21 + j), dtype=DTYPE)
        squares = (-z @ jacobian[j]).pow(2).sum(1)
        sem = float(squares.std() / math.sqrt(n))
        assert abs(float(squares.mean() - moments.sum_sq_norms[j])) < 5 * sem + 1e-15


def test_enumeration_detects_biased_and_correlated_outcomes():
    """A biased z breaks unbiasedness; a common sign keeps the mean but breaks the second-moment identity."""
    d, k = 4, 5
    model = _random_model(d, k)
    best = best_classes(d, k, generator=_gen(30))
    biased = enumerate_estimators(model, best, plus_probability=0.7)
    _assert_close(biased.end_to_end_mean, 0.6 * biased.decomposition, rtol=1e-12, atol=1e-15)
    correlated = enumerate_estimators(model, best, common_sign=0.5)
    _assert_close(correlated.end_to_end_mean, correlated.decomposition, rtol=0, atol=1e-14)
    assert torch.all((correlated.end_to_end_second - correlated.sum_sq_norms).abs() > 1e-3 * correlated.sum_sq_norms)


# --- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("build", "field"), [
    (lambda: EstimatorSetting(k=1), "k"),
    (lambda: EstimatorSetting(k=13), "k"),
    (lambda: EstimatorSetting(k=4, d=0), "d"),
    (lambda: EstimatorSetting(k=4, weight_std=0.0), "weight_std"),
    (lambda: EstimatorSetting(k=4, plus_probability=1.5), "plus_probability"),
    (lambda: EstimatorSetting(k=4, common_sign=-0.1), "common_sign"),
    (lambda: RatioSetting(k=1), "k"),
    (lambda: RatioSetting(k=10, trained_steps=-1), "trained_steps"),
    (lambda: StocksTrainingSetting(k=1, steps=10), "k"),
    (lambda: StocksTrainingSetting(k=10, steps=-1), "steps"),
    (lambda: StocksTrainingSetting(k=10, steps=10, lr=0.0), "lr"),
    (lambda: StocksTrainingSetting(k=10, steps=10, batch=0), "batch"),
    (lambda: StocksTrainingSetting(k=10, steps=10, d=0), "d"),
    (lambda: StocksTrainingSetting(k=10, steps=10, estimators=("sgd",)), "estimators[0]"),
    (lambda: StocksTrainingSetting(k=10, steps=10, estimators=("end_to_end", "end_to_end")), "estimators"),
    (lambda: StocksTrainingSetting(k=10, steps=10, estimators=()), "number of estimators"),
    (lambda: stocks_training(k=10, seeds=(0,), steps=1, lr=-0.1), "lr"),
    (lambda: stocks_training(k=10, seeds=(), steps=1), "number of seeds"),
    (lambda: best_classes(10, 1, generator=_gen(0)), "k"),
    (lambda: outcome_distribution(4, 4), "best"),
    (lambda: sample_outcomes(torch.tensor([5]), 4, generator=_gen(0)), "best classes"),
    (lambda: BatchedLinearSoftmax(5, 3, []), "number of models"),
])
def test_bad_input_raises_value_error_naming_the_field(build, field):
    with pytest.raises(ValueError, match=rf"^{re.escape(field)}"):
        build()


def test_d_smaller_than_k_is_allowed_as_in_the_papers_k_2000_runs():
    """Figure 4 uses k = 2000 stocks with d = 1000 inputs, so d < k must be a valid setting."""
    assert StocksTrainingSetting(k=2000, steps=1, d=1000).k == 2000
    run = stocks_training(k=12, d=4, seeds=(0,), steps=2, batch=3)
    assert run.final_loss.shape == (2,)

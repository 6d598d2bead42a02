"""Unit tests of Var(H, F, w) (paper Eq. (1), Theorem 1) against brute-force autograd oracles, in float64."""

from __future__ import annotations

import itertools

import pytest
import torch

from gradfail.data.parity import cube_bits, encode, parity_matrix, target_matrix
from gradfail.measure.jacobian import per_example_gradient_blocks, per_example_gradients
from gradfail.measure.losses import LOSSES
from gradfail.measure.target_variance import (
    gradient_for_target,
    parity_class_variance_by_parseval,
    parity_variance_identity,
    target_dependent_gradients,
    variance_over_targets,
)
from gradfail.models.mlp import mlp

DTYPE = torch.float64
RTOL = 1e-10

# (d, widths, activation, bias, init_scale): small nets covering depth 0-2, every activation and both bias modes.
MODELS = (
    (3, (), "relu", True, 1.0),
    (4, (5,), "relu", True, 1.0),
    (5, (4, 3), "tanh", True, 2.0),
    (4, (6,), "sigmoid", False, 3.0),
    (3, (4,), "gelu", True, 1.0),
)
MODEL_IDS = [f"d{d}-w{'x'.join(map(str, w)) or 'lin'}-{a}-{'b' if b else 'nob'}" for d, w, a, b, _ in MODELS]


def _model_and_inputs(spec, seed: int = 0):
    d, widths, activation, bias, init_scale = spec
    net = mlp(d, widths, activation, generator=torch.Generator().manual_seed(1000 + seed), bias=bias,
              init_scale=init_scale, dtype=DTYPE)
    return net, encode(cube_bits(d), "pm1", dtype=DTYPE)


def _brute_force_gradients(net, x, loss, targets: torch.Tensor) -> torch.Tensor:
    """grad F_h(w) for every row h of `targets`, one autograd pass each, shape (|H|, P)."""
    return torch.stack([gradient_for_target(net, x, h, loss) for h in targets])


def _assert_close_relative(actual: float, expected: float, rtol: float = RTOL) -> None:
    assert abs(actual - expected) <= rtol * abs(expected), f"{actual!r} != {expected!r} (rtol {rtol})"


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_target_dependent_gradients_fast_path_equals_dense_parity_matrix(spec, loss_name):
    """targets=None (Walsh-Hadamard path) gives the same T_h for all parities as the dense parity_matrix path."""
    net, x = _model_and_inputs(spec)
    predictions, jacobian = per_example_gradients(net, x)
    loss = LOSSES[loss_name]
    fast = target_dependent_gradients(predictions, jacobian, loss)
    dense = target_dependent_gradients(predictions, jacobian, loss, parity_matrix(spec[0]))
    assert fast.shape == (2 ** spec[0], jacobian.shape[1])
    torch.testing.assert_close(fast, dense, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_variance_over_targets_equals_brute_force_autograd_variance(spec, loss_name):
    """Var and G^2 from the fast path equal the variance of 2^d separate autograd gradients and E||dp/dw||^2."""
    net, x = _model_and_inputs(spec)
    loss = LOSSES[loss_name]
    predictions, jacobian = per_example_gradients(net, x)
    result = variance_over_targets(predictions, jacobian, loss)

    grads = _brute_force_gradients(net, x, loss, parity_matrix(spec[0]))
    brute_variance = float((grads - grads.mean(dim=0)).pow(2).sum(dim=1).mean())
    assert brute_variance > 0
    _assert_close_relative(result.variance, brute_variance)

    per_example_norms = []
    for row in x:
        output = net(row.unsqueeze(0)).reshape(())
        grads_one = torch.autograd.grad(output, list(net.parameters()))
        per_example_norms.append(sum(float(g.pow(2).sum()) for g in grads_one))
    _assert_close_relative(result.g_squared, sum(per_example_norms) / len(per_example_norms))
    assert result.n_targets == 2 ** spec[0]


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_parity_variance_identity_equals_exact_variance(spec, loss_name):
    """E||c||^2/2^d - ||c(x0)||^2/4^d equals the exact variance over all parities, for every loss."""
    net, x = _model_and_inputs(spec)
    loss = LOSSES[loss_name]
    predictions, jacobian = per_example_gradients(net, x)
    exact = variance_over_targets(predictions, jacobian, loss).variance
    _assert_close_relative(parity_variance_identity(predictions, jacobian, loss), exact)


# Prediction values away from the hinge kinks p = +-1.
POINTS = torch.tensor([-3.1, -1.7, -0.9, -0.35, 0.0, 0.2, 0.75, 1.3, 2.6], dtype=DTYPE)


def _autograd_derivative(loss, points: torch.Tensor, h: float) -> torch.Tensor:
    """dl/dp at `points` for the constant target h, by autograd on loss.value."""
    p = points.clone().requires_grad_(True)
    (derivative,) = torch.autograd.grad(loss.value(p, torch.full_like(p, h)).sum(), p)
    return derivative


@pytest.mark.parametrize("h", (1.0, -1.0))
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_loss_split_matches_autograd_derivative(loss_name, h):
    """dl/dp (p, h) from torch.autograd on loss.value equals a(p) + b(p) h for h = +-1."""
    loss = LOSSES[loss_name]
    derivative = _autograd_derivative(loss, POINTS, h)
    a, b = loss.split(POINTS)
    torch.testing.assert_close(a + b * h, derivative, rtol=1e-12, atol=1e-15)


def test_square_loss_split_holds_for_real_valued_targets():
    """For the square loss the split a + b h is the derivative for any real target h, not only +-1."""
    loss = LOSSES["square"]
    for h in (0.37, -2.5, 0.0):
        derivative = _autograd_derivative(loss, POINTS, h)
        a, b = loss.split(POINTS)
        torch.testing.assert_close(a + b * h, derivative, rtol=1e-12, atol=1e-15)


def test_hinge_split_at_the_kink_follows_autograd_convention():
    """At p h = 1 the hinge split uses autograd's clamp subgradient (-h), as losses._hinge_prime documents."""
    loss = LOSSES["hinge"]
    kinks = torch.tensor([1.0, -1.0], dtype=DTYPE)
    for h in (1.0, -1.0):
        derivative = _autograd_derivative(loss, kinks, h)
        a, b = loss.split(kinks)
        torch.testing.assert_close(a + b * h, derivative, rtol=0, atol=0)


@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_per_example_gradients_equal_per_sample_autograd_loop(spec):
    """per_example_gradients' predictions and Jacobian rows equal one autograd pass per input."""
    net, x = _model_and_inputs(spec)
    predictions, jacobian = per_example_gradients(net, x, chunk_size=7)
    params = [p for _, p in net.named_parameters()]
    expected_rows, expected_predictions = [], []
    for row in x:
        output = net(row.unsqueeze(0)).reshape(())
        grads = torch.autograd.grad(output, params)
        expected_rows.append(torch.cat([g.reshape(-1) for g in grads]))
        expected_predictions.append(output.detach())
    assert jacobian.shape == (x.shape[0], sum(p.numel() for p in params))
    torch.testing.assert_close(jacobian, torch.stack(expected_rows), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(predictions, torch.stack(expected_predictions), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("init_scale", (0.1, 1.0, 5.0))
@pytest.mark.parametrize("d", range(1, 9))
def test_linear_bias_free_model_variance_equals_closed_form(d, init_scale):
    """For x -> w^T x on {+-1}^d with the square loss, Var over the parities is d/2^d - d/4^d for any w."""
    net = mlp(d, (), bias=False, init_scale=init_scale, generator=torch.Generator().manual_seed(d), dtype=DTYPE)
    x = encode(cube_bits(d), "pm1", dtype=DTYPE)
    predictions, jacobian = per_example_gradients(net, x)
    result = variance_over_targets(predictions, jacobian, LOSSES["square"])
    _assert_close_relative(result.variance, d / 2**d - d / 4**d)
    _assert_close_relative(result.g_squared, float(d))


@pytest.mark.parametrize("seed", range(5))
def test_correlated_targets_exceed_theorem1_bound_for_linear_model(seed):
    """With the non-orthogonal 'correlated' class (+-x_i), a linear model on d=6 has Var |H| / G^2 > 1."""
    d = 6
    net = mlp(d, (), bias=False, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)
    x = encode(cube_bits(d), "pm1", dtype=DTYPE)
    predictions, jacobian = per_example_gradients(net, x)
    targets = target_matrix("correlated", d, generator=torch.Generator().manual_seed(seed))
    result = variance_over_targets(predictions, jacobian, LOSSES["square"], targets)

    # T_h = -s_h e_i, so Var = 1 - mean(s)^2 and G^2 = d: the ratio is 2^d (1 - mean(s)^2) / d, near 64/6.
    signs = targets[:, 0] * targets[0, 0]
    expected = 1 - float(signs.mean()) ** 2
    _assert_close_relative(result.variance, expected)
    assert result.n_targets == 2**d
    assert result.ratio > 1.0
    _assert_close_relative(result.ratio, 2**d * expected / d)

    # Same model, orthogonal classes: the bound holds.
    for orthogonal in (None, target_matrix("dictators", d, generator=torch.Generator())):
        assert variance_over_targets(predictions, jacobian, LOSSES["square"], orthogonal).ratio <= 1.0 + 1e-12


def test_target_dependent_gradients_dense_path_equals_brute_force_for_any_class():
    """For dictator and correlated targets, T_h differences equal differences of autograd gradients."""
    net, x = _model_and_inputs(MODELS[1], seed=3)
    predictions, jacobian = per_example_gradients(net, x)
    d = MODELS[1][0]
    for target_class, loss_name in itertools.product(("dictators", "correlated"), sorted(LOSSES)):
        loss = LOSSES[loss_name]
        targets = target_matrix(target_class, d, generator=torch.Generator().manual_seed(4))
        parts = target_dependent_gradients(predictions, jacobian, loss, targets)
        grads = _brute_force_gradients(net, x, loss, targets)
        # grad F_h = E[a g] + T_h: differences between targets cancel the target-free part.
        torch.testing.assert_close(parts - parts[0], grads - grads[0], rtol=1e-10, atol=1e-14)


def test_target_dependent_gradients_rejects_wrong_number_of_columns():
    """A target matrix whose columns do not match the inputs raises ValueError naming the expected count."""
    net, x = _model_and_inputs(MODELS[0])
    predictions, jacobian = per_example_gradients(net, x)
    with pytest.raises(ValueError, match=r"one column per input \(8\)"):
        target_dependent_gradients(predictions, jacobian, LOSSES["square"], torch.ones(2, 4, dtype=DTYPE))


@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
@pytest.mark.parametrize("coding", ("pm1", "zero_one"))
def test_parseval_streamed_variance_equals_the_walsh_hadamard_path(spec, coding):
    """Streaming the cube in chunks of 3 inputs through the Parseval identity gives the FWHT path's Var and G^2."""
    net, _ = _model_and_inputs(spec)
    d = spec[0]
    x = encode(cube_bits(d), coding, dtype=DTYPE)
    predictions, jacobian = per_example_gradients(net, x)
    for loss in ("square", "hinge", "logistic"):
        full = variance_over_targets(predictions, jacobian, LOSSES[loss])
        streamed = parity_class_variance_by_parseval(net, d, LOSSES[loss], coding=coding, input_chunk=3)
        assert streamed.n_targets == full.n_targets == 2**d
        assert streamed.variance == pytest.approx(full.variance, rel=RTOL, abs=1e-300)
        assert streamed.g_squared == pytest.approx(full.g_squared, rel=RTOL)


@pytest.mark.parametrize("chunk_columns", (1, 3, 64, 10_000))
@pytest.mark.parametrize("spec", MODELS[1:3], ids=MODEL_IDS[1:3])
def test_variance_over_column_blocks_equals_the_whole_jacobian(spec, chunk_columns):
    """Per-parameter blocks streamed in any chunk width give the whole matrix's Var and G^2, for the
    Walsh-Hadamard path and the dense path, and the identity reads the blocks as it reads the matrix."""
    net, x = _model_and_inputs(spec)
    predictions, blocks = per_example_gradient_blocks(net, x)
    jacobian = torch.cat(blocks, dim=1)
    d = spec[0]
    for loss_name, targets in (("hinge", None), ("logistic", target_matrix("dictators", d, generator=torch.Generator())),
                               ("square", parity_matrix(d))):
        loss = LOSSES[loss_name]
        whole = variance_over_targets(predictions, jacobian, loss, targets, chunk_columns=10_000)
        streamed = variance_over_targets(predictions, blocks, loss, targets, chunk_columns=chunk_columns)
        _assert_close_relative(streamed.variance, whole.variance)
        _assert_close_relative(streamed.g_squared, whole.g_squared)
    _assert_close_relative(parity_variance_identity(predictions, blocks, LOSSES["square"]),
                           parity_variance_identity(predictions, jacobian, LOSSES["square"]))


def test_per_example_gradient_blocks_are_the_columns_of_the_jacobian_chunked_or_not():
    """The blocks, in named_parameters order, concatenate to per_example_gradients' matrix; vmap chunking
    (here 5 inputs at a time, not dividing the 16 inputs) changes nothing."""
    net, x = _model_and_inputs(MODELS[1])
    predictions, jacobian = per_example_gradients(net, x)
    for chunk_size in (None, 5, 16):
        chunk_predictions, blocks = per_example_gradient_blocks(net, x, chunk_size=chunk_size)
        assert [b.shape[1] for b in blocks] == [p.numel() for p in net.parameters()]
        torch.testing.assert_close(torch.cat(blocks, dim=1), jacobian, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(chunk_predictions, predictions, rtol=1e-12, atol=1e-14)


def test_bad_chunk_sizes_are_rejected_naming_the_argument():
    net, x = _model_and_inputs(MODELS[0])
    predictions, jacobian = per_example_gradients(net, x)
    with pytest.raises(ValueError, match=r"chunk_columns must be an integer >= 1, got 0"):
        variance_over_targets(predictions, jacobian, LOSSES["square"], chunk_columns=0)
    with pytest.raises(ValueError, match=r"chunk_size must be None or an integer >= 1, got 0"):
        per_example_gradient_blocks(net, x, chunk_size=0)

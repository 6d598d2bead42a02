"""Unit tests of the Section 4.1 training library (gradfail.experiments.curves_training)."""

from __future__ import annotations

import pytest
import torch

from gradfail.data.curves import sample_curves, second_difference_matrix
from gradfail.experiments.curves_training import (IDEAL_FILTER, BatchedConvEncoder, curve_pools, encoder_whiteners,
                                                  held_out_loss_ratio, loss_curvature, predict, pseudo_inverse_sqrt,
                                                  train_autoencoders, train_encoders, validation_errors)
from gradfail.measure.conditioning import conv_rows, inverse_sqrt, second_moment
from gradfail.seeding import make_generator

SEEDS = (3, 5, 8)
SMALL = {"n": 12, "train_curves": 200, "validation_curves": 20}


@pytest.mark.parametrize(("encoder", "whiten", "optimizer", "lr"), [
    ("fc", False, "adam", 1e-2),
    ("conv", False, "adam", 0.05),
    ("conv", True, "adam", 0.99),
    ("conv", True, "sgd", 1.0),     # per-model steps 1/L_m: the loss weights must stay with their model
    ("fc", False, "sgd", 1.0),
])
def test_encoder_trained_in_the_batch_equals_encoder_trained_alone(encoder, whiten, optimizer, lr):
    """After 30 steps (float64), each seed's encoder in a batch of 3 equals that seed's encoder trained alone."""
    arguments = {"encoder": encoder, "whiten": whiten, "optimizer": optimizer, "lr": lr, "batch": 10, "steps": 30,
                 **SMALL}
    together = train_encoders(seeds=SEEDS, **arguments)
    assert together.model.weight.abs().sum() > 0   # training moved the zero initialisation
    for m, seed in enumerate(SEEDS):
        alone = train_encoders(seeds=(seed,), **arguments)
        torch.testing.assert_close(together.model.weight[m], alone.model.weight[0], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(together.trace.values[:, m], alone.trace.values[:, 0], rtol=1e-9, atol=1e-12)
    # Different seeds are different models.
    assert not torch.equal(together.model.weight[0], together.model.weight[1])


def test_autoencoder_trained_in_the_batch_equals_autoencoder_trained_alone():
    """After 10 Adam steps (float64), each seed's auto-encoder in a batch of 3 equals it trained alone."""
    arguments = {"kinks": 2, "steps": 10, "dtype": torch.float64, **SMALL}
    together = train_autoencoders(seeds=SEEDS, **arguments)
    for m, seed in enumerate(SEEDS):
        alone = train_autoencoders(seeds=(seed,), **arguments)
        for p_together, p_alone in zip(together.model.parameters(), alone.model.parameters(), strict=True):
            torch.testing.assert_close(p_together[m], p_alone[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("law", ("code", "paper"))
def test_whitening_makes_the_training_rows_second_moment_the_identity(law):
    """The rows [f_{t-1}, f_t, f_{t+1}] of the training pool, times C^{-1/2}, have second moment I (to
    rounding), although C itself is badly conditioned; the whitened training loss's curvature is then
    exactly 2 (n-2)/n."""
    pools = curve_pools((0,), n=50, law=law, train_curves=500, validation_curves=10)
    c = second_moment(conv_rows(pools.train_f[0]))
    eigenvalues = torch.linalg.eigvalsh(c)
    assert eigenvalues[-1] / eigenvalues[0] > 1e3                      # the problem being fixed
    whitener = encoder_whiteners("conv", pools.train_f, whiten=True)[0]
    whitened = conv_rows(pools.train_f[0]) @ whitener
    torch.testing.assert_close(second_moment(whitened), torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-9)
    curvature = loss_curvature("conv", pools.train_f, whitener[None])
    torch.testing.assert_close(curvature, torch.tensor([2 * 48 / 50], dtype=torch.float64), rtol=1e-9, atol=0)


def test_whitened_convolution_with_filter_c_half_ideal_predicts_every_encoding_exactly():
    """The effective filter C^{-1/2} w is what multiplies raw rows: w = C^{1/2} [1, -2, 1] has effective
    filter [1, -2, 1] and predicts p exactly on every validation curve (Lemma 1: U f is that convolution)."""
    pools = curve_pools((0,), n=30, law="code", train_curves=300, validation_curves=50)
    whiteners = encoder_whiteners("conv", pools.train_f, whiten=True)
    model = BatchedConvEncoder(whiteners)
    ideal = torch.tensor(IDEAL_FILTER, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.linalg.solve(whiteners[0], ideal)[None])
    torch.testing.assert_close(model.effective_filter()[0], ideal, rtol=0, atol=1e-12)
    assert float(validation_errors(model, pools).max()) < 1e-20
    torch.testing.assert_close(predict(model, pools.validation_f), pools.validation_p, rtol=0, atol=1e-10)


def test_pseudo_inverse_sqrt_equals_inverse_sqrt_when_definite_and_whitens_the_range_when_singular():
    """On a definite matrix it is C^{-1/2}. On the code law's n x n curve moment, which is singular (the
    encodings live on positions 3..n-4, so the curves span n - 6 dimensions), C^{+1/2} C C^{+1/2} is the
    orthogonal projector onto that span: whitened curves have identity second moment within it."""
    c = second_moment(conv_rows(sample_curves(20, 100, law="paper", generator=make_generator(0, "test"))[0]))
    torch.testing.assert_close(pseudo_inverse_sqrt(c), inverse_sqrt(c), rtol=1e-9, atol=1e-12)
    n = 12
    f, _ = sample_curves(n, 2000, law="code", generator=make_generator(0, "test"))
    moment = second_moment(f)
    root = pseudo_inverse_sqrt(moment)
    projector = root @ moment @ root
    torch.testing.assert_close(projector @ projector, projector, rtol=0, atol=1e-9)
    torch.testing.assert_close(projector, projector.T, rtol=0, atol=1e-12)
    assert round(float(projector.trace())) == n - 6
    torch.testing.assert_close(f @ projector, f, rtol=0, atol=1e-8)      # every curve lies in the span


@pytest.mark.parametrize(("n", "lr", "steps"), [(10, 3e-2, 1_000), (100, 1e-4, 100)])
def test_authors_max_abs_diagnostic_is_stuck_at_two_by_construction(n, lr, steps):
    """PWL_fail1.py prints max|U^ - U| for the FC map; under the code law it is exactly 2 whatever is learnt.

    The breakpoints lie in {3, ..., n-4}, so p_0..p_2 and p_{n-3}..p_{n-1} are always 0: the gradient of
    those rows of U^ is 2 (U^_j f) f^T, zero from the zero initialisation, so they stay exactly 0 while U has
    -2 in each of them. The data cannot tell them apart either: U with those rows zeroed fits every curve
    exactly. At n = 10 the map is learnt to rounding (held-out loss ratio ~1e-31) and the diagnostic still
    reads 2; at the authors' n = 100 and lr 1e-4 it reads 2 from the first steps on (2.000 at every
    evaluation up to 50,000 steps on seeds 0-19). So it cannot serve as evidence; the claims use held-out loss.
    """
    run = train_encoders(encoder="fc", seeds=(0,), steps=steps, lr=lr, batch=100, n=n, law="code",
                         train_curves=1_000, validation_curves=200)
    u = second_difference_matrix(n)
    learnt = run.model.effective_map()[0]
    never_targeted = [0, 1, 2, n - 3, n - 2, n - 1]
    assert torch.equal(learnt[never_targeted], torch.zeros(len(never_targeted), n, dtype=torch.float64))
    assert float((learnt - u).abs().max()) == 2.0
    assert float(run.trace.values[-1, 0]) < (1e-20 if n == 10 else 0.99)    # it did learn
    blind = u.clone()
    blind[never_targeted] = 0
    pools = run.pools
    assert float((pools.validation_f[0] @ blind.T - pools.validation_p[0]).abs().max()) == 0.0
    assert float((blind - u).abs().max()) == 2.0


def test_held_out_loss_ratio_is_one_at_the_zero_initialisation():
    """With U^ = 0 (and w = 0) the prediction is 0, so the ratio's denominator is the initial held-out loss."""
    for encoder in ("fc", "conv"):
        run = train_encoders(encoder=encoder, seeds=SEEDS, steps=0, lr=0.1, batch=10, **SMALL)
        assert run.trace.values.tolist() == [[1.0] * len(SEEDS)]
        torch.testing.assert_close(held_out_loss_ratio(run.errors[0], run.pools),
                                   torch.ones(len(SEEDS), dtype=torch.float64))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"encoder": "lstm"}, r"encoder must be one of 'fc', 'conv'"),
    ({"optimizer": "rmsprop"}, r"optimizer must be one of 'adam', 'sgd'"),
    ({"lr": 0.0}, r"lr must be a finite number in \(0, inf\]"),
    ({"law": "other"}, r"law must be one of 'paper', 'code'"),
])
def test_train_encoders_rejects_invalid_arguments(kwargs, match):
    arguments = {"encoder": "conv", "seeds": (0,), "steps": 1, "lr": 0.1, "batch": 4, **SMALL, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_encoders(**arguments)

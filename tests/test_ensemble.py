"""Unit tests of the batched ensemble (gradfail.engine.ensemble): a model inside an ensemble equals it alone."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from gradfail.data.parity import random_support, sample_parity_batch
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, hinge_loss, train_ensemble
from gradfail.engine.fused import FusedHingeSGD, fused_hinge_sgd_applies
from gradfail.models.mlp import mlp

DTYPE = torch.float64
D, WIDTH, BATCH = 6, 8, 16
SEEDS = (11, 22, 33)


def _init_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _data_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(10_000 + seed)


def _support(seed: int) -> torch.Tensor:
    return random_support(D, generator=torch.Generator().manual_seed(20_000 + seed))


def _sampler(seed: int):
    """The sampler of model `seed`: its own support and its own data generator, freshly seeded."""
    support = _support(seed)

    def draw(generator, n_batches, batch):
        return sample_parity_batch(support.expand(n_batches, -1), batch, generator=generator, dtype=DTYPE)

    return partial(draw, _data_generator(seed))


def _ensemble(seeds, *, chunk: int = 4):
    model = BatchedMLP((D, WIDTH, 1), [_init_generator(s) for s in seeds], dtype=DTYPE)
    stream = ChunkedStream([_sampler(s) for s in seeds], batch=BATCH, chunk=chunk, dtype=DTYPE)
    return model, stream


@pytest.mark.parametrize("widths", ((WIDTH,), (5, 3), ()))
def test_batched_mlp_initialisation_equals_mlp_with_same_generator(widths):
    """Model m's weights (stored (in, out)) are exactly mlp's (out, in) weights transposed; biases are zero."""
    sizes = (D, *widths, 1)
    batched = BatchedMLP(sizes, [_init_generator(s) for s in SEEDS], init_scale=1.5, dtype=DTYPE)
    assert batched.n_models == len(SEEDS)
    for m, seed in enumerate(SEEDS):
        alone = mlp(D, widths, generator=_init_generator(seed), init_scale=1.5, dtype=DTYPE)
        linears = [layer for layer in alone if isinstance(layer, torch.nn.Linear)]
        assert len(linears) == len(batched.weights)
        for w, b, linear in zip(batched.weights, batched.biases, linears, strict=True):
            assert torch.equal(w[m].T, linear.weight.detach())
            assert torch.equal(b[m].reshape(-1), linear.bias.detach())
            assert int((w[m] != 0).sum()) == w[m].numel()  # weights are drawn, not left at zero
    # Different generators give different models.
    assert not torch.equal(batched.weights[0][0], batched.weights[0][1])


@pytest.mark.parametrize("activation", ("relu", "tanh"))
def test_batched_mlp_forward_equals_each_mlp(activation):
    """forward on (M, B, d) equals each model's own mlp on its slice of the input."""
    batched = BatchedMLP((D, WIDTH, 1), [_init_generator(s) for s in SEEDS], activation=activation, dtype=DTYPE)
    x = torch.randn(len(SEEDS), BATCH, D, generator=torch.Generator().manual_seed(0), dtype=DTYPE)
    scores = batched(x)
    assert scores.shape == (len(SEEDS), BATCH)
    for m, seed in enumerate(SEEDS):
        alone = mlp(D, (WIDTH,), activation, generator=_init_generator(seed), dtype=DTYPE)
        torch.testing.assert_close(scores[m], alone(x[m]).reshape(-1), rtol=1e-12, atol=1e-14)


def test_chunked_stream_gives_each_model_the_same_batches_alone_or_in_an_ensemble():
    """Across chunk boundaries, model m's batches in an ensemble equal its batches in an ensemble of one."""
    _, together = _ensemble(SEEDS, chunk=4)
    alone = [_ensemble((s,), chunk=4)[1] for s in SEEDS]
    for step in range(10):
        x, y = together.next()
        assert x.shape == (len(SEEDS), BATCH, D) and y.shape == (len(SEEDS), BATCH)
        assert x.dtype == y.dtype == DTYPE
        for m, stream in enumerate(alone):
            x1, y1 = stream.next()
            assert torch.equal(x[m], x1[0]), f"step {step}, model {m}"
            assert torch.equal(y[m], y1[0]), f"step {step}, model {m}"


def test_chunked_stream_batches_are_fresh_and_labelled_by_each_models_support():
    """Consecutive batches differ, and every label is the parity of that model's own support."""
    _, stream = _ensemble(SEEDS, chunk=3)
    first, _ = stream.next()
    for _ in range(5):
        x, y = stream.next()
        assert not torch.equal(x, first)
        for m, seed in enumerate(SEEDS):
            support = _support(seed).to(torch.bool)
            assert torch.equal(y[m], torch.where(support, x[m], torch.ones_like(x[m])).prod(dim=-1))


@pytest.mark.parametrize(("optimizer", "lr"), (("sgd", 0.05), ("adam", 0.01)))
def test_train_ensemble_model_equals_same_model_trained_alone(optimizer, lr):
    """After 20 steps (float64), each model of an ensemble of 3 equals that model trained as an ensemble of 1."""
    together, stream = _ensemble(SEEDS)
    before = [w.detach().clone() for w in together.weights]
    train_ensemble(together, stream, steps=20, lr=lr, optimizer=optimizer)
    # Training moved the weights, so the comparison below is not between two untouched initialisations.
    assert any(not torch.equal(w, w0) for w, w0 in zip(together.weights, before, strict=True))
    for m, seed in enumerate(SEEDS):
        alone, alone_stream = _ensemble((seed,))
        train_ensemble(alone, alone_stream, steps=20, lr=lr, optimizer=optimizer)
        for p_together, p_alone in zip(together.parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(p_together[m], p_alone[0], rtol=1e-12, atol=1e-14)


def test_train_ensemble_sgd_equals_plain_mlp_trained_on_the_same_batches():
    """A model of the ensemble follows exactly the SGD path of a plain nn.Sequential mlp on its batches."""
    together, stream = _ensemble(SEEDS)
    train_ensemble(together, stream, steps=20, lr=0.05)
    _, replay = _ensemble(SEEDS)
    m, seed = 1, SEEDS[1]
    alone = mlp(D, (WIDTH,), generator=_init_generator(seed), dtype=DTYPE)
    opt = torch.optim.SGD(alone.parameters(), lr=0.05)
    for _ in range(20):
        x, y = replay.next()
        opt.zero_grad()
        torch.clamp(1 - y[m] * alone(x[m]).reshape(-1), min=0).mean().backward()
        opt.step()
    linears = [layer for layer in alone if isinstance(layer, torch.nn.Linear)]
    for w, b, linear in zip(together.weights, together.biases, linears, strict=True):
        torch.testing.assert_close(w[m].T, linear.weight.detach(), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(b[m].reshape(-1), linear.bias.detach(), rtol=1e-12, atol=1e-14)


def test_train_ensemble_records_evaluations_per_model():
    """evaluate is called at step 0, every eval_every steps and at the end, giving one column per model."""
    model, stream = _ensemble(SEEDS)
    x_eval, y_eval = ChunkedStream([_sampler(s) for s in SEEDS], batch=64, chunk=1, dtype=DTYPE).next()
    trace = train_ensemble(model, stream, steps=10, lr=0.05, evaluate=lambda net: hinge_loss(net(x_eval), y_eval),
                           eval_every=4)
    assert trace.steps.tolist() == [0, 4, 8, 10]
    assert trace.values.shape == (4, len(SEEDS))
    with torch.no_grad():
        final = hinge_loss(model(x_eval), y_eval).numpy()
    assert (trace.values[-1] == final).all()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lr": 0.0}, r"lr must be a finite number in \(0, inf\]"),
    ({"lr": -0.1}, r"lr must be a finite number in \(0, inf\]"),
    ({"optimizer": "rmsprop"}, r"optimizer must be one of 'sgd', 'adam'; got 'rmsprop'"),
    ({"steps": -1}, r"steps must be an integer in \[0, inf\)"),
])
def test_train_ensemble_rejects_invalid_arguments(kwargs, match):
    """lr <= 0, an unknown optimizer or negative steps raise ValueError naming the argument."""
    model, stream = _ensemble(SEEDS)
    arguments = {"steps": 5, "lr": 0.1, **kwargs}
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=match):
        train_ensemble(model, stream, **arguments)
    assert all(torch.equal(p, p0) for p, p0 in zip(model.parameters(), before, strict=True))


def test_batched_mlp_rejects_empty_ensemble_and_zero_width():
    """No generators, a zero layer size or an unknown activation raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=r"number of models must be an integer in \[1, inf\)"):
        BatchedMLP((D, WIDTH, 1), [])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be an integer in \[1, inf\)"):
        BatchedMLP((D, 0, 1), [_init_generator(0)])
    with pytest.raises(ValueError, match=r"activation must be one of"):
        BatchedMLP((D, WIDTH, 1), [_init_generator(0)], activation="swish")


def test_fused_step_equals_autograd_step_in_float64():
    """The hand-derived step (gradfail.engine.fused) moves every model exactly as autograd + torch.optim.SGD."""
    fused, fused_stream = _ensemble(SEEDS)
    plain, plain_stream = _ensemble(SEEDS)
    assert fused_hinge_sgd_applies(fused, hinge_loss, "sgd", {})
    before = [p.detach().clone() for p in fused.parameters()]
    train_ensemble(fused, fused_stream, steps=30, lr=0.2, fused=True)
    train_ensemble(plain, plain_stream, steps=30, lr=0.2, fused=False)
    for p, p_plain, p0 in zip(fused.parameters(), plain.parameters(), before, strict=True):
        assert not torch.equal(p, p0)    # every tensor moved, biases included
        torch.testing.assert_close(p, p_plain, rtol=1e-12, atol=1e-14)


def test_fused_step_counts_the_hinge_kink_as_active_like_autograd():
    """At y s = 1 exactly, clamp's gradient passes in autograd; the fused step must pass it too."""
    model, _ = _ensemble(SEEDS[:1])
    with torch.no_grad():
        model.weights[1].zero_()
        model.biases[1].fill_(1.0)            # s = 1 for every input: every example sits on the kink
    x = torch.ones(1, 4, D, dtype=DTYPE)
    y = torch.ones(1, 4, dtype=DTYPE)
    FusedHingeSGD(model, lr=0.5).step(x, y)
    assert model.biases[1].item() == pytest.approx(1.5)   # b2 -= lr * mean(-y) = 1 + 0.5


def test_fused_run_leaves_ordinary_trainable_parameters():
    """The fused step re-homes the parameters as views of its own tensors and updates them under inference
    mode; afterwards they are still the same ordinary leaf tensors, so autograd training continues from them
    exactly as it would from parameters that autograd had trained. The stream's chunk, drawn inside that run,
    feeds the autograd run too (it must not hold inference tensors, which autograd cannot save)."""
    fused, fused_stream = _ensemble(SEEDS)
    plain, plain_stream = _ensemble(SEEDS)
    objects = [id(p) for p in fused.parameters()]
    train_ensemble(fused, fused_stream, steps=10, lr=0.2, fused=True)
    train_ensemble(plain, plain_stream, steps=10, lr=0.2, fused=False)
    assert [id(p) for p in fused.parameters()] == objects
    assert all(p.requires_grad and p.is_leaf and not torch.is_inference(p) for p in fused.parameters())
    train_ensemble(fused, fused_stream, steps=10, lr=0.2, fused=False)
    train_ensemble(plain, plain_stream, steps=10, lr=0.2, fused=False)
    for p, p_plain in zip(fused.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p, p_plain, rtol=1e-12, atol=1e-14)


def test_fused_step_object_works_in_and_out_of_inference_mode():
    """Buffers first allocated under inference mode are ordinary tensors, so the same step object keeps
    working outside the mode, and two steps taken one in and one out equal two steps taken outside."""
    inside_first, _ = _ensemble(SEEDS)
    outside, _ = _ensemble(SEEDS)
    x = torch.randn(len(SEEDS), BATCH, D, generator=torch.Generator().manual_seed(5), dtype=DTYPE)
    y = torch.sign(torch.randn(len(SEEDS), BATCH, generator=torch.Generator().manual_seed(6), dtype=DTYPE))
    mixed, plain = FusedHingeSGD(inside_first, lr=0.3), FusedHingeSGD(outside, lr=0.3)
    with torch.inference_mode():
        mixed.step(x, y)
    mixed.step(x.flip(1), y.flip(1))
    plain.step(x, y)
    plain.step(x.flip(1), y.flip(1))
    for p, p_plain in zip(inside_first.parameters(), outside.parameters(), strict=True):
        torch.testing.assert_close(p, p_plain, rtol=0, atol=0)


@pytest.mark.parametrize(("sizes", "activation", "optimizer", "options"), [
    ((D, WIDTH, 1), "tanh", "sgd", {}),
    ((D, WIDTH, 3, 1), "relu", "sgd", {}),
    ((D, WIDTH, 1), "relu", "adam", {}),
    ((D, WIDTH, 1), "relu", "sgd", {"momentum": 0.9}),
])
def test_fused_step_applies_only_to_its_network(sizes, activation, optimizer, options):
    """Any other activation, depth, optimizer or option falls back to autograd; fused=True refuses it."""
    model = BatchedMLP(sizes, [_init_generator(s) for s in SEEDS], activation=activation, dtype=DTYPE)
    assert not fused_hinge_sgd_applies(model, hinge_loss, optimizer, options)
    stream = ChunkedStream([_sampler(s) for s in SEEDS], batch=BATCH, dtype=DTYPE)
    with pytest.raises(ValueError, match="fused=True needs a one-hidden-layer ReLU BatchedMLP"):
        train_ensemble(model, stream, steps=2, lr=0.1, optimizer=optimizer, optimizer_options=options, fused=True)
    train_ensemble(model, stream, steps=2, lr=0.1, optimizer=optimizer, optimizer_options=options)

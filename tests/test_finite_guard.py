"""NaN or inf during training ends the run with an error naming the loop, the model, the step and the tensor
(Note [Finite guard] in gradfail.engine.guards; issue 7, part 4)."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from gradfail.claims.parity import GradientVarianceSetting, _model_at
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, train_ensemble
from gradfail.engine.guards import FiniteGuard, NonFiniteTraining
from gradfail.experiments.curves_training import train_autoencoders
from gradfail.experiments.staircase import staircase_training
from gradfail.experiments.stocks import stocks_training
from gradfail.experiments.trajectories import divergence_ratios
from gradfail.experiments.tuples import train_tuples
from gradfail.models.tuple_net import TupleNetShape
from gradfail.seeding import make_generator

SEEDS = (11, 12, 13)


def _sampler(generator, n_batches, batch):
    x = torch.randn(n_batches, batch, 3, generator=generator)
    return x, torch.sign(x[..., 0])


def _tiny_run(loss, *, steps=12, lr=0.1, **options):
    """train_ensemble on three 3 -> 4 -> 1 MLPs named by seed."""
    model = BatchedMLP((3, 4, 1), [make_generator(s, "init") for s in SEEDS])
    stream = ChunkedStream([partial(_sampler, make_generator(s, "data")) for s in SEEDS], batch=8, chunk=5)
    return train_ensemble(model, stream, steps=steps, lr=lr, loss=loss, model_names=[f"seed {s}" for s in SEEDS],
                          **options)


def _square_loss_nan_at(step_to_break: int, model: int):
    """A square loss whose value for `model` is NaN from call `step_to_break` on (calls are steps: no eval)."""
    calls = {"n": 0}

    def loss(scores, y):
        calls["n"] += 1
        value = (scores - y).pow(2).mean(dim=-1)
        if calls["n"] >= step_to_break:
            value = value + torch.tensor([0.0 if m != model else math.nan for m in range(value.numel())])
        return value
    return loss


def test_train_ensemble_names_the_model_step_and_loss():
    """A NaN loss of one model stops train_ensemble at that step, naming the model by its seed."""
    with pytest.raises(NonFiniteTraining, match=r"train_ensemble: the loss is not finite at step 7 of 12 "
                                                r"\(seed 12: nan\)"):
        _tiny_run(_square_loss_nan_at(7, model=1))


def test_train_ensemble_reports_inf_as_well():
    """An absurd learning rate overflows the square loss to inf; that is an error too, never a result."""
    with pytest.raises(NonFiniteTraining, match=r"the loss is not finite at step \d+ of 50"):
        _tiny_run(lambda s, y: (s - y).pow(2).mean(dim=-1), steps=50, lr=1e18)


def test_deferred_mode_names_the_exact_step_at_the_next_check():
    """The GPU mode (no device sync per step) still reports the first bad step and model, at the next check."""
    guard = FiniteGuard("loop", [], n_models=3, steps=20, model_names=["a", "b", "c"], check_every=5, deferred=True)
    for step in range(1, 7):
        losses = torch.tensor([1.0, math.inf if step >= 3 else 1.0, math.nan if step >= 4 else 1.0])
        guard.loss(losses)
        if step < 5:
            guard.stepped()   # nothing read yet: no synchronisation before the check at step 5
        else:
            with pytest.raises(NonFiniteTraining, match=r"not finite at step 3 of 20 \(b from step 3, c from step 4\)"):
                guard.stepped()
            return


def test_parameters_are_checked_and_the_slice_names_the_model():
    """A weight that turns NaN without a loss to show it (e.g. after the last step) is named with its model."""
    w = torch.zeros(3, 2, 2)
    guard = FiniteGuard("loop", [("weights.0", w)], n_models=3, steps=4, model_names=["seed 0", "seed 1", "seed 2"],
                        check_every=2)
    for step in range(1, 4):
        guard.loss(torch.ones(3))
        guard.stepped()
    w[2, 0, 1] = math.nan
    guard.loss(torch.ones(3))
    with pytest.raises(NonFiniteTraining, match=r"parameter 'weights.0' of seed 2 holds NaN or inf after step 4 of 4 "
                                                r"\(finite when last checked, after step 2\)"):
        guard.stepped()


def test_finite_training_passes_untouched():
    """A healthy run is not disturbed: the guard returns the summed loss that autograd needs."""
    trace = _tiny_run(lambda s, y: (s - y).pow(2).mean(dim=-1), steps=12, evaluate=lambda m: m.weights[0].sum((1, 2)))
    assert trace.values.shape == (2, 3) and torch.isfinite(torch.as_tensor(trace.values)).all()


def _break_optimizers(monkeypatch, after: int):
    """After the `after`-th optimizer step, write NaN into the first parameter's first slice (model 0)."""
    calls = {"n": 0}
    for cls in (torch.optim.SGD, torch.optim.Adam):
        def step(self, *args, _original=cls.step, **kwargs):
            result = _original(self, *args, **kwargs)
            calls["n"] += 1
            if calls["n"] == after:
                with torch.no_grad():
                    self.param_groups[0]["params"][0][0].fill_(math.nan)
            return result
        monkeypatch.setattr(cls, "step", step)


# Every training loop of the library that does not go through train_ensemble, and one of each kind that does
# (SGD, Adam), at a size that takes milliseconds: (run, the loop's name in the message). Each one must stop at
# step 4: the NaN is written after step 3.
LOOPS = {
    "stocks": (lambda: stocks_training(k=3, seeds=(0,), steps=6, batch=4), "(stocks_training|train_ensemble)"),
    "trajectories": (lambda: divergence_ratios(d=3, width=4, steps=6, lr=0.1, loss="square", target_class="parities",
                                               pairs=1, seed=0), "divergence_ratios"),
    "tuples": (lambda: train_tuples(k=1, seeds=(0,), steps=6, batch=2, test_tuples=10,
                                    shape=TupleNetShape(channels=1, fc1=2, fc2=2, head=2)),
               "(train_tuples|train_ensemble)"),
    "variance_pretraining": (lambda: _model_at(GradientVarianceSetting(d=3, widths=(4,), train_steps=6), 0, "cpu"),
                             "the gradient-variance pre-training"),
    "staircase_mlp": (lambda: staircase_training(method="mlp", seeds=(0,), steps=6, batch=4, d=3, test_size=10),
                      "train_ensemble"),
    "autoencoder": (lambda: train_autoencoders(seeds=(0,), steps=6, batch=4, n=20, train_curves=10,
                                               validation_curves=2), "train_ensemble"),
}


@pytest.mark.parametrize("loop", LOOPS)
def test_every_training_loop_is_guarded(monkeypatch, loop):
    """A NaN written into a weight after step 3 stops each loop at step 4 with the loop's name."""
    run, where = LOOPS[loop]
    _break_optimizers(monkeypatch, after=3)
    expected = rf"training diverged in {where}: the loss is not finite at step 4 of 6"
    with pytest.raises(NonFiniteTraining, match=expected):
        run()


def test_the_hinge_sgd_path_is_guarded_too():
    """Hinge loss with plain SGD may take the hand-derived step (gradfail.engine.fused), which never forms the
    loss: a NaN weight is then caught by the parameter check; on the autograd path by the loss check."""
    model = BatchedMLP((3, 4, 1), [make_generator(s, "init") for s in SEEDS])
    with torch.no_grad():
        model.weights[1][1].fill_(math.nan)
    stream = ChunkedStream([partial(_sampler, make_generator(s, "data")) for s in SEEDS], batch=8, chunk=5)
    expected = (r"(loss is not finite at step 1 of 12 \(seed 12: nan\)"
                r"|parameter 'weights.[01]' of seed 12 holds NaN or inf after step 12 of 12)")
    with pytest.raises(NonFiniteTraining, match=expected):
        train_ensemble(model, stream, steps=12, lr=0.1, model_names=[f"seed {s}" for s in SEEDS])


def _poison_stream(monkeypatch, from_call: int):
    """From the `from_call`-th batch on, model 0's inputs are NaN (as a broken data generator would make them)."""
    original, calls = ChunkedStream.next, {"n": 0}

    def next_batch(self):
        x, y = original(self)
        calls["n"] += 1
        if calls["n"] >= from_call:
            x = x.clone()
            x[0] = math.nan
        return x, y
    monkeypatch.setattr(ChunkedStream, "next", next_batch)


@pytest.mark.parametrize("topic, name, where", [
    ("parity", "sgd_learns_small_d", r"(the loss is not finite at step 3 |parameter 'weights.\d' of seed 0 holds NaN)"),
    # A claim marked as a known failure (strict xfail): the NaN must fail its test, not count as the xfail.
    ("flat", "multiclass_boundaries_are_jittery", r"the loss is not finite at step 3 of \d+ \(seed 0: nan\)"),
], ids=["fused_sgd", "known_failure"])
def test_a_nan_during_training_fails_the_claims_test(pytester, monkeypatch, topic, name, where):
    """The claim's reference test ends with NonFiniteTraining, never a pass (a NaN model's accuracy reads as 0:
    sign(NaN) matches no label, which parity.sgd_fails_large_d would accept) and never an xfail."""
    _poison_stream(monkeypatch, from_call=3)
    pytester.mkdir("regressions").joinpath(f"test_{topic}.py").write_text(
        f'from gradfail.testing.templates import test_claim_at_reference  # noqa: F401\nTOPIC = "{topic}"\n')
    result = pytester.runpytest_inprocess("regressions", "-k", name, "-m", "", "--claims-device", "cpu",
                                          "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines([rf".*NonFiniteTraining: training diverged in train_ensemble: {where}"])

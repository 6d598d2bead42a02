"""Speed of the batched ensemble engine: M = 32 models as one BatchedMLP vs a Python loop over 32 nn.Modules.

Issue 6, target 1. Both paths run the Figure 1 step (one-hidden-layer ReLU network, mean hinge loss, plain
SGD, batch 128) for the same number of steps on the same batches, and are compared in model-steps per second
(models x steps / seconds). The batched path is the engine itself (`BatchedMLP` + `ChunkedStream` +
`train_ensemble`); the naive path is what a user would write without it: 32 `gradfail.models.mlp.mlp`
networks, each with its own `torch.optim.SGD`, stepped one after the other.

The batches are drawn once, before timing, from each model's own parity support and generator, and both
paths replay them: the benchmark measures training, not data generation, and both paths do identical work
(checked: after the warm-up both hold the same weights). Run with `pytest -m perf regressions
--benchmark-enable`. The assertions are ratios of timings taken side by side in the same process, never
wall-clock limits.
"""

from __future__ import annotations

import pytest
import torch

from gradfail.data.parity import random_support, sample_parity_batch
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, hinge_loss, train_ensemble
from gradfail.models.mlp import mlp
from gradfail.seeding import make_generator
from gradfail.testing.timing import median_seconds, side_by_side

M, BATCH, LR = 32, 128, 0.01
# The large bmm that measures the machine's matmul FLOP rate, on the same single thread as both paths.
PEAK_BMM = (32, 512, 512)


def _generators(label: str) -> list[torch.Generator]:
    return [make_generator(m, "perf_engine", label) for m in range(M)]


def _batches(d: int, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x (steps, M, BATCH, d) and y (steps, M, BATCH): model m's parity batches, from its own support and
    data generator."""
    xs, ys = [], []
    for support_gen, data_gen in zip(_generators("support"), _generators("data"), strict=True):
        support = random_support(d, generator=support_gen)
        x, y = sample_parity_batch(support.expand(steps, -1), BATCH, generator=data_gen)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs, 1), torch.stack(ys, 1)


def matmul_flops_per_model_step(d: int, width: int) -> int:
    """Multiply-add FLOPs (2 per MAC) of one SGD step of a d -> width -> 1 network on one batch: forward
    2B(dW + W), weight gradients 2B(dW + W), the hidden layer's input gradient 2BW (the data needs none).
    Element-wise work (ReLU, loss, update) is not counted: the FLOP limit is a matmul limit."""
    return 4 * BATCH * d * width + 6 * BATCH * width


def _engine_vs_loop(benchmark, *, d: int, width: int, steps: int, target: float) -> None:
    x, y = _batches(d, steps)

    # Models and optimizers are built once, outside the timed calls (building 32 models costs 10-30 ms, ~10% of
    # a timed engine call); each timed call trains them `steps` further.
    batched = BatchedMLP((d, width, 1), _generators("init"))
    nets = [mlp(d, (width,), generator=g) for g in _generators("init")]
    optimizers = [torch.optim.SGD(net.parameters(), lr=LR) for net in nets]
    initial = [w.detach().clone() for w in batched.weights]

    def engine() -> None:
        # Sampler m replays model m's pre-drawn batches; one chunk holds them all, as ChunkedStream holds
        # `chunk` freshly drawn steps (the stacking copy it makes per chunk is part of the engine's cost).
        stream = ChunkedStream([lambda n, b, m=m: (x[:n, m], y[:n, m]) for m in range(M)], batch=BATCH,
                               chunk=steps)
        train_ensemble(batched, stream, steps=steps, lr=LR)

    def loop() -> None:
        for t in range(steps):
            for m, (net, opt) in enumerate(zip(nets, optimizers, strict=True)):
                opt.zero_grad(set_to_none=True)
                hinge_loss(net(x[t, m]).reshape(-1), y[t, m]).backward()
                opt.step()

    # Warm-up, and the check that makes the comparison fair: from the same initialisation, both paths trained
    # the same 32 models on the same batches to the same weights (float32; bmm and mm sum in different orders),
    # and training moved them (otherwise equal weights would prove nothing).
    engine()
    loop()
    assert all(not torch.equal(w, w0) for w, w0 in zip(batched.weights, initial, strict=True)), (
        "engine training left a weight tensor at its initialisation")
    for m, net in enumerate(nets):
        linears = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
        for w, b, linear in zip(batched.weights, batched.biases, linears, strict=True):
            torch.testing.assert_close(w[m].detach().T, linear.weight.detach(), rtol=1e-4, atol=1e-5,
                                       msg=lambda text, m=m: f"model {m}: engine and loop weights differ: {text}")
            torch.testing.assert_close(b[m].detach().reshape(-1), linear.bias.detach(), rtol=1e-4, atol=1e-5,
                                       msg=lambda text, m=m: f"model {m}: engine and loop biases differ: {text}")

    timing = side_by_side(engine, loop, rounds=5)
    fast, slow = timing.fast_s, timing.naive_s
    a, b_ = (torch.randn(PEAK_BMM, generator=make_generator(0, "perf_engine", "peak")) for _ in range(2))
    torch.bmm(a, b_)
    peak_s = median_seconds(lambda: torch.bmm(a, b_), repeats=5)
    benchmark.pedantic(engine, rounds=3, iterations=1)

    model_steps = M * steps
    flops = matmul_flops_per_model_step(d, width) * model_steps
    peak_flops = 2 * PEAK_BMM[0] * PEAK_BMM[1] * PEAK_BMM[2] * PEAK_BMM[2] / peak_s
    speedup = timing.ratio
    benchmark.extra_info.update(
        models=M, d=d, width=width, batch=BATCH, steps=steps, engine_s=fast, loop_s=slow,
        engine_model_steps_per_s=model_steps / fast, loop_model_steps_per_s=model_steps / slow,
        peak_bmm_shape=list(PEAK_BMM), peak_matmul_gflops=peak_flops / 1e9,
        engine_matmul_gflops=flops / fast / 1e9, loop_matmul_gflops=flops / slow / 1e9,
        engine_fraction_of_matmul_peak=flops / fast / peak_flops,
        loop_fraction_of_matmul_peak=flops / slow / peak_flops,
        speedup=speedup, ratio=speedup, target=target)
    assert speedup >= target, (
        f"M = {M}, d = {d}, width {width}: engine {model_steps / fast:.0f} model-steps/s vs loop "
        f"{model_steps / slow:.0f} model-steps/s: {speedup:.2f}x < {target:.0f}x (engine at "
        f"{flops / fast / peak_flops:.1%} of the {peak_flops / 1e9:.0f} GFLOP/s one-thread bmm rate)")


# Both paths are memory-bound, not FLOP-bound: the loop's activations (128 x width floats, 51 KB at width 100)
# stay in cache, while the batched step streams 32 x 128 x width floats (1.6 MB at width 100, 4.9 MB at 300).
# The engine's hand-derived step (gradfail.engine.fused, Note [Fused step]) keeps those passes to five and the
# small operations between them to a handful, since each one after a big pass runs with a cold cache.
@pytest.mark.perf
@pytest.mark.claim("parity.sgd_learns_small_d")
def test_engine_trains_32_small_models_12x_faster_than_a_loop(benchmark, one_thread):
    """M = 32, d = 10, width 100, batch 128, SGD: the engine runs >= 12x the model-steps/s of a per-model loop."""
    _engine_vs_loop(benchmark, d=10, width=100, steps=40, target=12.0)


@pytest.mark.perf
@pytest.mark.claim("parity.sgd_learns_small_d")
def test_engine_trains_32_wide_models_4x_faster_than_a_loop(benchmark, one_thread):
    """M = 32, d = 30, width 300, batch 128, SGD: >= 4x the loop's model-steps/s; extra_info also reports the
    fraction of the one-thread matmul FLOP rate (a (32, 512, 512) bmm, timed in the same run) each path reaches."""
    _engine_vs_loop(benchmark, d=30, width=300, steps=20, target=4.0)

"""Speed of per-example gradients: one vmapped torch.func pass vs one autograd backward per sample.

Issue 6, target 3. The gradient-variance measurements of Section 2 (`gradfail.measure.target_variance`,
`gradfail.claims.parity`) need the gradient of the network's output at every input separately, the rows of
the per-example Jacobian. `gradfail.measure.jacobian.per_example_gradients` computes them with
`vmap(grad(...))`; the naive way is a loop of 1,000 `backward()` calls. Both run on the Section 2 network at
initialisation (d = 10, one hidden layer of width 10d = 100, ReLU) in float64, the dtype of the exact
variance path. Run with `pytest -m perf regressions --benchmark-enable`. The assertion is a ratio of two
timings taken side by side in the same process, never a wall-clock limit.
"""

from __future__ import annotations

import pytest
import torch

from gradfail.measure.jacobian import per_example_gradients
from gradfail.models.mlp import mlp
from gradfail.seeding import make_generator
from gradfail.testing.timing import side_by_side

D, WIDTH, SAMPLES = 10, 100, 1_000
REQUIRED_SPEEDUP = 20.0   # issue 6's target at 1,000 samples


@pytest.mark.perf
@pytest.mark.claim("parity.gradient_variance_bound")
def test_vmapped_per_example_gradients_beat_per_sample_backward_loop(benchmark, one_thread):
    """per_example_gradients on 1,000 inputs is >= 20x faster than 1,000 backward passes, with equal results."""
    dtype = torch.float64
    net = mlp(D, (WIDTH,), generator=make_generator(0, "perf_gradients", "init"), dtype=dtype)
    x = torch.randn(SAMPLES, D, generator=make_generator(0, "perf_gradients", "inputs"), dtype=dtype)

    def vectorised() -> torch.Tensor:
        return per_example_gradients(net, x)[1]

    def loop() -> torch.Tensor:
        rows = []
        for i in range(SAMPLES):
            net.zero_grad(set_to_none=True)
            net(x[i:i + 1]).sum().backward()
            rows.append(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
        return torch.stack(rows)

    # The two paths must give the same Jacobian before their speeds are compared (this also warms them up).
    fast_rows, slow_rows = vectorised(), loop()
    n_params = sum(p.numel() for p in net.parameters())
    assert fast_rows.shape == slow_rows.shape == (SAMPLES, n_params)
    torch.testing.assert_close(fast_rows, slow_rows, rtol=1e-12, atol=1e-14)

    # The vectorised call takes 5-25 ms, depending on how busy the shared cores are (it allocates ~10 MB buffers
    # afresh each call, and the page faults cost more under load), so each round takes the median of 5 of its
    # calls against one call of the steady ~0.2 s loop.
    timing = side_by_side(vectorised, loop, rounds=5, fast_calls=5)
    fast, slow = timing.fast_s, timing.naive_s
    benchmark.pedantic(vectorised, rounds=3, iterations=1)
    speedup = timing.ratio
    benchmark.extra_info.update(samples=SAMPLES, d=D, width=WIDTH, parameters=n_params, vectorised_s=fast,
                                loop_s=slow, vectorised_samples_per_s=SAMPLES / fast, loop_samples_per_s=SAMPLES / slow,
                                speedup=speedup, ratio=speedup, target=REQUIRED_SPEEDUP)
    assert speedup >= REQUIRED_SPEEDUP, (
        f"per_example_gradients {fast * 1e3:.1f} ms vs per-sample backward loop {slow * 1e3:.0f} ms for {SAMPLES} "
        f"samples: speedup {speedup:.1f}x < {REQUIRED_SPEEDUP:.0f}x")

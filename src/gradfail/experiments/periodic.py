"""Monte Carlo Var(H, F, w) for linear-periodic classes {x -> psi(v^T x) : ||v|| = r} (Theorem 2).

Estimator. Replicate k draws its own inputs x_1..x_n ~ N(0, s^2 I_d) and directions v_1..v_m, forms the
target-dependent gradient parts T_j = (1/n) sum_i psi(v_j^T x_i) b g(x_i) (square loss: b = -1) and their
sample variance over j. Replicates are i.i.d., so a Student-t interval over them covers
E[estimate] = Var + bias with probability 1 - alpha, where the bias (x-sampling noise entering the
variance over j) lies in [0, E||psi g||^2 / n] and is estimated from the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gradfail.data.periodic import PSI, sample_directions
from gradfail.measure.jacobian import per_example_gradients
from gradfail.models.mlp import mlp
from gradfail.seeding import make_generator
from gradfail.stats import Estimate, mean_interval


@dataclass(frozen=True)
class PeriodicSample:
    """Per-replicate variance estimates, their bias bound and G^2 = E||g||^2."""

    variances: np.ndarray   # (replicates,)
    bias_bound: float       # upper bound on the x-sampling bias of each replicate
    g_squared: float

    def interval(self, alpha: float) -> Estimate:
        """Interval for the true Var: the t-interval of E[estimate], widened below by the bias bound."""
        t = mean_interval(self.variances, alpha)
        return Estimate(t.value, t.lo - self.bias_bound, t.hi, alpha=alpha,
                        detail={"bias_bound": self.bias_bound, "g_squared": self.g_squared})


def periodic_variance(*, d: int, radii: tuple[float, ...], psi: str, model: str, width: int, input_scale: float,
                      directions: str, n_inputs: int, n_directions: int, replicates: int, seed: int,
                      device: torch.device) -> dict[float, PeriodicSample]:
    """Var over the class at each radius, for a fixed model: 'linear' (x -> w^T x) or 'relu' (one hidden
    layer of `width`). The per-example Jacobian of each replicate is shared by all radii."""
    dtype = torch.float64
    widths = () if model == "linear" else (width,)
    net = mlp(d, widths, "relu", bias=model != "linear", generator=make_generator(seed, "init"),
              dtype=dtype, device=device)
    data = make_generator(seed, "data")
    variances = {r: [] for r in radii}
    bias_bounds = {r: 0.0 for r in radii}
    g_squares = []
    for _ in range(replicates):
        x = (input_scale * torch.randn(n_inputs, d, generator=data, dtype=dtype)).to(device)
        _, jac = per_example_gradients(net, x, chunk_size=8192)                # (n, P)
        sq_norms = jac.pow(2).sum(1)                                            # ||g(x_i)||^2
        g_squares.append(float(sq_norms.mean()))
        for r in radii:
            v = sample_directions(n_directions, d, r, directions=directions, generator=data).to(device)
            targets = PSI[psi](x @ v.T)                                         # (n, m)
            parts = targets.T @ jac / n_inputs                                  # (m, P), sign of b irrelevant
            variances[r].append(float((parts - parts.mean(0)).pow(2).sum(1).sum() / (n_directions - 1)))
            bias = float((targets.pow(2).mean(1) * sq_norms).mean() / n_inputs)
            bias_bounds[r] = max(bias_bounds[r], bias)
    g_squared = float(np.mean(g_squares))
    return {r: PeriodicSample(np.array(variances[r]), bias_bounds[r], g_squared) for r in radii}

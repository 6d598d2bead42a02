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
from gradfail.measure.jacobian import per_example_gradient_blocks
from gradfail.measure.target_variance import squared_row_norms
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


# Inputs per per-example-gradient pass: peak memory is one chunk's Jacobian (8,192 x P floats), whatever n_inputs.
INPUT_CHUNK = 8192


def periodic_variance(*, d: int, radii: tuple[float, ...], psi: str, model: str, width: int, input_scale: float,
                      directions: str, n_inputs: int, n_directions: int, replicates: int, seed: int,
                      device: torch.device) -> dict[float, PeriodicSample]:
    """Var over the class at each radius, for a fixed model: 'linear' (x -> w^T x) or 'relu' (one hidden
    layer of `width`). The per-example Jacobian of each replicate is shared by all radii.

    Every quantity is a sum over inputs (n T_j = sum_i psi(v_j^T x_i) g(x_i), sum_i ||g(x_i)||^2 and the bias
    term), so the inputs stream through the per-example gradients `INPUT_CHUNK` at a time, one block per
    parameter tensor (gradfail.measure.jacobian), and the whole (n, P) Jacobian is never held.
    """
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
        # All radii's directions are drawn right after x, in radius order, before any gradient is taken.
        direction_sets = {r: sample_directions(n_directions, d, r, directions=directions, generator=data).to(device)
                          for r in radii}
        summed_parts = {r: None for r in radii}     # per parameter block: sum_i psi(v_j^T x_i) g(x_i), (m, P_k)
        bias_sums = {r: 0.0 for r in radii}         # sum_i mean_j psi(v_j^T x_i)^2 ||g(x_i)||^2
        squared_norm_sum = 0.0                      # sum_i ||g(x_i)||^2
        for start in range(0, n_inputs, INPUT_CHUNK):
            chunk = x[start:start + INPUT_CHUNK]
            _, blocks = per_example_gradient_blocks(net, chunk)
            sq_norms = squared_row_norms(blocks)                                # ||g(x_i)||^2
            squared_norm_sum += float(sq_norms.sum())
            for r, v in direction_sets.items():
                targets = PSI[psi](chunk @ v.T)                                 # (chunk, m)
                parts = [targets.T @ block for block in blocks]                 # sign of b irrelevant
                previous = summed_parts[r]
                summed_parts[r] = parts if previous is None else [a + b for a, b in zip(previous, parts)]
                bias_sums[r] += float((targets.pow(2).mean(1) * sq_norms).sum())
        g_squares.append(squared_norm_sum / n_inputs)
        for r in radii:
            spread = sum(float((part - part.mean(0)).pow(2).sum()) for part in summed_parts[r])
            variances[r].append(spread / n_inputs**2 / (n_directions - 1))
            bias_bounds[r] = max(bias_bounds[r], bias_sums[r] / n_inputs**2)
    g_squared = float(np.mean(g_squares))
    return {r: PeriodicSample(np.array(variances[r]), bias_bounds[r], g_squared) for r in radii}

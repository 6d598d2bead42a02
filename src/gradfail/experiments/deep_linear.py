"""Gradient descent on one-dimensional deep linear networks: F(w) = 1/2 (w_1 w_2 ... w_k - 1)^2.

Shamir (COLT 2019) proves that from standard random initialisations (w_i i.i.d., e.g. N(0, 1)) gradient
descent needs exp(Omega(k)) iterations to converge: the product of k random scalars is exponentially small
in k (E log|w_i| < 0), and so is every partial derivative dF/dw_i = (P - 1) prod_{j != i} w_j, so GD starts
on an exponentially flat plateau. With a fixed iteration budget the share of runs that have not converged
therefore rises with k.

All runs of all depths are one float64 tensor w of shape (depths, runs, k_max); a network of depth k < k_max
pads its weights with ones that never move (a masked update), so the padded product is the network's.
Every run draws its initial weights from the generator of its seed (Note [Seeding]); exact arithmetic
otherwise, so the only randomness is the initialisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gradfail.seeding import make_generator
from gradfail.validation import check_int, check_real


@dataclass(frozen=True)
class DeepLinearRuns:
    """First iteration at which loss < tol, per depth and run (-1: not within the budget)."""

    depths: tuple[int, ...]
    converged_at: np.ndarray   # (depths, runs) int64

    @property
    def failed(self) -> np.ndarray:
        """(depths,) number of runs that did not converge within the budget."""
        return (self.converged_at < 0).sum(axis=1)

    @property
    def runs(self) -> int:
        return self.converged_at.shape[1]


def exclusive_products(w: torch.Tensor) -> torch.Tensor:
    """prod_{j != i} w_j along the last axis, by prefix and suffix products (no division: w_i may be 0)."""
    one = torch.ones_like(w[..., :1])
    prefix = torch.cat([one, w[..., :-1].cumprod(-1)], dim=-1)
    suffix = torch.cat([w[..., 1:].flip(-1).cumprod(-1).flip(-1), one], dim=-1)
    return prefix * suffix


def deep_linear_gd(*, depths: Sequence[int], runs: int, steps: int, seed: int, lr: float = 0.01,
                   tol: float = 1e-2, init_center: float = 0.0, init_std: float = 1.0,
                   device: torch.device | str = "cpu") -> DeepLinearRuns:
    """Full-batch GD on 1/2 (prod_i w_i - 1)^2 for `runs` initialisations w_i ~ N(init_center, init_std^2) per depth.

    init_center = 0, init_std = 1 is the standard initialisation of the theorem; init_center = 1 with a small
    std is a warm start near the balanced solution w_i = 1 (outside the theorem's assumptions).
    """
    for i, k in enumerate(depths):
        check_int(f"depths[{i}]", k, 1, 256)
    check_int("runs", runs, 1, 100_000)
    check_int("steps", steps, 1, 10**7)
    check_real("lr", lr, 0.0, 1.0, lo_open=True)
    check_real("tol", tol, 0.0, 1.0, lo_open=True)
    check_real("init_std", init_std, 0.0, 10.0, lo_open=True)
    k_max = max(depths)
    generator = make_generator(seed, "deep_linear", "init")
    draws = torch.randn(len(depths), runs, k_max, generator=generator, dtype=torch.float64)
    active = (torch.arange(k_max)[None, :] < torch.tensor(depths)[:, None])[:, None, :].to(device)
    one = torch.ones((), dtype=torch.float64, device=device)
    w = torch.where(active, init_center + init_std * draws.to(device), one)
    converged_at = torch.full((len(depths), runs), -1, dtype=torch.long, device=device)
    for step in range(steps + 1):
        product = w.prod(dim=-1)
        newly = (converged_at < 0) & (0.5 * (product - 1) ** 2 < tol)
        converged_at = torch.where(newly, step, converged_at)
        if step == steps or bool((converged_at >= 0).all()):
            break
        grad = (product - 1).unsqueeze(-1) * exclusive_products(w)
        w = torch.where(active, w - lr * grad, w)
    return DeepLinearRuns(tuple(depths), converged_at.cpu().numpy())

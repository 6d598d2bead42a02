"""Target-independence of exact gradient descent (Section 2.1's consequence of Theorem 1).

Two copies of one network start from the same weights and run full-batch gradient descent over all 2^d
inputs, each towards a different target drawn from a class. If the gradient barely depends on the target
(Var <= G^2/|H|), the two trajectories stay together: the divergence ratio

    rho = max_{1 <= t <= T} ||w_t^(h) - w_t^(h')|| / ||w_t^(h) - w_0||

is small, and for parities it shrinks as d grows (about 2^{-d/2}: gradient differences of size G 2^{-d/2}
against movements of size G).
"""

from __future__ import annotations

import numpy as np
import torch

from gradfail.data.parity import class_size, cube_bits, encode, target_matrix
from gradfail.engine.ensemble import BatchedMLP
from gradfail.engine.guards import FiniteGuard
from gradfail.measure.losses import get_loss
from gradfail.seeding import make_generator


def divergence_ratios(*, d: int, width: int, steps: int, lr: float, loss: str, target_class: str, pairs: int,
                      seed: int, device: torch.device | str = "cpu") -> np.ndarray:
    """rho for `pairs` independent (init, h, h') triples, trained as one batched model of 2*pairs copies."""
    dtype = torch.float64
    x = encode(cube_bits(d), "pm1", dtype=dtype).to(device)                                  # (N, d)
    choose = make_generator(seed, "trajectories", d, "targets")
    rows = torch.cat([torch.randperm(class_size(target_class, d), generator=choose)[:2] for _ in range(pairs)])
    y = target_matrix(target_class, d, generator=choose, rows=rows).to(device)               # (2*pairs, N)
    init = [make_generator(seed, "trajectories", d, "init", p) for p in range(pairs) for _ in range(2)]
    model = BatchedMLP((d, width, 1), init, dtype=dtype, device=device)
    loss_fn = get_loss(loss).value
    xs = x.expand(2 * pairs, -1, -1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def flat() -> torch.Tensor:
        return torch.cat([p.detach().reshape(2 * pairs, -1) for p in model.parameters()], dim=1)

    start = flat()
    ratio = torch.zeros(pairs, dtype=dtype, device=device)
    guard = FiniteGuard("divergence_ratios", model.named_parameters(), n_models=2 * pairs, steps=steps,
                        model_names=[f"seed {seed}, pair {p}, target {t}" for p in range(pairs) for t in "ab"])
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        guard.loss(loss_fn(model(xs), y).mean(dim=1)).backward()
        optimizer.step()
        guard.stepped()
        w = flat().view(pairs, 2, -1)
        moved = (w[:, 0] - start.view(pairs, 2, -1)[:, 0]).norm(dim=1)
        ratio = torch.maximum(ratio, (w[:, 0] - w[:, 1]).norm(dim=1) / moved)
    return ratio.cpu().numpy()

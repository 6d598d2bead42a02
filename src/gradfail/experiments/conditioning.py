"""Monte Carlo conditioning of the convolution (paper Section 4.1.2-4.1.3, Appendix A.5-A.6; digest §3.6-3.7).

For curves f drawn from a law, the 3-tap convolution regresses p_{t+1} = f_{t+1} - 2 f_t + f_{t-1} on the row
r_t = [f_{t-1}, f_t, f_{t+1}]. The problem is noiseless: w* = [1, -2, 1] fits every row exactly, so full-batch
gradient descent on the training rows, w_t - w* = (I - eta C)^t (-w*), converges to w* and only the
conditioning of C = E[r r^T] sets the pace. Whitening replaces r by r C^{-1/2} (and w* by C^{1/2} w*), making
the training second moment the identity.

Each replicate draws its own training and held-out curves from the generator stream (seed, "curves", law, n,
replicate), so replicates are independent and the spread over replicates is the Monte Carlo error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gradfail.data.curves import sample_curves
from gradfail.measure.conditioning import (conv_rows, gd_steps_matrix_power, inverse_sqrt, second_moment,
                                           symmetric_condition_number)
from gradfail.seeding import make_generator

IDEAL_FILTER = (1.0, -2.0, 1.0)


def _rows(n: int, curves: int, law: str, seed: int, replicate: int, split: str) -> torch.Tensor:
    generator = make_generator(seed, "curves", law, n, replicate, split)
    f, _ = sample_curves(n, curves, law=law, generator=generator)
    return conv_rows(f)


def conv_condition_numbers(ns: Sequence[int], *, law: str, curves: int, replicates: int, seed: int,
                           whiten: bool = False) -> np.ndarray:
    """kappa(C) for every replicate and n: (replicates, len(ns)). whiten=True: kappa of C^{-1/2} C C^{-1/2}."""
    out = np.empty((replicates, len(ns)))
    for j, n in enumerate(ns):
        for r in range(replicates):
            c = second_moment(_rows(n, curves, law, seed, r, "train"))
            if whiten:
                root = inverse_sqrt(c)
                c = root @ c @ root
            out[r, j] = symmetric_condition_number(c)
    return out


def conv_gd_steps(ns: Sequence[int], *, law: str, curves: int, replicates: int, seed: int, whiten: bool,
                  eps: float) -> np.ndarray:
    """Full-batch GD steps (eta = 1/lambda_1 of the training C, w_0 = 0) until the held-out relative error
    (w - w*)^T C_held (w - w*) / w*^T C_held w* is at most eps: (replicates, len(ns)), exact iterates."""
    out = np.empty((replicates, len(ns)), dtype=np.int64)
    ideal = torch.tensor(IDEAL_FILTER, dtype=torch.float64)
    for j, n in enumerate(ns):
        for r in range(replicates):
            train = second_moment(_rows(n, curves, law, seed, r, "train"))
            held = second_moment(_rows(n, curves, law, seed, r, "held_out"))
            if whiten:
                # Rows r C^{-1/2}: the Hessian becomes the identity and the optimum C^{1/2} w*.
                root = inverse_sqrt(train)
                w_star = torch.linalg.solve(root, ideal)
                held, train = root @ held @ root, root @ train @ root
            else:
                w_star = ideal
            scale = float(w_star @ held @ w_star)
            eta = 1.0 / float(torch.linalg.eigvalsh(train)[-1])
            out[r, j] = gd_steps_matrix_power(train, w_star, eta, lambda e: float(e @ held @ e) / scale, eps)
    return out

"""Var(H, F, w): how much the gradient depends on which target of a class is being learnt.

Paper Section 2, Eq. (1) and Theorem 1:

    Var(H, F, w) = E_h || grad F_h(w) - E_h' grad F_h'(w) ||^2,   F_h(w) = E_x l(p_w(x), h(x)).

With the split dl/dp = a(p) + b(p) h (gradfail.measure.losses) and g = dp/dw,
grad F_h = E[a g] + E[h c] with c = b g, so only T_h = E_x[h(x) c(x)] varies with h.
For the 2^d parities every T_h at once is one Walsh-Hadamard transform of c (the fast exact path);
any other finite class is a dense product with its target matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gradfail.data.parity import cube_rows, encode
from gradfail.measure.jacobian import per_example_gradient_blocks
from gradfail.measure.losses import Loss
from gradfail.measure.walsh_hadamard import fwht


@dataclass(frozen=True)
class TargetVariance:
    """Var(H, F, w) with the quantities of Theorem 1's bound G(w)^2 / |H|."""

    variance: float
    g_squared: float      # G(w)^2 = E_x || dp/dw ||^2
    n_targets: int        # |H|

    @property
    def bound(self) -> float:
        return self.g_squared / self.n_targets

    @property
    def ratio(self) -> float:
        """Var * |H| / G^2: Theorem 1 says <= 1."""
        return self.variance * self.n_targets / self.g_squared


def target_dependent_gradients(predictions: torch.Tensor, jacobian: torch.Tensor, loss: Loss,
                               targets: torch.Tensor | None = None) -> torch.Tensor:
    """T_h = E_x[h(x) b(p(x)) g(x)] for every target h, shape (|H|, P).

    `targets=None` means all 2^d parities, with x enumerating the cube in `cube_bits` order (fast
    Walsh-Hadamard path, O(d 2^d P)); otherwise `targets` is an (|H|, N) matrix (dense path, O(|H| N P)).
    """
    _check_targets(targets, jacobian.shape[0])
    _, b = loss.split(predictions)
    return _summed_target_parts(b.unsqueeze(1) * jacobian, targets) / jacobian.shape[0]


def _check_targets(targets: torch.Tensor | None, n: int) -> None:
    if targets is not None and targets.shape[1] != n:
        raise ValueError(f"targets must have one column per input ({n}), got shape {tuple(targets.shape)}")


def _summed_target_parts(weighted: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """N T_h = sum_x h(x) c(x) for every target, from c = b g (N, columns): one transform or one product."""
    if targets is None:
        return fwht(weighted)
    return targets.to(weighted.dtype) @ weighted


def _column_blocks(jacobian: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The Jacobian as a list of column blocks: [jacobian] for one (N, P) matrix, else the blocks given."""
    return [jacobian] if isinstance(jacobian, torch.Tensor) else list(jacobian)


def _sum_of_squares(t: torch.Tensor) -> float:
    """sum t^2 in one pass with no temporary: a BLAS dot on contiguous memory (4x a strided reduction here)."""
    flat = t.reshape(-1) if t.is_contiguous() else t.contiguous().reshape(-1)
    return float(flat.dot(flat))


def variance_over_targets(predictions: torch.Tensor, jacobian: torch.Tensor | Sequence[torch.Tensor], loss: Loss,
                          targets: torch.Tensor | None = None, *, chunk_columns: int = 64) -> TargetVariance:
    """Exact Var(H, F, w) over a finite class, averaging over the inputs given (all of the cube).

    `jacobian` is the (N, P) per-example Jacobian or a list of its column blocks. The sum streams over
    `chunk_columns` parameters at a time (parameters are independent coordinates of the gradient), so the
    (|H|, P) matrix of all targets' gradients is never held at once and every chunk stays in cache:
    E_h||T_h - mean||^2 = sum over chunks of (E_h||T_h,chunk||^2 - ||mean_chunk||^2).
    Each chunk is weighted, transformed and reduced without rescaling (S = N T): the 1/N^2 is applied once
    to the scalar sums, saving a pass over every chunk.
    """
    blocks = _column_blocks(jacobian)
    n = blocks[0].shape[0]
    _check_targets(targets, n)
    if chunk_columns < 1:
        raise ValueError(f"chunk_columns must be an integer >= 1, got {chunk_columns}")
    n_targets = n if targets is None else targets.shape[0]
    _, b = loss.split(predictions)
    weights = b.unsqueeze(1)
    if targets is not None:
        targets = targets.to(blocks[0].dtype)
    squares = mean_squares = g_squared = 0.0
    for block in blocks:
        g_squared += _sum_of_squares(block)
        for i in range(0, block.shape[1], chunk_columns):
            summed = _summed_target_parts(weights * block[:, i:i + chunk_columns], targets)   # (|H|, chunk)
            squares += _sum_of_squares(summed)
            # The mean over targets is taken from the transform itself, not from its closed form c(x0)/N,
            # so that a transform reading the rows in the wrong order shows up (tests/test_sensitivity.py).
            mean_squares += _sum_of_squares(summed.sum(dim=0))
    # The rounding error of this difference is about eps * E||T||^2 / Var: tiny here, where the mean
    # is far smaller than the spread (parities: ||mean||^2 = ||c(x0)||^2/4^d vs Var ~ E||c||^2/2^d).
    spread = (squares / n_targets - mean_squares / n_targets**2) / n**2
    return TargetVariance(spread, g_squared / n, n_targets)


def parity_variance_identity(predictions: torch.Tensor, jacobian: torch.Tensor | Sequence[torch.Tensor],
                             loss: Loss) -> float:
    """Var over all 2^d parities without forming any target's gradient (digest §1.3, derived).

    By Parseval for the Hadamard matrix and (1/2^d) sum_v chi_v(x) = 1[x = x0]:

        Var = E_x ||c(x)||^2 / 2^d - ||c(x0)||^2 / 4^d,   c = b g,

    which for the square loss (b = -1) is the digest's E||g||^2/2^d - ||g(x0)||^2/4^d. x0 is row 0 of
    the cube (all bits 0, where every parity is +1). `jacobian` is (N, P) or a list of its column blocks.
    """
    c_norms = squared_c_norms(predictions, squared_row_norms(jacobian), loss)
    n = c_norms.shape[0]
    return float(c_norms.mean() / n - c_norms[0] / n**2)


def squared_row_norms(jacobian: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """||g(x)||^2 for every row (N,) of the (N, P) Jacobian or of its column blocks, summed block by block."""
    blocks = _column_blocks(jacobian)
    return sum(torch.linalg.vecdot(block, block) for block in blocks)


def squared_c_norms(predictions: torch.Tensor, g_norms: torch.Tensor, loss: Loss) -> torch.Tensor:
    """||c(x)||^2 = b(p(x))^2 ||g(x)||^2 for every row (N,), from ||g(x)||^2: the identity's per-input term."""
    _, b = loss.split(predictions)
    return b.pow(2) * g_norms


def gradient_for_target(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, loss: Loss) -> torch.Tensor:
    """grad F_h(w) for one target by ordinary autograd, flattened like `per_example_gradients`.

    The naive way: one forward and backward pass per target. Used as the test oracle and as the
    baseline the Walsh-Hadamard path is benchmarked against.
    """
    params = [p for _, p in model.named_parameters()]
    value = loss.value(model(inputs).reshape(-1), target).mean()
    grads = torch.autograd.grad(value, params)
    return torch.cat([g.reshape(-1) for g in grads])


def exact_parity_class_variance(model: nn.Module, inputs: torch.Tensor, loss: Loss,
                                targets: torch.Tensor | None = None) -> TargetVariance:
    """Var(H, F, w) for `model` over the whole cube `inputs` (2^d rows in cube order)."""
    predictions, blocks = per_example_gradient_blocks(model, inputs)
    return variance_over_targets(predictions, blocks, loss, targets)


def parity_class_variance_by_parseval(model: nn.Module, d: int, loss: Loss, *, coding: str = "pm1",
                                      input_chunk: int = 4096) -> TargetVariance:
    """Var over all 2^d parities by `parity_variance_identity`, streaming the cube `input_chunk` inputs at a time.

    Var = E_x ||c(x)||^2 / 2^d - ||c(x0)||^2 / 4^d and G^2 = E_x ||g(x)||^2 are sums over inputs, so neither
    the (2^d, P) Jacobian nor the cube itself is ever held: peak memory is one chunk's (input_chunk, P)
    per-example gradients, whatever d. Time is one per-example backward pass over the cube, O(2^d P); this is
    the path that makes d = 16 fit in well under 2 GB and d = 20 affordable (issue 6, target 4). The inputs are
    the cube in `cube_bits` order, encoded with `coding`, in the model's dtype.
    """
    parameter = next(model.parameters())
    n = 2**d
    c_squared = g_squared = 0.0
    c_x0 = None
    for start in range(0, n, input_chunk):
        x = encode(cube_rows(d, start, min(start + input_chunk, n)), coding, dtype=parameter.dtype)
        predictions, blocks = per_example_gradient_blocks(model, x.to(parameter.device))
        g_norms = squared_row_norms(blocks)                          # ||g(x)||^2
        c_norms = squared_c_norms(predictions, g_norms, loss)
        if c_x0 is None:
            c_x0 = float(c_norms[0])                                 # row 0 of the cube is x0
        c_squared += float(c_norms.sum())
        g_squared += float(g_norms.sum())
        del blocks
    return TargetVariance(c_squared / n / n - c_x0 / n**2, g_squared / n, n)

"""Lemma 3 (Appendix B): one hidden ReLU layer that computes any parity exactly.

Every hidden unit reads s = <x, v*> (x in {0,1}^d). Triad i has biases -(2i - 1/2), -2i, -(2i + 1/2) and
output weights 1, -2, 1, so it outputs 1/2 when s = 2i and 0 at every other integer s. Four times the sum,
minus one, is +1 for even s and -1 for odd s: the parity (-1)^s.

The paper lets i run over 1..d/2. Then s = 0 (every bit of the support off) gets output -1 although the
parity is +1: the construction as printed errs on a fraction 2^{-|v*|} of the inputs (digest §1.6,
erratum 14). `include_zero_triad=True` adds the triad i = 0, which makes it exact.
"""

from __future__ import annotations

import torch

from gradfail.validation import check_int


def relu_parity_network(support: torch.Tensor, *, include_zero_triad: bool = True,
                        dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    """(W (h, d), b (h,), a (h,), c) of x -> a^T relu(W x + b) + c realising chi_{v*} on {0,1}^d."""
    d = check_int("len(support)", support.numel(), 1)
    first = 0 if include_zero_triad else 1
    triads = torch.arange(first, d // 2 + 1, dtype=dtype)
    centres = (2 * triads).repeat_interleave(3)                       # (h,)
    offsets = torch.tensor([-0.5, 0.0, 0.5], dtype=dtype).repeat(len(triads))
    weights = 4 * torch.tensor([1.0, -2.0, 1.0], dtype=dtype).repeat(len(triads))
    hidden_w = support.to(dtype).expand(len(centres), d).clone()
    return hidden_w, -(centres + offsets), weights, torch.tensor(-1.0, dtype=dtype)


def relu_parity_predict(params: tuple[torch.Tensor, ...], bits: torch.Tensor) -> torch.Tensor:
    """Network output on bit vectors (N, d) in the {0,1} coding."""
    hidden_w, hidden_b, out_w, out_b = params
    return torch.relu(bits.to(hidden_w.dtype) @ hidden_w.T + hidden_b) @ out_w + out_b

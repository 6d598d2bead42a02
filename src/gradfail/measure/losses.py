"""Losses of Theorem 1, with the split of their derivative into target-free and target-linear parts.

Theorem 1 (Section 2) covers the square loss l(p, y) = (p - y)^2 / 2 and classification losses
l(p, y) = r(p y) with r 1-Lipschitz and y in {+-1}. For both, the derivative in p is affine in the target:

    dl/dp (p, h) = a(p) + b(p) h

square:          a = p,                        b = -1            (any real h)
r(p y), h = +-1: a = (r'(p) - r'(-p)) / 2,     b = (r'(p) + r'(-p)) / 2

(the digest's note on A.1: the chain-rule factor h is kept, so a and b are the correct halves).
With g(x) = dp/dw, the gradient for target h is E[a g] + E[h b g]; only the second part depends on h.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Loss:
    """A loss with its value and the (a, b) split of its derivative."""

    name: str
    value: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # elementwise l(p, y)
    split: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    needs_pm1_targets: bool


def _margin_split(r_prime: Callable[[torch.Tensor], torch.Tensor]):
    def split(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        up, down = r_prime(p), r_prime(-p)
        return (up - down) / 2, (up + down) / 2
    return split


def _hinge_prime(z: torch.Tensor) -> torch.Tensor:
    # d/dz max(0, 1 - z); at the kink z = 1 autograd's clamp passes the gradient, so -1 there too.
    return -(z <= 1).to(z.dtype)


def _logistic_prime(z: torch.Tensor) -> torch.Tensor:
    return -torch.sigmoid(-z)


LOSSES = {
    "square": Loss("square", lambda p, y: 0.5 * (p - y) ** 2,
                   lambda p: (p, -torch.ones_like(p)), needs_pm1_targets=False),
    "hinge": Loss("hinge", lambda p, y: torch.clamp(1 - p * y, min=0),
                  _margin_split(_hinge_prime), needs_pm1_targets=True),
    "logistic": Loss("logistic", lambda p, y: torch.nn.functional.softplus(-p * y),
                     _margin_split(_logistic_prime), needs_pm1_targets=True),
}


def get_loss(name: str) -> Loss:
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))}; got {name!r}")
    return LOSSES[name]

"""Linear-periodic targets psi(v^T x) with Gaussian inputs (paper Section 2, Theorem 2)."""

from __future__ import annotations

import torch

from gradfail.validation import check_choice, check_int, check_real

PSI = {"sin": torch.sin, "cos": torch.cos, "identity": lambda z: z}
DIRECTIONS = ("sphere", "axis")


def sample_directions(n: int, d: int, r: float, *, directions: str = "sphere", generator: torch.Generator,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """n vectors of norm r: uniform on the sphere of radius r ('sphere', the class of Theorem 2), or
    +-r e_1 with random signs ('axis', a one-dimensional class used as a violation)."""
    check_int("n", n, 1)
    check_int("d", d, 1)
    check_real("r", r, 0.0, lo_open=True)
    check_choice("directions", directions, DIRECTIONS)
    if directions == "axis":
        v = torch.zeros(n, d, dtype=dtype)
        v[:, 0] = r * (1 - 2 * torch.randint(0, 2, (n,), generator=generator)).to(dtype)
        return v
    v = torch.randn(n, d, generator=generator, dtype=dtype)
    return r * v / v.norm(dim=1, keepdim=True)

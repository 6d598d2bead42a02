"""The fast Walsh-Hadamard transform: all 2^d parity correlations in O(d 2^d) per column.

fwht(a)[v] = sum_b (-1)^popcount(v & b) a[b]   (unnormalised, natural/Sylvester order)

so fwht(a) / 2^d is the vector of E_b[chi_v(b) a(b)] for every parity v at once. Applied to the
per-example Jacobian it yields the gradient's target-dependent part for all 2^d parity targets,
instead of 2^d separate backward passes.
"""

from __future__ import annotations

import torch

# Columns per chunk: keeps the working set in cache and the peak memory at 2x one chunk.
DEFAULT_CHUNK_COLUMNS = 256


def fwht(a: torch.Tensor, *, chunk_columns: int = DEFAULT_CHUNK_COLUMNS) -> torch.Tensor:
    """Transform along dim 0 (length 2^d) of a 1-d or 2-d tensor; columns are independent."""
    n = a.shape[0]
    if n == 0 or n & (n - 1):
        raise ValueError(f"fwht needs a leading dimension that is a power of two, got {n}")
    if a.dim() == 1:
        return fwht(a.unsqueeze(1), chunk_columns=chunk_columns).squeeze(1)
    if a.dim() != 2:
        raise ValueError(f"fwht takes a 1-d or 2-d tensor, got {a.dim()} dimensions")
    return torch.cat([_fwht_columns(a[:, i:i + chunk_columns]) for i in range(0, a.shape[1], chunk_columns)], 1)


def _fwht_columns(a: torch.Tensor) -> torch.Tensor:
    n, cols = a.shape
    x = a.contiguous()
    half = 1
    while half < n:
        # Index i = block*(2*half) + bit*half + r: one level of butterflies acts on one bit of i.
        pairs = x.view(n // (2 * half), 2, half, cols)
        x = torch.stack((pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]), dim=1).view(n, cols)
        half *= 2
    return x

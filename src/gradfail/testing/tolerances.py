"""Baseline tolerances by dtype: one table, printed with every baseline mismatch.

Note [Baseline tolerances]: a baseline guards against silent changes of a claim's measured value at its
reference setting (seed 0, ci profile). float64 values are exact computations or Monte Carlo sums in a
fixed order, so only rounding can move them. float32 values are training outcomes (accuracies over
10,000 fresh samples): a different BLAS or summation order may flip a handful of test answers, which is
below 1e-3.
"""

from __future__ import annotations

import torch

BASELINE_TOLERANCE = {
    torch.float64: {"rtol": 1e-7, "atol": 1e-12},
    torch.float32: {"rtol": 1e-3, "atol": 1e-3},
}


def baseline_tolerance(dtype: torch.dtype) -> dict[str, float]:
    if dtype not in BASELINE_TOLERANCE:
        raise ValueError(f"no baseline tolerance for dtype {dtype}; known: {list(BASELINE_TOLERANCE)}")
    return dict(BASELINE_TOLERANCE[dtype])

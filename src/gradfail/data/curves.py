"""Piecewise-linear curves and their encoding (paper Section 4.1, Lemma 1; digest §3.1-3.2).

A curve f(x) = sum_i a_i [x - theta_i + 1]_+ (b = 0) is sampled at x = 0, ..., n-1. Its *encoding* is the
sparse vector p of slope changes, p_j = sum_i a_i 1[theta_i = j] (0-indexed), and

    f = W p,    W[i, j] = [i - j + 1]_+     (lower-triangular Toeplitz, first column 1, 2, ..., n).

(The +1 is the paper's indexing: with W as printed, f(x) = sum a_i [x - theta_i + 1]_+; the authors' code
has the same off-by-one, digest §3.1.) Lemma 1: W^{-1} = U, the banded matrix with 1 on the diagonal, -2
below it and 1 below that, so U f is the valid convolution of f with [1, -2, 1].

Two laws for (theta, a), named by `law`:
- "paper" (Section 4.1 text): theta_1..k uniform without replacement from {0, ..., n-1}, a_i ~ U[-1, 1];
- "code" (PWL_fail1.py, used for the paper's FC and convolution runs): k = 3 breakpoints
  theta = 3 + sorted(3 distinct of {0, ..., n-7}), so theta in {3, ..., n-4}; segment slopes taken from one of
  four fixed patterns and a_j = slope_j - slope_{j-1} (slope_0 = 0).
The auto-encoder (Figure 6d) uses `smooth_kink_curves`: theta ~ U[0, n) continuous, a ~ U[-1, 1].

Everything is drawn in one batch from a torch.Generator (no Python loop per curve) in float64.
"""

from __future__ import annotations

import torch

from gradfail.validation import check_choice, check_int

CURVE_LAWS = ("paper", "code")
# PWL_fail1.py's slope patterns for the three segments after the breakpoints.
SLOPE_PATTERNS = ((1.0, -1.0, 1.0), (1.0, -2.0, 1.0), (-2.0, 1.0, -1.0), (1.0, -1.0, 2.0))
CODE_KINKS = 3
CODE_MARGIN = 3    # the code's breakpoints avoid the first and last 3 samples


def encoding_matrix(n: int, *, order: int = 2, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """W with W[i, j] = [i - j + 1]_+ (order 2: f from its slope changes, the paper's W).

    order=1 is the running sum W[i, j] = 1[i >= j] (f from its slopes): a different encoding whose
    condition number grows only like n^2; claims use it as the violation of the n^3.5 growth.
    """
    check_int("n", n, 1, 10_000)
    check_int("order", order, 1, 2)
    i = torch.arange(n, dtype=dtype)
    lag = i[:, None] - i[None, :]
    return (lag + 1).clamp(min=0) if order == 2 else (lag >= 0).to(dtype)


def second_difference_matrix(n: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """U of Lemma 1: U[i, i] = 1, U[i+1, i] = -2, U[i+2, i] = 1, zero elsewhere."""
    check_int("n", n, 1, 10_000)
    u = torch.zeros(n, n, dtype=dtype)
    for offset, value in ((0, 1.0), (1, -2.0), (2, 1.0)):
        u.diagonal(-offset).fill_(value)      # an empty diagonal (offset >= n) is a no-op
    return u


def _distinct_positions(count: int, n: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """(count, k) positions drawn uniformly without replacement from {0..n-1}, sorted per row."""
    keys = torch.rand(count, n, generator=generator, dtype=torch.float64)
    return keys.topk(k, dim=1).indices.sort(dim=1).values


def sample_encodings(n: int, count: int, *, law: str = "paper", kinks: int = 3,
                     generator: torch.Generator) -> torch.Tensor:
    """p, (count, n) float64: each row holds the slope changes a_i at the breakpoints theta_i (see module doc).

    `kinks` is k for the paper's law (1 <= k <= n); the code's law always has 3 breakpoints.
    """
    check_int("n", n, 2 * CODE_MARGIN + CODE_KINKS if law == "code" else 1, 10_000)
    check_int("count", count, 1, 10**7)
    check_choice("law", law, CURVE_LAWS)
    p = torch.zeros(count, n, dtype=torch.float64)
    if law == "paper":
        check_int("kinks", kinks, 1, n)
        theta = _distinct_positions(count, n, kinks, generator)
        a = 2 * torch.rand(count, kinks, generator=generator, dtype=torch.float64) - 1
    else:
        if kinks != CODE_KINKS:
            raise ValueError(f"kinks must be {CODE_KINKS} for law 'code' (the authors' fixed patterns); got {kinks}")
        theta = CODE_MARGIN + _distinct_positions(count, n - 2 * CODE_MARGIN, CODE_KINKS, generator)
        pattern = torch.randint(len(SLOPE_PATTERNS), (count,), generator=generator)
        slopes = torch.tensor(SLOPE_PATTERNS, dtype=torch.float64)[pattern]                 # (count, 3)
        a = torch.diff(slopes, dim=1, prepend=torch.zeros(count, 1, dtype=torch.float64))
    p.scatter_add_(1, theta, a)
    return p


def curves_from_encodings(p: torch.Tensor, *, order: int = 2) -> torch.Tensor:
    """f = W p for every row of p: (count, n) -> (count, n)."""
    return p @ encoding_matrix(p.shape[1], order=order, dtype=p.dtype).T


def sample_curves(n: int, count: int, *, law: str = "paper", kinks: int = 3,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(f, p): curves sampled at 0..n-1 and their encodings, float64, from one generator."""
    p = sample_encodings(n, count, law=law, kinks=kinks, generator=generator)
    return curves_from_encodings(p), p


def smooth_kink_curves(n: int, count: int, *, kinks: int = 3, hinge: bool = True,
                       generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The auto-encoder's data (Figure 6d): f(x) = sum_i a_i [x - theta_i]_+, theta ~ U[0, n), a ~ U[-1, 1].

    hinge=False drops the [.]_+ from the same draws: f(x) = sum_i a_i (x - theta_i) is a straight line, and
    theta marks where the kinks would have been (a control with no kink at all).
    Returns f (count, n) and theta (count, kinks), float64.
    """
    check_int("n", n, 1, 10_000)
    check_int("count", count, 1, 10**7)
    check_int("kinks", kinks, 1, 100)
    theta = n * torch.rand(count, kinks, generator=generator, dtype=torch.float64)
    a = 2 * torch.rand(count, kinks, generator=generator, dtype=torch.float64) - 1
    x = torch.arange(n, dtype=torch.float64)
    shifted = x[None, None, :] - theta[:, :, None]
    f = (a[:, :, None] * (shifted.clamp(min=0) if hinge else shifted)).sum(dim=1)
    return f, theta


def near_kink_mask(theta: torch.Tensor, n: int, *, radius: float = 2.0) -> torch.Tensor:
    """(count, n) bool: sample x lies within `radius` of one of its curve's breakpoints theta."""
    x = torch.arange(n, dtype=theta.dtype, device=theta.device)
    return ((x[None, None, :] - theta[:, :, None]).abs() <= radius).any(dim=1)

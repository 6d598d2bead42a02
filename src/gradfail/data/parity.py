"""The Boolean cube, parities and other target classes on it (paper Section 2).

Inputs are bit vectors b in {0,1}^d indexed by the integer whose bit j is b_j. The parity of v is
chi_v(b) = (-1)^<v, b>; it equals +1 at b = 0 for every v ("x0" of the digest's exact identity).
Models see the bits through a coding: "pm1" maps b to x = 1 - 2b in {+-1}^d (the authors' code),
"zero_one" feeds b itself (the paper's text).
"""

from __future__ import annotations

import torch

from gradfail.validation import check_choice, check_int

CODINGS = ("pm1", "zero_one")
TARGET_CLASSES = ("parities", "dictators", "correlated")
MAX_EXACT_D = 20  # 2^20 inputs: the largest cube the exact paths enumerate


def cube_bits(d: int) -> torch.Tensor:
    """All 2^d bit vectors as a (2^d, d) int64 tensor; row i holds the bits of i (bit j = (i >> j) & 1)."""
    return cube_rows(d, 0, 2**d)


def cube_rows(d: int, start: int, stop: int) -> torch.Tensor:
    """Rows start..stop-1 of `cube_bits(d)`, without building the others (streamed exact paths)."""
    check_int("d", d, 1, MAX_EXACT_D)
    check_int("start", start, 0, 2**d)
    check_int("stop", stop, start, 2**d)
    index = torch.arange(start, stop)
    return (index.unsqueeze(1) >> torch.arange(d)) & 1


def encode(bits: torch.Tensor, coding: str, *, dtype: torch.dtype) -> torch.Tensor:
    """Model inputs for bit vectors: 1 - 2b for 'pm1', b for 'zero_one'."""
    check_choice("coding", coding, CODINGS)
    bits = bits.to(dtype)
    return 1 - 2 * bits if coding == "pm1" else bits


def parity_matrix(d: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The (2^d, 2^d) Sylvester-Hadamard matrix M[v, b] = (-1)^popcount(v & b)."""
    bits = cube_bits(d)
    return (1 - 2 * ((bits @ bits.T) % 2)).to(dtype)


def parity_of(bits: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """chi_v(b) = (-1)^<v, b> for a batch of bit vectors (..., d) and a 0/1 support vector v (d,)."""
    return 1 - 2 * ((bits.to(torch.int64) * support.to(torch.int64)).sum(-1) % 2)


def random_support(d: int, *, generator: torch.Generator) -> torch.Tensor:
    """v uniform on {0,1}^d (the paper's random parity, Section 2.1)."""
    check_int("d", d, 1)
    return torch.randint(0, 2, (d,), generator=generator)


def class_size(target_class: str, d: int) -> int:
    """|H| for a target class on d bits."""
    check_choice("target_class", target_class, TARGET_CLASSES)
    return d if target_class == "dictators" else 2**d


def target_matrix(target_class: str, d: int, *, generator: torch.Generator, rows: torch.Tensor | None = None,
                  dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Targets h(b) of a class evaluated on `cube_bits(d)`: shape (|H|, 2^d), or (len(rows), 2^d).

    - 'parities': all 2^d parities, row v = chi_v; orthonormal under uniform bits (Theorem 1's class).
    - 'dictators': the d parities of degree one, row i = (-1)^{b_i}; orthonormal but only d of them.
    - 'correlated': 2^d targets +-x_i (the dictator of one random bit i) with random signs; every target
      has E[h^2] = 1 but pairs are (anti-)correlated, so Theorem 1's orthogonality assumption fails.

    `rows` selects some targets without forming the whole matrix (4^d entries for parities).
    """
    size = class_size(target_class, d)
    bits = cube_bits(d)
    index = torch.arange(size) if rows is None else rows
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= size):
        raise ValueError(f"rows must be in [0, {size - 1}] for {target_class!r} on d={d}")
    if target_class == "parities":
        supports = (index.unsqueeze(1) >> torch.arange(d)) & 1                          # (R, d)
        return (1 - 2 * ((supports @ bits.T) % 2)).to(dtype)
    if target_class == "dictators":
        return (1 - 2 * bits.T[index]).to(dtype)
    support = torch.zeros(d, dtype=torch.int64)
    support[torch.randint(0, d, (1,), generator=generator)] = 1
    signs = 1 - 2 * torch.randint(0, 2, (size, 1), generator=generator)
    return (signs[index] * parity_of(bits, support).unsqueeze(0)).to(dtype)


def sample_parity_batch(support: torch.Tensor, batch: int, *, generator: torch.Generator,
                        dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Fresh uniform examples of the parity with support v, in the +-1 coding of the authors' code.

    Returns x (..., batch, d) in {+-1}^d and y (..., batch) = prod_{i: v_i = 1} x_i; `support` may carry
    leading batch dimensions (one support per model of an ensemble).
    """
    check_int("batch", batch, 1)
    *lead, d = support.shape
    bits = torch.randint(0, 2, (*lead, batch, d), generator=generator)
    y = parity_of(bits, support.unsqueeze(-2))
    return encode(bits, "pm1", dtype=dtype), y.to(dtype)

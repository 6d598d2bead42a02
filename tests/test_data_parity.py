"""Unit tests of the Boolean cube, the target classes and the parity sampler (gradfail.data.parity)."""

from __future__ import annotations

import pytest
import torch

from gradfail.data.parity import (
    class_size,
    cube_bits,
    encode,
    parity_matrix,
    parity_of,
    random_support,
    sample_parity_batch,
    target_matrix,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("d", (1, 2, 5, 10))
def test_cube_bits_row_i_holds_the_bits_of_i(d):
    """Row i of cube_bits(d) is the little-endian binary expansion of i, so the rows enumerate {0,1}^d once."""
    bits = cube_bits(d)
    assert bits.shape == (2**d, d)
    assert bits.dtype == torch.int64
    weights = 2 ** torch.arange(d)
    assert torch.equal(bits @ weights, torch.arange(2**d))
    for i in (0, 1, 2**d - 1, (2**d) // 3):
        assert bits[i].tolist() == [(i >> j) & 1 for j in range(d)]


def test_encode_maps_bits_to_pm1_and_zero_one():
    """'pm1' maps b to 1 - 2b and 'zero_one' keeps b, in the requested dtype."""
    bits = cube_bits(3)
    pm1 = encode(bits, "pm1", dtype=torch.float64)
    assert pm1.dtype == torch.float64
    assert torch.equal(pm1, (1 - 2 * bits).to(torch.float64))
    assert torch.equal(encode(bits, "zero_one", dtype=torch.float32), bits.to(torch.float32))


@pytest.mark.parametrize("d", (1, 3, 6))
def test_parity_matrix_entries_are_popcount_parities(d):
    """parity_matrix(d)[v, b] = (-1)^popcount(v & b) for every pair."""
    m = parity_matrix(d)
    expected = torch.tensor([[(-1) ** bin(v & b).count("1") for b in range(2**d)] for v in range(2**d)],
                            dtype=torch.float64)
    assert torch.equal(m, expected)


@pytest.mark.parametrize("d", (1, 4, 7))
def test_target_matrix_parities_equal_parity_matrix(d):
    """The full 'parities' class is the Sylvester-Hadamard matrix, row v = chi_v."""
    assert torch.equal(target_matrix("parities", d, generator=_gen(0)), parity_matrix(d))


@pytest.mark.parametrize("target_class", ("parities", "dictators", "correlated"))
def test_target_matrix_rows_select_rows_of_the_full_matrix(target_class):
    """`rows=` returns exactly those rows of the full class matrix (same generator seed), in the given order."""
    d = 6
    full = target_matrix(target_class, d, generator=_gen(9))
    rows = torch.tensor([class_size(target_class, d) - 1, 0, 3, 3, 2])
    picked = target_matrix(target_class, d, generator=_gen(9), rows=rows)
    assert picked.shape == (len(rows), 2**d)
    assert torch.equal(picked, full[rows])


def test_target_matrix_dictators_has_d_rows_of_single_bit_parities():
    """'dictators' has d rows; row i is (-1)^{b_i}, the parity with support e_i."""
    d = 7
    dictators = target_matrix("dictators", d, generator=_gen(0))
    assert dictators.shape == (d, 2**d)
    hadamard = parity_matrix(d)
    for i in range(d):
        assert torch.equal(dictators[i], hadamard[2**i])


@pytest.mark.parametrize("seed", range(4))
def test_target_matrix_correlated_rows_are_signed_copies_of_one_dictator(seed):
    """Every 'correlated' row is +- the same dictator (-1)^{b_i}, and both signs occur."""
    d = 6
    targets = target_matrix("correlated", d, generator=_gen(seed))
    assert targets.shape == (2**d, 2**d)
    bits = cube_bits(d)
    signs = targets[:, :1]                          # column 0 is b = 0, where every dictator is +1
    matches = [i for i in range(d) if torch.equal(targets, signs * (1 - 2 * bits[:, i]).to(targets.dtype))]
    assert len(matches) == 1
    assert set(signs.flatten().tolist()) == {-1.0, 1.0}


def test_target_matrix_is_deterministic_for_a_generator_seed():
    """The same generator seed gives the same correlated class; the class does not touch torch's global RNG."""
    torch.manual_seed(0)
    first = target_matrix("correlated", 5, generator=_gen(21))
    torch.manual_seed(1)
    second = target_matrix("correlated", 5, generator=_gen(21))
    assert torch.equal(first, second)


@pytest.mark.parametrize("d", (1, 5, 12))
def test_sample_parity_batch_labels_are_products_of_support_coordinates(d):
    """y = prod_{i in support} x_i on x in {+-1}^d, and x has shape (batch, d)."""
    support = random_support(d, generator=_gen(d))
    x, y = sample_parity_batch(support, 200, generator=_gen(100 + d), dtype=torch.float64)
    assert x.shape == (200, d) and y.shape == (200,)
    assert set(x.unique().tolist()) <= {-1.0, 1.0}
    mask = support.to(torch.bool)
    expected = torch.where(mask, x, torch.ones_like(x)).prod(dim=-1)
    assert torch.equal(y, expected)


def test_sample_parity_batch_supports_leading_batch_dimensions():
    """A (M, d) stack of supports gives x (M, batch, d) and y (M, batch), each row labelled by its own support."""
    supports = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]])
    x, y = sample_parity_batch(supports, 64, generator=_gen(5))
    assert x.shape == (3, 64, 4) and y.shape == (3, 64)
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    assert torch.equal(y[0], x[0, :, 0] * x[0, :, 2] * x[0, :, 3])
    assert torch.equal(y[1], torch.ones(64))
    assert torch.equal(y[2], x[2, :, 1])
    # The bits are fresh and both values occur: the sampler is not degenerate.
    assert 0 < int((x == 1).sum()) < x.numel()


def test_parity_of_equals_parity_matrix_rows():
    """parity_of(bits, v) evaluated on the cube is row v of the parity matrix."""
    d = 5
    bits = cube_bits(d)
    hadamard = parity_matrix(d, dtype=torch.int64)
    for v in (0, 1, 6, 2**d - 1):
        assert torch.equal(parity_of(bits, bits[v]), hadamard[v])


@pytest.mark.parametrize("d", (0, 21, -1))
def test_cube_bits_rejects_d_out_of_range(d):
    """d outside [1, 20] raises ValueError naming d and the range."""
    with pytest.raises(ValueError, match=r"d must be an integer in \[1, 20\]"):
        cube_bits(d)


@pytest.mark.parametrize("d", (0, 21))
def test_target_matrix_rejects_d_out_of_range(d):
    """target_matrix checks d through the cube (ValueError naming d) instead of building a huge or empty class."""
    with pytest.raises(ValueError, match=r"d must be an integer"):
        target_matrix("dictators" if d == 0 else "parities", d, generator=_gen(0), rows=torch.tensor([0]))


def test_target_matrix_rejects_unknown_target_class():
    """An unknown target class raises ValueError listing the classes."""
    with pytest.raises(ValueError, match=r"target_class must be one of 'parities', 'dictators', 'correlated'"):
        target_matrix("monomials", 4, generator=_gen(0))


def test_encode_rejects_unknown_coding():
    """An unknown coding raises ValueError listing the codings."""
    with pytest.raises(ValueError, match=r"coding must be one of 'pm1', 'zero_one'; got 'binary'"):
        encode(cube_bits(2), "binary", dtype=torch.float64)


@pytest.mark.parametrize(("target_class", "bad_row"), [("parities", 16), ("parities", -1), ("dictators", 4),
                                                        ("correlated", 16)])
def test_target_matrix_rejects_rows_out_of_range(target_class, bad_row):
    """A row index outside [0, |H| - 1] raises ValueError giving the valid range."""
    size = class_size(target_class, 4)
    with pytest.raises(ValueError, match=rf"rows must be in \[0, {size - 1}\]"):
        target_matrix(target_class, 4, generator=_gen(0), rows=torch.tensor([0, bad_row]))


def test_sample_parity_batch_rejects_empty_batch():
    """batch = 0 raises ValueError naming batch."""
    with pytest.raises(ValueError, match=r"batch must be an integer in \[1, inf\)"):
        sample_parity_batch(torch.tensor([1, 0]), 0, generator=_gen(0))

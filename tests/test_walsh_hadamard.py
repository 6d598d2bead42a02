"""Unit tests of the fast Walsh-Hadamard transform against the dense Sylvester-Hadamard matrix."""

from __future__ import annotations

import pytest
import torch

from gradfail.data.parity import parity_matrix, target_matrix
from gradfail.measure.walsh_hadamard import DEFAULT_CHUNK_COLUMNS, fwht

D_VALUES = range(1, 9)
COLUMN_COUNTS = (1, 3, 40)
CHUNKS = (DEFAULT_CHUNK_COLUMNS, 16, 1)   # 40 columns > 16: several chunks, the last one ragged


def _random(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("d", D_VALUES)
def test_fwht_vector_equals_dense_hadamard_product(d):
    """fwht of a 1-d vector equals parity_matrix(d) @ a and keeps the 1-d shape."""
    a = _random((2**d,), seed=d)
    result = fwht(a)
    assert result.shape == a.shape
    torch.testing.assert_close(result, parity_matrix(d) @ a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_columns", CHUNKS)
@pytest.mark.parametrize("columns", COLUMN_COUNTS)
@pytest.mark.parametrize("d", D_VALUES)
def test_fwht_matrix_equals_dense_hadamard_product(d, columns, chunk_columns):
    """fwht of a (2^d, k) matrix transforms every column like the dense Hadamard product, within and across chunks."""
    a = _random((2**d, columns), seed=100 * d + columns)
    result = fwht(a, chunk_columns=chunk_columns)
    assert result.shape == a.shape
    torch.testing.assert_close(result, parity_matrix(d) @ a, rtol=1e-12, atol=1e-12)


def test_fwht_more_columns_than_default_chunk_equals_dense_product():
    """With the default chunk size, a matrix wider than one chunk (ragged last chunk) matches the dense product."""
    d = 8
    a = _random((2**d, DEFAULT_CHUNK_COLUMNS + 5), seed=8)
    torch.testing.assert_close(fwht(a), parity_matrix(d) @ a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_columns", (1, 2, 7, 1000))
def test_fwht_result_does_not_depend_on_chunk_size(chunk_columns):
    """Any chunk_columns, including 1 and sizes that do not divide the column count, gives the dense result."""
    d = 6
    a = _random((2**d, 17), seed=chunk_columns)
    torch.testing.assert_close(fwht(a, chunk_columns=chunk_columns), parity_matrix(d) @ a, rtol=1e-12, atol=1e-12)


def test_fwht_integer_input_is_exact():
    """On integer input the transform is computed exactly and keeps the integer dtype."""
    d = 7
    a = torch.randint(-5, 6, (2**d, 4), generator=torch.Generator().manual_seed(3))
    result = fwht(a)
    assert result.dtype == a.dtype
    assert torch.equal(result, parity_matrix(d, dtype=torch.int64) @ a)


def test_fwht_non_contiguous_input_equals_dense_product():
    """A transposed (non-contiguous) view is transformed like its contiguous copy."""
    d = 5
    a = _random((3, 2**d), seed=11).T
    assert not a.is_contiguous()
    torch.testing.assert_close(fwht(a), parity_matrix(d) @ a, rtol=1e-12, atol=1e-12)


def test_fwht_leaves_its_input_unchanged():
    """fwht is pure: the input tensor is not modified in place."""
    a = _random((2**6, 5), seed=5)
    before = a.clone()
    fwht(a, chunk_columns=2)
    assert torch.equal(a, before)


@pytest.mark.parametrize("d", D_VALUES)
def test_fwht_applied_twice_is_two_to_the_d_times_identity(d):
    """H H = 2^d I: transforming twice multiplies the input by 2^d."""
    a = _random((2**d, 9), seed=7 * d)
    torch.testing.assert_close(fwht(fwht(a)), 2**d * a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d", (12, 13))
def test_fwht_large_d_one_hot_columns_equal_parities(d):
    """For d beyond the small cases, fwht(e_b) is column b of H (= the parity chi_b, as H is symmetric), exactly."""
    picks = torch.tensor([0, 1, 2**d - 1, 2**(d - 1) + 37, 1234])
    one_hot = torch.zeros(2**d, len(picks), dtype=torch.float64)
    one_hot[picks, torch.arange(len(picks))] = 1.0
    expected = target_matrix("parities", d, generator=torch.Generator(), rows=picks).T
    assert torch.equal(fwht(one_hot), expected)


def test_fwht_of_length_one_is_the_identity():
    """d = 0: the 1 x 1 Hadamard matrix is [1], so a length-1 input is returned unchanged."""
    a = torch.tensor([[2.5, -1.0]], dtype=torch.float64)
    assert torch.equal(fwht(a), a)


@pytest.mark.parametrize("length", (0, 3, 6, 12, 100))
def test_fwht_rejects_non_power_of_two_length(length):
    """A leading dimension that is not a power of two raises ValueError naming the length."""
    with pytest.raises(ValueError, match=f"power of two, got {length}"):
        fwht(torch.zeros(length, 2, dtype=torch.float64))


def test_fwht_rejects_three_dimensional_input():
    """A 3-d tensor raises ValueError saying it takes 1-d or 2-d input."""
    with pytest.raises(ValueError, match="1-d or 2-d tensor, got 3 dimensions"):
        fwht(torch.zeros(8, 2, 2, dtype=torch.float64))

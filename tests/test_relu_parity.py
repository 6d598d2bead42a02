"""Unit tests of Lemma 3's ReLU construction (gradfail.models.relu_parity), over every support of d <= 8."""

from __future__ import annotations

import pytest
import torch

from gradfail.data.parity import cube_bits, parity_matrix
from gradfail.models.relu_parity import relu_parity_network, relu_parity_predict

D_VALUES = range(1, 9)


@pytest.mark.parametrize("d", D_VALUES)
def test_relu_parity_with_zero_triad_outputs_the_parity_on_every_input(d):
    """With the i = 0 triad the network outputs exactly chi_v(b) in {+-1} on all 2^d inputs, for all 2^d supports v."""
    bits = cube_bits(d)
    hadamard = parity_matrix(d)
    for v in range(2**d):
        params = relu_parity_network(bits[v], include_zero_triad=True)
        output = relu_parity_predict(params, bits)
        # Every quantity is a small dyadic rational, so float64 is exact: compare with equality, not sign only.
        assert torch.equal(output, hadamard[v]), f"support {bits[v].tolist()}"
        assert torch.equal(torch.sign(output), hadamard[v])


@pytest.mark.parametrize("d", D_VALUES)
def test_relu_parity_network_has_three_units_per_triad(d):
    """The hidden layer has 3 (floor(d/2) + 1) units with the fix and 3 floor(d/2) as printed; shapes are consistent."""
    support = torch.ones(d, dtype=torch.int64)
    for include_zero_triad, triads in ((True, d // 2 + 1), (False, d // 2)):
        hidden_w, hidden_b, out_w, out_b = relu_parity_network(support, include_zero_triad=include_zero_triad)
        assert hidden_w.shape == (3 * triads, d)
        assert hidden_b.shape == out_w.shape == (3 * triads,)
        assert out_b.shape == ()
        assert torch.equal(hidden_w, support.to(torch.float64).expand(3 * triads, d))


@pytest.mark.claim("parity.relu_construction_realises_parity")
@pytest.mark.parametrize("d", D_VALUES)
def test_relu_parity_printed_construction_errs_exactly_where_support_bits_are_off(d):
    """Erratum: with i = 1..d/2 only (as printed), the error rate is exactly 2^-|v|, all at inputs with <b, v> = 0."""
    bits = cube_bits(d)
    hadamard = parity_matrix(d)
    for v in range(2**d):
        support = bits[v]
        output = relu_parity_predict(relu_parity_network(support, include_zero_triad=False), bits)
        wrong = torch.sign(output) != hadamard[v]
        weight = int(support.sum())
        assert float(wrong.double().mean()) == 2.0 ** -weight, f"support {support.tolist()}"
        # The misclassified inputs are exactly those with every support bit off, where the output is -1.
        assert torch.equal(wrong, (bits @ support) == 0)
        assert torch.equal(output[wrong], -torch.ones(int(wrong.sum()), dtype=output.dtype))
        # Everywhere else the printed construction is still exact.
        assert torch.equal(output[~wrong], hadamard[v][~wrong])


def test_relu_parity_network_rejects_empty_support():
    """A support of length 0 raises ValueError naming len(support)."""
    with pytest.raises(ValueError, match=r"len\(support\) must be an integer in \[1, inf\)"):
        relu_parity_network(torch.zeros(0, dtype=torch.int64))

"""Sparse parities (Barak et al., NeurIPS 2022): Hypothesis checks of every claim with a strategy."""

from gradfail.testing.templates import test_claim_detects_violation, test_claim_holds  # noqa: F401

TOPIC = "sparse_parity"

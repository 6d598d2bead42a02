"""Deep linear networks (Shamir, COLT 2019): every claim at its reference setting, with baselines."""

from gradfail.testing.templates import test_claim_at_reference, test_claim_detects_violation  # noqa: F401

TOPIC = "deep_linear"

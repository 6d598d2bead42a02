"""Information exponent (Ben Arous, Gheissari & Jagannath, JMLR 2021): Hypothesis checks of every claim with a strategy."""

from gradfail.testing.templates import test_claim_detects_violation, test_claim_holds  # noqa: F401

TOPIC = "single_index"

"""Intermediate supervision (Wies, Levine & Shashua, ICLR 2023): Hypothesis checks of every claim with a strategy."""

from gradfail.testing.templates import test_claim_detects_violation, test_claim_holds  # noqa: F401

TOPIC = "intermediate_supervision"

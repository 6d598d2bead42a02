"""Test templates: thin tests over the claim registry (the OpInfo / parametrize_with_checks pattern).

A test module imports the templates it wants and names its topic:

    from gradfail.testing.templates import test_claim_holds, test_claim_detects_violation
    TOPIC = "parity"

The plugin (`pytest_generate_tests`) parametrizes `claim` over that topic's registered claims that the
template applies to (see `applies_to`), and `seeds` over --claims-seeds. Nothing here knows a claim id.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gradfail.claims import Claim, Verdict
from gradfail.seeding import format_seeds
from gradfail.testing.baselines import baseline_path, check_baseline
from gradfail.testing.recorder import record


def applies_to(predicate):
    """Declare which claims a template is parametrized over: predicate(claim, suite) -> bool."""
    def mark(template):
        template.gradfail_applies_to = predicate
        return template
    return mark


def failure_message(claim: Claim, setting, seeds, verdict: Verdict, *, profile: str, device, headline: str) -> str:
    """What a user needs to understand and rerun a failed check."""
    nodeid = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    bound = claim.bound
    return "\n".join([
        f"{headline}: {claim.id}",
        f"  statement: {claim.statement}",
        f"  source:    {claim.source}",
        f"  setting:   {setting!r}",
        f"  seeds:     {format_seeds(tuple(seeds))}",
        f"  measured:  {verdict.estimate.short()}  ({claim.quantity}; interval alpha={verdict.estimate.alpha:g})",
        f"  bound:     {verdict.bound_text}  (rtol={bound.rtol:g}, atol={bound.atol:g}; {bound.why})",
        f"  margin:    {verdict.margin:.4g}",
        f"  reproduce: pytest '{nodeid}' --claims-seeds {format_seeds(tuple(seeds))} "
        f"--claims-profile {profile} --claims-device {device.type}",
    ])


def _check(claim: Claim, setting, seeds, device, profile: str, kind: str) -> Verdict:
    verdict = claim.check(setting, seeds=tuple(seeds), device=device)
    record(claim, setting, seeds, verdict, kind=kind)
    assert verdict.holds, failure_message(claim, setting, seeds, verdict, profile=profile, device=device,
                                          headline="claim does not hold")
    return verdict


# Contract: the claim's bound holds at every setting its strategy draws, for the selected seeds.
# It does not check the reference setting (test_claim_at_reference does) or power (the violation test).
@applies_to(lambda claim, suite: claim.settings is not None)
@given(data=st.data())
def test_claim_holds(claim, seeds, device, claims_profile, data):
    """The claim holds at Hypothesis-drawn settings inside its assumptions."""
    setting = data.draw(claim.settings, label="setting")
    _check(claim, setting, seeds, device, claims_profile, "drawn")


# Contract: the claim holds at its reference setting (scaled for the profile), and at seed 0 of the ci
# profile its measured value matches the stored baseline (pytest-regressions; --force-regen rewrites it).
@applies_to(lambda claim, suite: True)
def test_claim_at_reference(claim, seeds, device, claims_profile, num_regression, request):
    """The claim holds at its reference setting and its value matches the baseline."""
    setting = claim.reference_for(claims_profile)
    verdict = _check(claim, setting, seeds, device, claims_profile, "reference")
    if tuple(seeds) == (0,) and claims_profile == "ci":
        estimate = verdict.estimate
        check_baseline(num_regression, request, baseline_path(Path(request.path).parent, device, claim.dtype, claim.id),
                       {"value": estimate.value, "lo": estimate.lo, "hi": estimate.hi}, dtype=claim.dtype,
                       atol=claim.bound.atol)


# Contract: at the violation setting (an assumption deliberately broken) the same check must fail.
# A check that cannot fail proves nothing. Runs in the suite that holds the claim's main check.
@applies_to(lambda claim, suite: claim.violation is not None and claim.suite == suite)
def test_claim_detects_violation(claim, seeds, device, claims_profile):
    """The claim's check fails where its assumptions are broken."""
    verdict = claim.check(claim.violation, seeds=tuple(seeds), device=device)
    record(claim, claim.violation, seeds, verdict, kind="violation")
    assert not verdict.holds, failure_message(
        claim, claim.violation, seeds, verdict, profile=claims_profile, device=device,
        headline="check did not fail at the violation setting (it has no power there)")

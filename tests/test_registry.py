"""Meta-tests of the claim registry: every claim is complete, testable and documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from gradfail.claims import TOPICS, all_claims, get_claim
from gradfail.cli import claims_markdown_table

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = list(all_claims().values())


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_claim_has_a_violation_and_a_valid_reference(claim):
    """Every claim proves its power with a violation setting; profile-scaled references stay valid."""
    assert claim.violation is not None, f"{claim.id} has no violation setting: its check may be unable to fail"
    for profile in ("smoke", "ci", "paper"):
        claim.reference_for(profile).validate()


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_both_suites(topic):
    """claims/<topic>.py has theory_checks/test_<topic>.py and regressions/test_<topic>.py naming it."""
    for suite in ("theory_checks", "regressions"):
        text = (ROOT / suite / f"test_{topic}.py").read_text()
        assert re.search(rf'^TOPIC = "{topic}"$', text, re.M), f"{suite}/test_{topic}.py must set TOPIC"


def test_readme_claims_table_matches_registry():
    """The README's claims table is `gradfail list --markdown`, verbatim."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- claims-table:start -->\n(.*?)\n<!-- claims-table:end -->", readme, re.S)
    assert block, "README.md lacks the claims-table markers"
    assert block.group(1).strip() == claims_markdown_table().strip(), \
        "README claims table is stale: regenerate it with `gradfail list --markdown`"


def test_unknown_claim_id_suggests_close_matches():
    """get_claim on a typo names the close matches."""
    with pytest.raises(KeyError, match="did you mean parity.parities_orthonormal"):
        get_claim("parity.parities_orthonormall")


def test_invalid_claim_records_are_rejected():
    """A record with a bad id, statement, section or tier fails at declaration, naming the field."""
    claim = CLAIMS[0]

    for change, message in (({"id": "NoTopic"}, "id must look like"), ({"statement": "no period"}, "statement"),
                            ({"section": "9"}, "section"), ({"tier": "weekly"}, "tier"),
                            ({"scale": {"huge": {}}}, "scale keys"), ({"scale": {"paper": {"nope": 1}}}, "unknown fields"),
                            ({"error_budget": 1.5}, "error_budget")):
        with pytest.raises(ValueError, match=message):
            dataclasses.replace(claim, **change)

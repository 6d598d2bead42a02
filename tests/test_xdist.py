"""pytest-xdist: a parallel run gives the verdicts and values of a serial run, in ONE claims table and report.

The same small selection (two exact parity claims, seeds 0-1, the derandomized Hypothesis profile `ci` so
every run draws the same settings) runs three ways: serially, with `-n 2`, and with two explicitly declared
local execution environments (`-d --tx popen --tx popen`), the code path a multi-host run takes with
`--tx ssh=host//python=...` workers. The reports must agree on every claim's outcome, measured value (bit
for bit, through JSON's exact float round trip), bound, checks and tests; only timings may differ.
tests/test_plugin.py::test_results_survive_xdist checks that results reach the controller at all; this file
checks that they are the same results, from one merged table. (tests/test_determinism.py checks that the
values are the same in two separate serial processes.)
"""

from __future__ import annotations

import json

import pytest

CLAIMS = ("parities_orthonormal", "linear_model_variance_closed_form")
TEMPLATE_MODULE = """
from gradfail.testing.templates import test_claim_detects_violation, test_claim_holds  # noqa: F401
TOPIC = "parity"
"""
COMMON = ("theory_checks", "-k", " or ".join(CLAIMS), "-p", "no:cacheprovider", "--hypothesis-profile", "ci",
          "--claims-seeds", "0-1")
PARALLEL = {"n2": ("-n", "2"), "popen": ("-d", "--tx", "popen", "--tx", "popen")}
PASSED = 8   # 2 claims x 2 seeds x (holds at drawn settings + detects its violation)


def _comparable(report: dict) -> dict:
    """Everything but timings and the creation time; tests sorted (workers finish in any order)."""
    claims = {}
    for entry in report["claims"]:
        kept = {k: v for k, v in entry.items() if k != "duration_s"}
        kept["tests"] = sorted(kept["tests"])
        claims[entry["id"]] = kept
    return {key: report[key] for key in ("schema", "seeds", "profile", "device")} | {"claims": claims}


def test_parallel_runs_match_the_serial_run_in_one_merged_report(pytester: pytest.Pytester):
    """-n 2 and two popen workers: same outcomes, values, bounds and tests as serially; one table, one footer."""
    pytester.mkdir("theory_checks")
    pytester.path.joinpath("theory_checks", "test_parity.py").write_text(TEMPLATE_MODULE)
    serial = pytester.runpytest_inprocess(*COMMON, "--claims-json", "serial.json")
    serial.assert_outcomes(passed=PASSED)
    expected = _comparable(json.loads((pytester.path / "serial.json").read_text()))
    assert [c["outcome"] for c in expected["claims"].values()] == ["passed"] * len(CLAIMS)

    for name, args in PARALLEL.items():
        result = pytester.runpytest_subprocess(*COMMON, "--claims-json", f"{name}.json", *args)
        result.assert_outcomes(passed=PASSED)
        text = result.stdout.str()
        assert "2/2 workers" in text, f"{name}: expected two workers"
        assert _comparable(json.loads((pytester.path / f"{name}.json").read_text())) == expected, name
        # One table, printed by the controller: one header, one footer, one row per claim.
        assert text.count("gradfail claims") == 1 and text.count("false-failure budget of this run") == 1, name
        for claim in CLAIMS:
            assert text.count(f"parity.{claim} ") == 1, f"{name}: parity.{claim} should have exactly one row"

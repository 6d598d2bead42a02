"""pytest-xdist: a parallel run gives the verdicts and values of a serial run, in ONE claims table and report.

The same small selection (two exact parity claims, seeds 0-1, the derandomized Hypothesis profile `ci` so
every run draws the same settings) runs serially and then in parallel: with `-n 2` (default run), and with
two explicitly declared local execution environments (`-d --tx popen --tx popen`, slow tier), the code path
a multi-host run takes with `--tx ssh=host//python=...` workers. The reports must agree on every claim's outcome, measured value (bit
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
# -n 2 is xdist's shortcut for --dist=load --tx=2*popen; the explicit spelling is what a multi-host user writes.
# Each parallel run starts three interpreters (~10 s on 2 cores), so the explicit spelling runs in the slow tier.
PARALLEL = [pytest.param(("-n", "2"), id="n2"),
            pytest.param(("-d", "--tx", "popen", "--tx", "popen"), id="tx_popen", marks=pytest.mark.slow)]
PASSED = 8   # 2 claims x 2 seeds x (holds at drawn settings + detects its violation)


def _comparable(report: dict) -> dict:
    """Everything but timings and the creation time; tests sorted (workers finish in any order)."""
    claims = {}
    for entry in report["claims"]:
        kept = {k: v for k, v in entry.items() if k != "duration_s"}
        kept["tests"] = sorted(kept["tests"])
        claims[entry["id"]] = kept
    return {key: report[key] for key in ("schema", "seeds", "profile", "device")} | {"claims": claims}


@pytest.mark.parametrize("args", PARALLEL)
def test_parallel_run_matches_the_serial_run_in_one_merged_report(pytester: pytest.Pytester, args):
    """Two workers: same outcomes, values, bounds and tests as serially; one table, one footer."""
    pytester.mkdir("theory_checks")
    pytester.path.joinpath("theory_checks", "test_parity.py").write_text(TEMPLATE_MODULE)
    # Both runs in fresh interpreters: an in-process run inherits this session's global Hypothesis and torch
    # state, and once (in a full suite run) drew other settings than the parallel run's fresh workers.
    serial = pytester.runpytest_subprocess(*COMMON, "--claims-json", "serial.json")
    serial.assert_outcomes(passed=PASSED)
    expected = _comparable(json.loads((pytester.path / "serial.json").read_text()))
    assert [c["outcome"] for c in expected["claims"].values()] == ["passed"] * len(CLAIMS)

    result = pytester.runpytest_subprocess(*COMMON, "--claims-json", "parallel.json", *args)
    result.assert_outcomes(passed=PASSED)
    text = result.stdout.str()
    assert "2/2 workers" in text, "expected two workers"
    assert _comparable(json.loads((pytester.path / "parallel.json").read_text())) == expected
    # One table, printed by the controller: one header, one footer, one row per claim.
    assert text.count("gradfail claims") == 1 and text.count("false-failure budget of this run") == 1
    for claim in CLAIMS:
        assert text.count(f"parity.{claim} ") == 1, f"parity.{claim} should have exactly one row"

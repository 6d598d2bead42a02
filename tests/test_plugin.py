"""The pytest plugin: options, usage errors, claims table, JSON report, failure messages, xdist."""

from __future__ import annotations

import json

import pytest
import torch

from gradfail.claims import Bound, Claim, Verdict
from gradfail.claims.parity import CubeSetting
from gradfail.reporting import SCHEMA, ClaimsCollector
from gradfail.stats import Estimate
from gradfail.testing import templates

FAST_CLAIM = "parities_orthonormal"
TEMPLATE_MODULE = """
from gradfail.testing.templates import test_claim_detects_violation, test_claim_holds  # noqa: F401
TOPIC = "parity"
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A temporary theory_checks/ folder using the real templates and registry."""
    pytester.mkdir("theory_checks")
    pytester.path.joinpath("theory_checks", "test_parity.py").write_text(TEMPLATE_MODULE)
    return pytester


def _run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In-process: the plugin keeps its state on a per-config object, so a nested run is independent.
    return suite.runpytest_inprocess("theory_checks", "-k", FAST_CLAIM, "-p", "no:cacheprovider", *args)


def test_report_json_follows_schema(suite):
    """--claims-json writes gradfail-report/1 with one passed entry per claim and its tests."""
    result = _run(suite, "--claims-json", "out/claims.json", "--claims-seeds", "0-2")
    result.assert_outcomes(passed=6)
    report = json.loads((suite.path / "out" / "claims.json").read_text())
    assert report["schema"] == SCHEMA
    assert {"created", "torch", "device", "profile", "seeds", "claims"} <= set(report)
    assert report["seeds"] == [0, 1, 2] and report["profile"] == "ci" and report["device"] == "cpu"
    (entry,) = report["claims"]
    assert {"id", "section", "source", "statement", "outcome", "measured", "bound", "duration_s", "tests"} <= set(entry)
    assert entry["id"] == f"parity.{FAST_CLAIM}" and entry["section"] == "2" and entry["outcome"] == "passed"
    assert len(entry["tests"]) == 6 and entry["bound"]["relation"] == "<="


def test_claims_table_is_printed(suite):
    """The terminal summary has a claims table with the claim, its verdict and the device."""
    result = _run(suite)
    result.stdout.fnmatch_lines(["*gradfail claims*", f"*parity.{FAST_CLAIM}*PASSED*cpu*"])


@pytest.mark.parametrize("args, env, expected", [
    (("--claims-profile", "huge"), {}, "*invalid choice*'huge'*smoke*ci*paper*"),
    (("--claims-device", "tpu"), {}, "*invalid choice*'tpu'*auto*cpu*cuda*"),
    ((), {"GRADFAIL_PROFILE": "huge"}, "*GRADFAIL_PROFILE='huge'*smoke, ci, paper*"),
    ((), {"GRADFAIL_DEVICE": "tpu"}, "*GRADFAIL_DEVICE='tpu'*auto, cpu, cuda*"),
    (("--claims-seeds", "3-1"), {}, "*low <= high*"),
    (("--claims-seeds", "x"), {}, "*seeds must look like*"),
    ((), {"GRADFAIL_SEEDS": "-4"}, "*seeds must*"),
])
def test_bad_options_are_usage_errors(suite, monkeypatch, args, env, expected):
    """Unknown profiles, devices and malformed seeds stop the run with a usage error naming the choices."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = _run(suite, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_usage_error(suite):
    """--claims-device cuda on a machine without a GPU says so before any test runs."""
    result = _run(suite, "--claims-device", "cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'cuda' was requested but no CUDA GPU is usable here*"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_marked_tests_skip_with_reason(pytester):
    """Tests marked gpu are skipped, with the reason, when no GPU is present."""
    pytester.makepyfile("import pytest\n@pytest.mark.gpu\ndef test_needs_gpu():\n    assert False\n")
    result = pytester.runpytest_inprocess("-m", "gpu", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a CUDA GPU*"])


def test_results_survive_xdist(suite):
    """Under pytest-xdist the controller still gets every claim result (through user_properties)."""
    result = suite.runpytest_subprocess("theory_checks", "-k", FAST_CLAIM, "-p", "no:cacheprovider", "-n", "2",
                                        "--claims-json", "claims.json", "--claims-seeds", "0-3")
    result.assert_outcomes(passed=8)
    (entry,) = json.loads((suite.path / "claims.json").read_text())["claims"]
    assert entry["outcome"] == "passed" and len(entry["tests"]) == 8 and entry["measured"] == 0.0


def test_failure_message_names_claim_setting_seed_and_reproduce_command(monkeypatch):
    """A failed check says which claim, where, with which seed, measured vs bound, and how to rerun it."""
    broken = Claim(id="parity.always_fails_for_test", statement="A bound no Gram matrix meets.", source="test",
                   section="2", quantity="max |Gram - I|", measure=lambda setting, **_: Estimate(1.0),
                   bound=Bound(relation="le", rhs=lambda s: 0.5, why="for the test"),
                   reference=CubeSetting(d=3), violation=None)
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "theory_checks/test_parity.py::test_claim_holds[x-seed7] (call)")
    with pytest.raises(AssertionError) as failure:
        templates._check(broken, CubeSetting(d=3), (7,), torch.device("cpu"), "ci", "drawn")
    message = str(failure.value)
    for expected in ("claim does not hold: parity.always_fails_for_test", "setting:   CubeSetting(d=3",
                     "seeds:     7", "measured:  1", "bound:     <= 0.5",
                     "reproduce: pytest 'theory_checks/test_parity.py::test_claim_holds[x-seed7]' --claims-seeds 7"):
        assert expected in message


def test_claim_outcome_is_the_most_serious_test_outcome():
    """A claim with one failed test is failed; errors outrank failures; skips alone give skipped."""
    collector = ClaimsCollector()
    collector.add("parity.parities_orthonormal", "a", "passed", 0.1, [])
    collector.add("parity.parities_orthonormal", "b", "failed", 0.1, [])
    collector.add("parity.gradient_variance_bound", "c", "xfailed", 0.1, [])
    collector.add("parity.gradient_variance_bound", "d", "passed", 0.1, [])
    collector.add("parity.square_loss_variance_identity", "e", "skipped", 0.0, [])
    collector.add("parity.linear_model_variance_closed_form", "f", "failed", 0.0, [])
    collector.add("parity.linear_model_variance_closed_form", "f", "error", 0.0, [])
    outcomes = {c["id"]: c["outcome"] for c in collector.build(profile="ci", device="cpu", seeds=(0,))["claims"]}
    assert outcomes == {"parity.parities_orthonormal": "failed", "parity.gradient_variance_bound": "xfailed",
                        "parity.square_loss_variance_identity": "skipped",
                        "parity.linear_model_variance_closed_form": "error"}


def test_a_template_that_applies_to_no_claim_is_deselected_not_skipped(pytester):
    """deep_linear's claims have no Hypothesis strategy: its theory_checks templates collect nothing to run, and
    must not show up as skips (a skip that tests nothing reads like a missing GPU or a broken claim)."""
    pytester.mkdir("theory_checks")
    pytester.path.joinpath("theory_checks", "test_deep_linear.py").write_text(
        TEMPLATE_MODULE.replace('TOPIC = "parity"', 'TOPIC = "deep_linear"'))
    result = pytester.runpytest_inprocess("theory_checks", "-p", "no:cacheprovider")
    result.assert_outcomes(deselected=2)
    assert "got empty parameter set" not in result.stdout.str()


def test_a_record_built_from_numpy_scalars_crosses_the_xdist_channel():
    """Measurements often come out of numpy as np.float64; xdist's execnet channel refuses those, which killed a
    worker (INTERNALERROR) in the slow tier. Records must hold plain Python numbers."""
    import execnet
    import numpy as np

    from gradfail.testing import recorder

    from gradfail.claims import get_claim

    claim = get_claim("parity.parities_orthonormal")
    estimate = Estimate(np.float64(0.5), np.float64(0.25), np.float64(0.75), alpha=np.float64(1e-3))
    verdict = Verdict(np.bool_(True), estimate, "<= 1", np.float64(0.25))
    recorder.take()
    recorder.record(claim, claim.reference, (0,), verdict, kind="reference")
    (entry,) = recorder.take()
    execnet.dumps(entry)     # raises DumpError on a numpy scalar
    assert entry["measured"] == {"value": 0.5, "ci": [0.25, 0.75], "alpha": 0.001} and entry["holds"] is True

"""Baselines never lose or lie (issue 7, part 3): missing, regenerated, untouched, malformed, orphaned, tolerances.

Runs the real `test_claim_at_reference` template with pytester, in a temporary folder, over a fake topic whose
claims return values this module sets: no training, so each nested run takes a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from gradfail import pytest_plugin
from gradfail.claims import Bound, Claim, Setting, all_claims
from gradfail.stats import Estimate
from gradfail.testing import baselines
from gradfail.testing.baselines import baseline_path, baseline_problem, orphaned_baselines
from gradfail.testing.tolerances import BASELINE_TOLERANCE
from gradfail.validation import check_int

REPO_REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"
MEASURED: dict[str, float] = {}      # claim id -> the value its fake measurement returns in the nested run


@dataclass(frozen=True)
class FakeSetting(Setting):
    x: int = 0

    def validate(self) -> None:
        check_int("x", self.x, 0, 1)


def _measure_of(claim_id: str):
    def measure(setting, *, seeds, device):
        value = MEASURED[claim_id]
        return Estimate(value, value - 0.25, value + 0.25, alpha=1e-3)
    return measure


def _claim(name: str, dtype: torch.dtype) -> Claim:
    claim_id = f"fake.{name}"
    return Claim(id=claim_id, statement="A fake claim for baseline tests.", source="none", section="2",
                 quantity="a number", measure=_measure_of(claim_id),
                 bound=Bound(relation="le", rhs=lambda s: 100.0, why="any value below 100 holds"),
                 reference=FakeSetting(), violation=None, dtype=dtype, error_budget=1e-3)


FAKE = [_claim("alpha", torch.float64), _claim("beta", torch.float64), _claim("gamma", torch.float32)]
MODULE = 'from gradfail.testing.templates import test_claim_at_reference  # noqa: F401\nTOPIC = "fake"\n'


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A temporary regressions/ folder whose topic "fake" holds the claims FAKE."""
    real_claims_of = pytest_plugin.claims_of
    monkeypatch.setattr(pytest_plugin, "claims_of", lambda topic: FAKE if topic == "fake" else real_claims_of(topic))
    for variable in ("GRADFAIL_PROFILE", "GRADFAIL_SEEDS", "GRADFAIL_DEVICE", "CI"):
        monkeypatch.delenv(variable, raising=False)
    MEASURED.clear()
    MEASURED.update({"fake.alpha": 1.0, "fake.beta": 2.0, "fake.gamma": 3.0})
    pytester.mkdir("regressions")
    pytester.path.joinpath("regressions", "test_fake.py").write_text(MODULE)
    return pytester


def _run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    return suite.runpytest_inprocess("regressions", "--claims-device", "cpu", "-p", "no:cacheprovider", *args)


def _path(suite: pytest.Pytester, claim: Claim):
    return baseline_path(suite.path / "regressions", "cpu", claim.dtype, claim.id)


def _snapshot(suite: pytest.Pytester) -> dict[str, tuple[bytes, int]]:
    folder = suite.path / "regressions" / "baselines"
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def _value_in(path) -> float:
    import pandas as pd

    return float(pd.read_csv(path, index_col=0)["value"].iloc[0])


def test_missing_baseline_fails_and_is_written_for_review(suite):
    """First run: every reference test fails with "created", and the files hold the measured values."""
    result = _run(suite)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*File not found in data directory, created:*", "*cpu-float64?fake.alpha.csv*"])
    assert [_value_in(_path(suite, c)) for c in FAKE] == [1.0, 2.0, 3.0]
    _run(suite).assert_outcomes(passed=3)                       # reviewed and kept: the next run passes


def test_force_regen_and_subset_runs_touch_only_the_selected_files(suite):
    """--force-regen / --regen-all rewrite only the selected tests' baselines; a subset run deletes nothing."""
    _run(suite)
    stray = suite.path / "regressions" / "baselines" / "cpu-float64" / "fake.retired.csv"
    stray.write_text(",value,lo,hi\n0,5,5,5\n")                 # an orphan: a subset run must not delete it
    before = _snapshot(suite)
    MEASURED.update({"fake.alpha": 1.5, "fake.beta": 2.5, "fake.gamma": 3.5})

    _run(suite, "-k", "alpha").assert_outcomes(failed=1)        # a mismatch, no flag: nothing is written
    assert _snapshot(suite) == before

    result = _run(suite, "-k", "alpha", "--force-regen")
    result.assert_outcomes(failed=1)                             # a rewrite is never silent
    result.stdout.fnmatch_lines(["*Files differ and --force-regen set, regenerating file at:*", "*fake.alpha.csv*"])
    after = _snapshot(suite)
    assert _value_in(_path(suite, FAKE[0])) == 1.5
    assert {k: v for k, v in after.items() if "alpha" not in k} == {k: v for k, v in before.items() if "alpha" not in k}

    _run(suite, "-k", "gamma", "--regen-all").assert_outcomes(passed=1)
    assert _value_in(_path(suite, FAKE[2])) == 3.5 and _value_in(_path(suite, FAKE[1])) == 2.0
    assert stray.read_text() == ",value,lo,hi\n0,5,5,5\n"


# Each malformed file and the phrase its error must contain. pytest-regressions alone raises EmptyDataError
# without the file name (empty), ignores extra columns, reports a bare shape mismatch (rows), and treats a NaN
# baseline as equal to a NaN measurement.
MALFORMED = {
    "empty": ("", "the file is empty"),
    "garbage": ("\x00\x01PK garbage \xff\n", "columns are"),
    "missing_column": (",value,lo\n0,1,0.75\n", "(missing hi)"),
    "extra_column": (",value,lo,hi,seed\n0,1,0.75,1.25,0\n", "(unknown seed)"),
    "two_rows": (",value,lo,hi\n0,1,0.75,1.25\n1,1,0.75,1.25\n", "it has 2 data rows, expected exactly 1"),
    "truncated": (",value,lo,hi\n0,1,0.7", "hi is empty or NaN, not a number"),
    "nan_value": (",value,lo,hi\n0,nan,0.75,1.25\n", "value is empty or NaN, not a number"),
    "text_value": (",value,lo,hi\n0,one,0.75,1.25\n", "value is 'one', not a number"),
    "not_an_interval": (",value,lo,hi\n0,1,1.5,1.25\n", "breaks lo <= value <= hi"),
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_baseline_problem_names_each_malformation(tmp_path, kind):
    """Every kind of broken file is recognised, with a message saying what is wrong."""
    text, phrase = MALFORMED[kind]
    path = tmp_path / "fake.alpha.csv"
    path.write_text(text)
    assert phrase in baseline_problem(path)


def test_well_formed_baselines_have_no_problem(tmp_path):
    """Written by pytest-regressions, with an open-ended interval (hi = inf) as some ratio claims have."""
    path = tmp_path / "ok.csv"
    path.write_text(",value,lo,hi\n0,3.4567890123456789,1.25,inf\n")
    assert baseline_problem(path) is None
    assert all(baseline_problem(p) is None for p in (baseline_path(REPO_REGRESSIONS, "cpu", c.dtype, c.id)
                                                      for c in all_claims().values()) if p.exists())


@pytest.mark.parametrize("regen", [False, True])
def test_malformed_baseline_fails_naming_the_file_and_never_passes(suite, regen):
    """The template turns a malformed baseline into a failure naming the file and the problem; --force-regen
    replaces it. The measured value equals nothing in the file, so a silent pass would be a lie."""
    _run(suite)
    path = _path(suite, FAKE[0])
    path.write_text(MALFORMED["nan_value"][0])
    result = _run(suite, "-k", "alpha", *(["--force-regen"] if regen else []))
    result.assert_outcomes(failed=1)
    if regen:
        result.stdout.fnmatch_lines(["*File not found in data directory, created:*", "*fake.alpha.csv*"])
        assert baseline_problem(path) is None and _value_in(path) == 1.0
    else:
        result.stdout.fnmatch_lines([f"*BaselineError: baseline {path} is malformed: value is empty or NaN*"])
        assert path.read_text() == MALFORMED["nan_value"][0]


def test_mismatch_message_prints_the_dtype_tolerance_from_the_table(suite):
    """A float32 value moved by more than the table's tolerance fails with the file and the tolerance used;
    a move inside it passes."""
    _run(suite)
    table = BASELINE_TOLERANCE[torch.float32]
    MEASURED["fake.gamma"] = 3.0 * (1 + table["rtol"]) + 2 * table["atol"]
    result = _run(suite, "-k", "gamma")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"*baseline mismatch: {_path(suite, FAKE[2])}*",
        f"*tolerance for float32 baselines: rtol={table['rtol']:g}, atol={table['atol']:g} "
        "(gradfail.testing.tolerances.BASELINE_TOLERANCE)*",
    ])
    MEASURED["fake.gamma"] = 3.0 * (1 + table["rtol"] / 2)
    _run(suite, "-k", "gamma").assert_outcomes(passed=1)


def test_orphans_are_listed_by_the_command(tmp_path, capsys):
    """`python -m gradfail.testing.baselines --orphans` lists unused files and exits 1; 0 when there are none."""
    suite = tmp_path / "regressions"
    suite.mkdir()
    (suite / "test_parity.py").write_text(MODULE.replace("fake", "parity"))
    claim = all_claims()["parity.parities_orthonormal"]
    used = baseline_path(suite, "cpu", claim.dtype, claim.id)
    orphans = [baseline_path(suite, "cpu", torch.float32, claim.id),                 # the wrong dtype folder
               baseline_path(suite, "cpu", claim.dtype, "parity.no_such_claim"),     # a removed claim
               baseline_path(suite, "cpu", torch.float64, "end_to_end.snr_falls_with_k"),  # no test module here
               used.with_suffix(".obtained.csv")]                                    # a leftover
    for path in [used, *orphans]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(",value,lo,hi\n0,0,0,0\n")
    assert orphaned_baselines(suite) == sorted(orphans)

    assert baselines.main(["--orphans", "--root", str(suite)]) == 1
    assert capsys.readouterr().out.split() == [str(p) for p in sorted(orphans)]
    for path in orphans:
        path.unlink()
    assert baselines.main(["--orphans", "--root", str(suite)]) == 0


def test_repository_has_no_orphaned_baselines():
    """Every file under regressions/baselines belongs to a registered claim's reference check."""
    assert orphaned_baselines(REPO_REGRESSIONS) == [], (
        "orphaned baselines (delete them, or restore the claim): python -m gradfail.testing.baselines --orphans")

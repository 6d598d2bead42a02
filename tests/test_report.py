"""The claims report: claims.md (environment, tables per section, figures beside the paper's reading,
failures with reproduce commands), the figure readings, the progress bar, and `gradfail report`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradfail.claims import all_claims
from gradfail.cli import figures_of, main
from gradfail.figures import FIGURES
from gradfail.figures.readings import READINGS
from gradfail.reporting import ClaimsProgress, render_markdown, reproduce_command

ROOT = Path(__file__).resolve().parents[1]
FAST_CLAIM = "parity.parities_orthonormal"


def _entry(claim_id: str, outcome: str, *, tests=("t.py::test[x-seed0]",), failed=()) -> dict:
    claim = all_claims()[claim_id]
    return {"id": claim_id, "section": claim.section, "source": claim.source, "statement": claim.statement,
            "outcome": outcome, "measured": 0.97, "bound": None, "duration_s": 1.25, "tests": list(tests),
            "failed_tests": list(failed), "measured_text": "0.97 [0.96, 0.98]", "bound_text": ">= 0.95",
            "tier": claim.tier, "error_budget": 1e-3, "checks": 1, "quantity": claim.quantity}


@pytest.fixture
def report() -> dict:
    return {"schema": "gradfail-report/1", "created": "2026-11-29T01:00:00+00:00", "torch": "2.13.0+cpu",
            "gradfail": "0.1.0", "numpy": "2.3.1", "threads": 2, "device": "cuda (NVIDIA H200)", "profile": "ci",
            "seeds": [0, 1, 2],
            "claims": [_entry("parity.sgd_learns_small_d", "passed"),
                       _entry("parity.sgd_fails_large_d", "failed", tests=("r.py::a[s-seed0]", "r.py::a[s-seed1]"),
                              failed=("r.py::a[s-seed1]",)),
                       _entry("conditioning.second_difference_inverts_encoding", "passed")]}


def test_markdown_header_names_the_environment(report):
    """gradfail, torch and numpy versions, device, threads, profile, seeds and date head the report."""
    header = render_markdown(report).split("## ")[0]
    assert "| gradfail | torch | numpy | device | threads | profile | seeds | date |" in header
    assert "| 0.1.0 | 2.13.0+cpu | 2.3.1 | cuda (NVIDIA H200) | 2 | ci | 0-2 | 2026-11-29T01:00:00+00:00 |" in header
    assert "3 claims: 2 passed, 1 failed" in header


def test_markdown_has_a_table_per_paper_section(report):
    """Each section's table lists its claims with statement, measured, bound, verdict and time."""
    markdown = render_markdown(report)
    sections = re.findall(r"^## (.*)$", markdown, re.M)
    assert sections == ["Section 2: parities and linear-periodic functions", "Section 4: architecture and conditioning",
                        "Failures"]
    section2 = markdown.split("## Section 2")[1].split("## Section 4")[0]
    assert "| `parity.sgd_learns_small_d` |" in section2 and "| 0.97 [0.96, 0.98] | >= 0.95 | PASSED | 1.2 s |" in section2
    assert "second_difference" not in section2


def test_figure_sits_next_to_its_claims_with_the_papers_reading(report):
    """A figure is embedded in its section, each paper reading beside this run's verdict (or 'not run')."""
    markdown = render_markdown(report, {"fig1_parity": "figures/fig1_parity.png"})
    section2 = markdown.split("## Section 2")[1].split("## Section 4")[0]
    assert "![fig1_parity](figures/fig1_parity.png)" in section2
    assert ("| d = 5: accuracy 1.0 by about 2,000 SGD iterations | `parity.sgd_learns_small_d` | "
            "0.97 [0.96, 0.98] vs >= 0.95: **PASSED** |") in section2
    assert "**FAILED**" in section2
    assert "`parity.sgd_learns_d10_slowly` | not run in this report (tier slow) |" in section2


def test_failures_section_gives_a_reproduce_command_per_failed_test(report):
    """Only the failed test of a failed claim is listed, with the run's seeds, profile and device type."""
    failures = render_markdown(report).split("## Failures")[1]
    assert "### `parity.sgd_fails_large_d` (failed)" in failures
    assert "pytest 'r.py::a[s-seed1]' --claims-seeds 0-2 --claims-profile ci --claims-device cuda" in failures
    assert "seed0]'" not in failures
    assert reproduce_command(report, "x::y") == "pytest 'x::y' --claims-seeds 0-2 --claims-profile ci --claims-device cuda"


def test_markdown_without_failures_says_so(report):
    report["claims"] = [c for c in report["claims"] if c["outcome"] == "passed"]
    assert "None: every claim that ran holds." in render_markdown(report).split("## Failures")[1]


def test_every_figure_has_readings_that_name_registered_claims():
    """READINGS covers every figure; each claim it names is registered (a typo would show 'not run' forever)."""
    missing = set(FIGURES) - set(READINGS)
    assert not missing, f"add the paper's reading of {sorted(missing)} to src/gradfail/figures/readings.py"
    assert set(READINGS) <= set(FIGURES)
    named = [claim_id for readings in READINGS.values() for _, claim_id in readings if claim_id is not None]
    assert set(named) <= set(all_claims()), set(named) - set(all_claims())
    assert all(readings for readings in READINGS.values())


def test_a_selection_draws_only_the_figures_of_its_claims(report):
    """`report -k/-m` draws the figures that illustrate a claim of the run, and no others."""
    assert figures_of(report) == ["fig1_parity"]
    assert figures_of({"claims": [{"id": "end_to_end.snr_falls_with_k"}]}) == ["fig5_snr"]
    assert figures_of({"claims": []}) == []


def _report(nodeid: str, when: str = "call", passed: bool = True, claim: str | None = None):
    props = [("gradfail.claim", claim)] if claim else []
    return SimpleNamespace(nodeid=nodeid, when=when, passed=passed, user_properties=props)


def test_progress_counts_a_claim_done_when_all_its_tests_ran():
    """Under xdist the controller learns the claims from the collected node ids; setup failures count as run."""
    stream = io.StringIO()
    progress = ClaimsProgress(file=stream)
    ids = ["t.py::test_claim_holds[parity.a-seed0]", "t.py::test_claim_holds[parity.a-seed1]",
           "r.py::test_claim_at_reference[flat.b-seed0-19]", "tests/test_x.py::test_plain"]
    progress.pytest_xdist_node_collection_finished(node=None, ids=ids)
    assert progress.bar.total == 2
    progress.pytest_runtest_logreport(_report(ids[0], "setup"))
    progress.pytest_runtest_logreport(_report(ids[0]))
    assert progress.bar.n == 0                                   # parity.a still has seed 1 to run
    progress.pytest_runtest_logreport(_report(ids[1], "setup", passed=False))
    assert progress.bar.n == 1
    progress.pytest_runtest_logreport(_report(ids[2], "teardown"))
    progress.pytest_runtest_logreport(_report(ids[2]))
    progress.pytest_runtest_logreport(_report(ids[2]))          # a rerun report does not count twice
    assert progress.bar.n == 2
    progress.bar.close()
    assert "claims 2/2" in stream.getvalue() and "ETA" in stream.getvalue()


def test_report_command_writes_json_and_markdown(tmp_path, capsys, monkeypatch):
    """`gradfail report -k ID --out DIR --no-figures`: claims.json (schema plus environment) and claims.md."""
    monkeypatch.chdir(ROOT)
    assert main(["report", "-k", FAST_CLAIM, "--out", str(tmp_path), "--no-figures", "--seeds", "0-1"]) == 0
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["schema"] == "gradfail-report/1" and data["seeds"] == [0, 1]
    assert {"gradfail", "numpy", "threads"} <= set(data)
    (entry,) = data["claims"]
    assert entry["id"] == FAST_CLAIM and entry["outcome"] == "passed" and len(entry["tests"]) == 6
    markdown = (tmp_path / "claims.md").read_text()
    assert f"| `{FAST_CLAIM}` |" in markdown and "| PASSED |" in markdown
    assert "claims 1/1" in capsys.readouterr().err

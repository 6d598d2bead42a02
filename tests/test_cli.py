"""The `gradfail` command line: list, show, verify, help on every command, usage errors, the README's commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gradfail.claims import SECTIONS, all_claims
from gradfail.cli import build_parser, claims_exit_status, main, run_command, section_expression

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("list", "show", "verify", "report", "figures", "new-claim")
FAST_CLAIM = "parity.parities_orthonormal"


@pytest.fixture
def at_root(monkeypatch):
    """verify, report and show find theory_checks/ and regressions/ in the working directory."""
    monkeypatch.chdir(ROOT)


def test_list_names_every_registered_claim(capsys):
    """`gradfail list` prints one line per registered claim."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(claim_id in out for claim_id in all_claims())
    assert len(out.splitlines()) == len(all_claims())


@pytest.mark.parametrize("section", SECTIONS)
def test_list_filters_by_section_and_tier(capsys, section):
    """--section and --tier keep exactly the matching claims, in the Markdown table too."""
    expected = [c.id for c in all_claims().values() if c.section == section and c.tier == "fast"]
    assert main(["list", "--section", section, "--tier", "fast"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == expected
    assert main(["list", "--section", section, "--tier", "fast", "--markdown"]) == 0
    assert re.findall(r"^\| `([^`]+)`", capsys.readouterr().out, re.M) == expected


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    """`gradfail COMMAND --help` prints its usage and exits 0."""
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    assert f"usage: gradfail {command}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, choices", [
    (["list", "--section", "9"], "'2', '3', '4', '5', 'lit'"),
    (["list", "--tier", "weekly"], "'fast', 'slow', 'paper'"),
    (["verify", "--profile", "huge"], "'smoke', 'ci', 'paper'"),
    (["verify", "--device", "tpu"], "'auto', 'cpu', 'cuda'"),
    (["report", "--profile", "huge"], "'smoke', 'ci', 'paper'"),
    (["new-claim", "parity.x", "--section", "9"], "'2', '3', '4', '5', 'lit'"),
    (["frobnicate"], "'list', 'show', 'verify', 'report', 'figures', 'new-claim'"),
    (["verify", "--seeds", "3-1"], "low <= high"),
])
def test_bad_arguments_are_usage_errors_listing_the_choices(capsys, argv, choices):
    """A bad choice stops the command with exit 2 and names what is allowed."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert choices in capsys.readouterr().err


def test_unknown_figure_is_an_error_listing_the_choices(capsys):
    """`gradfail figures NAME` with an unknown NAME exits 2 and lists the figures."""
    assert main(["figures", "fig99"]) == 2
    assert "fig1_parity" in capsys.readouterr().err


@pytest.mark.parametrize("env, value", [("GRADFAIL_PROFILE", "huge"), ("GRADFAIL_DEVICE", "tpu")])
def test_bad_environment_values_are_usage_errors(monkeypatch, capsys, env, value):
    """Invalid GRADFAIL_* values stop the command with exit 2 and the list of choices."""
    monkeypatch.setenv(env, value)
    with pytest.raises(SystemExit) as stop:
        main(["figures", "fig1_parity"])
    assert stop.value.code == 2
    assert f"{env}={value!r}" in capsys.readouterr().err


def test_show_prints_the_whole_record_its_tests_and_how_to_run_it(capsys, at_root):
    """The README's `gradfail show parity.gradient_variance_bound`: statement, locator, bound with why, settings,
    scale, budget, known failures, the tests pytest collects for it, and the commands that run it."""
    assert "gradfail show parity.gradient_variance_bound" in _readme_gradfail_commands()
    assert main(["show", "parity.gradient_variance_bound"]) == 0
    out = capsys.readouterr().out
    for field in ("statement:", "source:", "quantity:", "bound:", "why:", "settings:", "reference:", "violation:",
                  "scale paper:", "error budget:", "known failures:"):
        assert field in out
    assert "Theorem 1 has no hidden constants" in out and "drawn by Hypothesis" in out
    for template in ("theory_checks/test_parity.py::test_claim_holds", "theory_checks/test_parity.py::"
                     "test_claim_detects_violation", "regressions/test_parity.py::test_claim_at_reference"):
        assert f"{template}[parity.gradient_variance_bound-seed0]" in out
    assert "gradfail verify -k parity.gradient_variance_bound\n" in out


def test_slow_claims_are_run_with_their_marker():
    """The commands `show` prints for a slow or paper claim select its tier (the default run excludes it)."""
    assert run_command(all_claims()["parity.sgd_learns_d10_slowly"]) == [
        "gradfail verify -k parity.sgd_learns_d10_slowly -m slow",
        "pytest theory_checks regressions -k parity.sgd_learns_d10_slowly -m slow --claims-seeds 0-19"]


def test_show_unknown_id_names_close_matches(capsys):
    """A typo in the id exits 2 and suggests the registered id."""
    assert main(["show", "parity.parities_orthonormall"]) == 2
    assert f"did you mean {FAST_CLAIM}" in capsys.readouterr().err


def test_verify_runs_the_selected_claims_with_a_progress_bar_and_a_table(capsys, at_root):
    """verify -k ID: pytest's verdicts, a bar over claims (done, elapsed, ETA), the table, exit 0."""
    assert main(["verify", "-k", FAST_CLAIM]) == 0
    captured = capsys.readouterr()
    assert re.search(r"claims 1/1 .*elapsed .*ETA", captured.err)
    assert re.search(rf"{re.escape(FAST_CLAIM)}\s+2\s.*PASSED", captured.out)
    assert "3 passed" in captured.out


def test_section_selects_exactly_its_claims():
    """--section S becomes a -k expression naming the section's claim ids, combined with the user's -k."""
    ids = [c.id for c in all_claims().values() if c.section == "4"]
    assert section_expression("4", None) == " or ".join(ids)
    assert section_expression("4", "kappa") == f"(kappa) and ({' or '.join(ids)})"
    assert section_expression(None, "kappa") == "kappa"


def test_verify_with_nothing_selected_exits_5(capsys, at_root):
    """No claim matches -k: pytest's 'no tests' exit status, and a message saying so."""
    assert main(["verify", "-k", "no_such_claim_anywhere"]) == 5
    assert "no claim was selected" in capsys.readouterr().err


@pytest.mark.parametrize("status, outcomes, expected", [
    (0, ["passed", "passed"], 0),
    (1, ["passed", "failed"], 1),
    (0, ["passed", "xfailed"], 1),   # a known failure is not a claim that holds
    (0, ["skipped"], 1),             # e.g. a GPU claim on a CPU machine: not verified
    (5, [], 5),
    (2, [], 2),                      # interrupted or a usage error: pytest's status
])
def test_exit_status_is_zero_only_when_every_selected_claim_holds(status, outcomes, expected):
    report = {"claims": [{"id": f"t.c{i}", "outcome": o} for i, o in enumerate(outcomes)]}
    assert claims_exit_status(status, report if outcomes or status != 5 else None) == expected


def _readme_gradfail_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", readme, re.S | re.M)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith(("gradfail ", ".venv/bin/gradfail "))]


def test_readme_gradfail_commands_are_valid():
    """Every `gradfail` command in the README parses; each is run for real by a test here, in
    tests/test_report.py or tests/test_tutorial.py (the tutorial's), or by the slow test below."""
    commands = _readme_gradfail_commands()
    assert len(commands) >= 8
    for command in commands:
        build_parser().parse_args(shlex.split(command)[1:])


@pytest.mark.slow
def test_readme_verify_and_report_of_section_2(tmp_path, at_root):
    """The README's `gradfail verify --section 2`, `gradfail verify -k parity` and
    `gradfail report --section 2 --out DIR` (which draws Figure 1)."""
    commands = _readme_gradfail_commands()
    for command in ("gradfail verify --section 2", "gradfail verify -k parity"):
        assert command in commands
        assert main(shlex.split(command)[1:]) == 0, command
    assert "gradfail report --section 2 --out reports" in commands
    assert main(["report", "--section", "2", "--out", str(tmp_path)]) == 0
    markdown = (tmp_path / "claims.md").read_text()
    assert "![fig1_parity](figures/fig1_parity.png)" in markdown and (tmp_path / "figures/fig1_parity.png").exists()
    assert "sparse_parity" not in markdown

def test_readme_ci_workflow_runs_the_projects_own_entry_points():
    """The GitHub Actions example is valid YAML and runs only .ci/run and Makefile targets that exist."""
    yaml = pytest.importorskip("yaml")  # PyYAML comes with pytest-regressions
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Running in CI\n(.*?)(?=^## )", readme, re.S | re.M).group(1)
    (block,) = re.findall(r"^```yaml\n(.*?)^```", section, re.S | re.M)
    workflow = yaml.safe_load(block)
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    assert ".ci/run" in runs and (ROOT / ".ci/run").stat().st_mode & 0o111
    targets = set(re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), re.M))
    for command in runs:
        assert command == ".ci/run" or (command.startswith("make ") and command.split()[1] in targets), command

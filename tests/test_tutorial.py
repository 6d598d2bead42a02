"""Adding a claim: `gradfail new-claim` scaffolds that fail until filled in, and the README tutorial followed
step by step in a temporary copy of the repository (never in the real tree).

The tutorial's commands and its code block are read from README.md's "Adding a claim" section, so this test
breaks when the README drifts. Commands run in a fresh interpreter whose `gradfail` is the copy's (PYTHONPATH
shadows the editable install); they share one interpreter, to pay for importing torch once.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gradfail.claims import TOPICS
from gradfail.scaffold import SCAFFOLD_MARK, ScaffoldError, register_topic, scaffold_claim

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("src", "theory_checks", "regressions", "conftest.py", "pyproject.toml", "README.md")

# Runs `gradfail ...` and `pytest ...` command lines in this one process (cwd: the copy), each with its own
# captured output, and prints [{command, rc, output}] as JSON. A command line may end in a `# comment`;
# one starting with "python:" is Python source, run with exec.
DRIVER = r'''
import contextlib, io, json, shlex, sys
import pytest
from gradfail.cli import main

results = []
for line in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            if line.startswith("python:"):
                exec(line.removeprefix("python:"), {})
                rc = 0
            else:
                argv = shlex.split(line, comments=True)
                rc = main(argv[1:]) if argv[0] == "gradfail" else int(pytest.main(
                    [*argv[1:], "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]))
        except SystemExit as stop:
            rc = stop.code
    results.append({"command": line, "rc": rc, "output": out.getvalue()})
print(json.dumps(results))
'''


def copy_repo(dest: Path) -> Path:
    """The parts of the repository a claim touches, copied (caches and built files left out)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".hypothesis", ".pytest_cache")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


def run_in_copy(repo: Path, commands: list[str]) -> list[dict]:
    """Run command lines in a fresh interpreter that imports gradfail from the copy."""
    env = {**os.environ, "PYTHONPATH": str(repo / "src"), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def expect(results: list[dict]) -> None:
    """A command whose comment says it fails must exit non-zero; every other one must exit 0."""
    for result in results:
        fails = not result["command"].startswith("python:") and re.search(r"#\s*fails", result["command"]) is not None
        ok = result["rc"] != 0 if fails else result["rc"] == 0
        assert ok, f"`{result['command']}` exited {result['rc']}:\n{result['output'][-4000:]}"


def tutorial_blocks() -> list[tuple[str, str]]:
    """(language, text) of each fenced block in the README's "Adding a claim" section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Adding a claim\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section, "README.md has no '## Adding a claim' section"
    return re.findall(r"^```(\w+)\n(.*?)^```", section.group(1), re.S | re.M)


def test_readme_tutorial_adds_a_claim_that_is_listed_holds_and_fails_at_its_violation(tmp_path):
    """Scaffold, fill in, baseline, seed contract 0-19, verify and list, exactly as the README says; then the
    violation fails at seeds 0-19."""
    blocks = tutorial_blocks()
    assert [lang for lang, _ in blocks] == ["bash", "python", "bash", "bash", "bash"], \
        "the tutorial's shape changed: update this test with it"
    commands = [[line for line in text.splitlines() if line.strip()] for lang, text in blocks if lang == "bash"]
    (claim_id,) = re.findall(r"gradfail new-claim (\S+)", blocks[0][1])
    module = Path("src/gradfail/claims") / f"{claim_id.split('.')[0]}.py"
    repo = copy_repo(tmp_path / "repo")

    # Step 2 runs in the same interpreter as the commands: replace the scaffold, from its marker line to the end
    # of the module, with the README's record, then forget the registry so the next command imports it afresh.
    fill_in = ("python:import sys; from pathlib import Path; from gradfail.claims import all_claims; "
               f"p = Path({str(module)!r}); t = p.read_text(); "
               f"p.write_text(t[:t.index({SCAFFOLD_MARK.format(id=claim_id)!r})] + {blocks[1][1]!r}); "
               f"all_claims.cache_clear(); sys.modules.pop({'gradfail.claims.' + module.stem!r})")
    # Beyond the README: the violation (non-orthogonal targets) breaks the bound at every seed of the contract.
    violation = ("python:import json, torch; from gradfail.claims import get_claim; c = get_claim(%r); "
                 "print(json.dumps([(v.holds, v.estimate.value) for v in (c.check(c.violation, seeds=(s,), "
                 "device=torch.device('cpu')) for s in range(20))]))" % claim_id)
    results = run_in_copy(repo, [*commands[0], fill_in, *(line for block in commands[1:] for line in block), violation])
    expect(results)
    scaffolded = results[len(commands[0]) - 1]["output"]
    assert "NotImplementedError" in scaffolded and "fill in" in scaffolded, scaffolded[-3000:]
    filled = results[len(commands[0]) + 1:]
    assert json.loads(filled[-1]["output"]) == [[False, 1.0]] * 20, "share 1.0 > 1/k^2 at every seed 0-19"
    output = {r["command"].split("#")[0].strip(): r["output"] for r in filled}
    # regressions/baselines/cpu-float64/ in the README; cuda-float64/ where the run's device is a GPU.
    (baseline,) = (repo / "regressions" / "baselines").glob(f"*-float64/{claim_id}.csv")
    assert "0.03515625" in baseline.read_text(), "the README quotes a share of 0.035 at seed 0"
    contract = output[f"pytest theory_checks regressions -k {claim_id} --claims-seeds 0-19"]
    assert "60 passed" in contract, contract[-3000:]
    assert re.search(rf"{re.escape(claim_id)}\s+2\s.*PASSED\s+0-19", contract)
    verify = output[f"gradfail verify -k {claim_id}"]
    assert "claims 1/1" in verify and re.search(rf"{re.escape(claim_id)}.*PASSED", verify)
    assert claim_id in output["gradfail list --section 2"]
    assert f"| `{claim_id}` | 2 | fast |" in output["gradfail list --markdown"]


def test_new_topic_scaffold_is_wired_and_fails_until_filled_in(tmp_path, monkeypatch):
    """A new topic gets its module, TOPICS entry and test modules; its claim cannot pass before it is filled in.

    (The tutorial test runs a scaffold through pytest; here the new topic's record is loaded directly.)
    """
    repo = copy_repo(tmp_path / "repo")
    written = scaffold_claim("toy_topic.first_claim", root=repo)
    assert {str(path) for path, _ in written} == {"src/gradfail/claims/__init__.py", "src/gradfail/claims/toy_topic.py",
                                                 "theory_checks/test_toy_topic.py", "regressions/test_toy_topic.py"}
    init = ast.parse((repo / "src/gradfail/claims/__init__.py").read_text())
    (topics,) = [ast.literal_eval(node.value) for node in init.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "TOPICS"]
    assert topics[-1] == "toy_topic" and topics[:-1] == TOPICS
    for suite, template in (("theory_checks", "test_claim_holds"), ("regressions", "test_claim_at_reference")):
        text = (repo / suite / "test_toy_topic.py").read_text()
        assert 'TOPIC = "toy_topic"' in text and template in text
    with pytest.raises(ScaffoldError, match="already declared"):
        scaffold_claim("toy_topic.first_claim", root=repo)

    spec = importlib.util.spec_from_file_location("toy_topic", repo / "src/gradfail/claims/toy_topic.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "toy_topic", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    (claim,) = module.CLAIMS
    assert claim.id == "toy_topic.first_claim" and claim.section == "lit"
    for setting in (claim.reference, claim.violation):
        with pytest.raises(NotImplementedError, match="toy_topic.first_claim: fill in measure_first_claim"):
            claim.check(setting, seeds=(0,), device=torch.device("cpu"))
    with pytest.raises(NotImplementedError, match="fill in first_claim_bound"):
        claim.bound.rhs(claim.reference)


@pytest.mark.parametrize("claim_id, message", [("NoTopic", "TOPIC.NAME"), ("parity.Bad-Name", "TOPIC.NAME"),
                                               ("parity.parities_orthonormal", "already declared")])
def test_new_claim_rejects_bad_or_taken_ids(tmp_path, claim_id, message):
    """A malformed id, or one the topic module already declares, is refused before anything is written."""
    repo = copy_repo(tmp_path / "repo")
    before = (repo / "src/gradfail/claims/parity.py").read_text()
    with pytest.raises(ScaffoldError, match=message):
        scaffold_claim(claim_id, root=repo)
    assert (repo / "src/gradfail/claims/parity.py").read_text() == before


def test_new_claim_outside_a_project_is_an_error(tmp_path):
    """new-claim needs src/gradfail/claims under the folder it runs in."""
    with pytest.raises(ScaffoldError, match="project root"):
        scaffold_claim("parity.something", root=tmp_path)


@pytest.mark.parametrize("before, after", [
    ('TOPICS = ("parity", "flat")\n', 'TOPICS = ("parity", "flat", "new")\n'),
    ('TOPICS = ("parity",)\n', 'TOPICS = ("parity", "new")\n'),
    ('x = 1\nTOPICS = ("parity", "flat",\n          "lit")  # sections\n',
     'x = 1\nTOPICS = ("parity", "flat",\n          "lit", "new")  # sections\n'),
])
def test_register_topic_appends_to_topics_textually(before, after):
    """Only the TOPICS tuple changes, whatever its layout; everything else in the file is kept."""
    assert register_topic(before, "new") == after

"""The claims report: per-claim verdicts aggregated from test reports, as a table, JSON and Markdown.

Schema "gradfail-report/1" (DESIGN.md §3): top level {schema, created, torch, device, profile, seeds,
claims}; one entry per claim id with {id, section, source, statement, outcome, measured, bound,
duration_s, tests}. outcome is passed | failed | skipped | xfailed | error.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy
import pytest
import torch

import gradfail
from gradfail.claims import all_claims
from gradfail.seeding import format_seeds
from gradfail.testing.recorder import CLAIM_PROPERTY

SCHEMA = "gradfail-report/1"
OUTCOMES = ("passed", "failed", "skipped", "xfailed", "error")
# A claim's outcome is the most serious outcome among its tests.
_PRIORITY = {"error": 0, "failed": 1, "xfailed": 2, "passed": 3, "skipped": 4}


def test_outcome(report) -> str | None:
    """The outcome a pytest TestReport phase contributes, or None for an uneventful phase."""
    if report.when == "call":
        if report.skipped:
            return "xfailed" if hasattr(report, "wasxfail") else "skipped"
        return "passed" if report.passed else "failed"
    if report.failed:
        return "error"
    if report.skipped:
        return "xfailed" if hasattr(report, "wasxfail") else "skipped"
    return None


@dataclass
class ClaimResult:
    """Everything the run learnt about one claim."""

    outcomes: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    failed_tests: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def outcome(self) -> str:
        return min(self.outcomes, key=_PRIORITY.__getitem__) if self.outcomes else "skipped"

    def headline(self) -> dict[str, Any] | None:
        """The record to show: the worst-margin run at the reference setting (over seeds), else the
        worst-margin drawn setting; never a violation run."""
        for kind in ("reference", "drawn"):
            runs = [r for r in self.records if r["kind"] == kind]
            if runs:
                return min(runs, key=lambda r: -float("inf") if r["margin"] is None else r["margin"])
        return None


class ClaimsCollector:
    """Collects test reports (on the xdist controller, or the only process) into ClaimResults."""

    def __init__(self) -> None:
        self.results: dict[str, ClaimResult] = {}

    def add(self, claim_id: str, nodeid: str, outcome: str | None, duration: float, records: list[dict]) -> None:
        result = self.results.setdefault(claim_id, ClaimResult())
        if nodeid not in result.tests:
            result.tests.append(nodeid)
        if outcome is not None:
            result.outcomes.append(outcome)
        if outcome in ("failed", "error") and nodeid not in result.failed_tests:
            result.failed_tests.append(nodeid)
        result.duration_s += duration
        result.records.extend(records)

    def build(self, *, profile: str, device: str, seeds: tuple[int, ...]) -> dict[str, Any]:
        registry = all_claims()
        claims = []
        for claim_id in [c for c in registry if c in self.results]:
            claim, result = registry[claim_id], self.results[claim_id]
            head = result.headline()
            claims.append({
                "id": claim.id, "section": claim.section, "source": claim.source, "statement": claim.statement,
                "outcome": result.outcome,
                "measured": head["measured"] if head else None,
                "bound": head["bound"] if head else None,
                "duration_s": round(result.duration_s, 3),
                "tests": result.tests,
                "failed_tests": result.failed_tests,
                # Beyond the schema's required keys: what the table shows.
                "quantity": claim.quantity, "tier": claim.tier, "error_budget": claim.error_budget,
                "checks": sum(r["kind"] != "violation" for r in result.records),
                "measured_text": head["measured_text"] if head else "", "bound_text": head["bound_text"] if head else "",
            })
        return {"schema": SCHEMA, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "torch": torch.__version__, "device": device, "profile": profile, "seeds": list(seeds),
                # Beyond the schema's required keys: the environment claims.md reports.
                "gradfail": gradfail.__version__, "numpy": numpy.__version__, "threads": torch.get_num_threads(),
                "claims": claims}


def render_table(report: dict[str, Any], *, width: int = 120) -> list[str]:
    """The end-of-run claims table, one line per claim, plus a footer with the suite's error budget."""
    seeds = format_seeds(tuple(report["seeds"]))
    rows = [("claim", "sec", "statement", "measured", "bound", "verdict", "seeds", "device", "time")]
    for c in report["claims"]:
        room = max(20, width - 100)
        statement = c["statement"] if len(c["statement"]) <= room else c["statement"][: room - 1] + "…"
        rows.append((c["id"], c["section"], statement, c["measured_text"], c["bound_text"], c["outcome"].upper(),
                     seeds, report["device"], f"{c['duration_s']:.1f}s"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * min(len(lines[0]), width + 40))
    budget = sum(c["error_budget"] * c["checks"] for c in report["claims"])
    counts = {o: sum(c["outcome"] == o for c in report["claims"]) for o in OUTCOMES}
    lines.append(f"{len(report['claims'])} claims: " + ", ".join(f"{n} {o}" for o, n in counts.items() if n)
                 + f"; profile {report['profile']}; torch {report['torch']}; "
                 f"false-failure budget of this run <= {budget:.2g} (error budget x checks, summed)")
    return lines


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell (statements contain norms written as ||g||)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


SECTION_TITLES = {"2": "Section 2: parities and linear-periodic functions",
                  "3": "Section 3: decomposition vs end-to-end training",
                  "4": "Section 4: architecture and conditioning",
                  "5": "Section 5: flat activations",
                  "lit": "Later literature"}


def reproduce_command(report: dict[str, Any], nodeid: str) -> str:
    """A one-line command that reruns one test of the report with the run's own options."""
    device = str(report["device"]).split()[0]  # 'cuda (NVIDIA H200)' -> 'cuda'
    return (f"pytest '{nodeid}' --claims-seeds {format_seeds(tuple(report['seeds']))} "
            f"--claims-profile {report['profile']} --claims-device {device}")


def _verdict_text(entry: dict[str, Any] | None, tier: str) -> str:
    if entry is None:
        return f"not run in this report (tier {tier})" if tier != "fast" else "not run in this report"
    return f"{entry['measured_text']} vs {entry['bound_text']}: **{entry['outcome'].upper()}**"


def _figure_block(name: str, relpath: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    """A figure with the paper's reading of it beside this run's verdicts on the claims that test it."""
    from gradfail.figures.readings import READINGS

    registry = all_claims()
    lines = [f"### Figure `{name}`", "", f"![{name}]({relpath})", "",
             "| the paper reads | claim | this run |", "|---|---|---|"]
    for reading, claim_id in READINGS.get(name, ()):
        if claim_id is None:
            lines.append(f"| {md_cell(reading)} | | (no claim) |")
            continue
        verdict = _verdict_text(entries.get(claim_id), registry[claim_id].tier if claim_id in registry else "?")
        lines.append(f"| {md_cell(reading)} | `{claim_id}` | {md_cell(verdict)} |")
    return lines + [""]


def _figure_section(name: str) -> str:
    """The paper section a figure belongs to: that of the first registered claim it illustrates."""
    from gradfail.figures.readings import READINGS

    registry = all_claims()
    for _, claim_id in READINGS.get(name, ()):
        if claim_id in registry:
            return registry[claim_id].section
    return "other"


def render_markdown(report: dict[str, Any], figures: dict[str, str] | None = None) -> str:
    """claims.md: the environment, one table per paper section with its figures (the paper's reading beside
    this run's verdicts), and the failures with commands that reproduce them."""
    entries = {c["id"]: c for c in report["claims"]}
    env = {"gradfail": report.get("gradfail", "?"), "torch": report["torch"], "numpy": report.get("numpy", "?"),
           "device": report["device"], "threads": report.get("threads", "?"), "profile": report["profile"],
           "seeds": format_seeds(tuple(report["seeds"])), "date": report["created"]}
    counts = {o: sum(c["outcome"] == o for c in report["claims"]) for o in OUTCOMES}
    lines = ["# gradfail claims report", "",
             "Shalev-Shwartz, Shamir & Shammah, *Failures of Gradient-Based Deep Learning* (ICML 2017): which of "
             "its claims hold on this machine.", "",
             "| " + " | ".join(env) + " |", "|" + "---|" * len(env), "| " + " | ".join(map(md_cell, env.values())) + " |",
             "", f"**{len(report['claims'])} claims: " + ", ".join(f"{n} {o}" for o, n in counts.items() if n) + "**", ""]
    by_section: dict[str, list[str]] = {}
    for name in figures or {}:
        by_section.setdefault(_figure_section(name), []).append(name)
    sections = sorted({c["section"] for c in report["claims"]} | set(by_section), key=_section_order)
    for section in sections:
        lines += [f"## {SECTION_TITLES.get(section, 'Section ' + section)}", ""]
        rows = [c for c in report["claims"] if c["section"] == section]
        if rows:
            lines += ["| claim | statement | measured | bound | verdict | time |", "|---|---|---|---|---|---|"]
            for c in rows:
                cells = (c["statement"], c["measured_text"], c["bound_text"], c["outcome"].upper())
                lines.append(f"| `{c['id']}` | " + " | ".join(map(md_cell, cells)) + f" | {c['duration_s']:.1f} s |")
            lines.append("")
        for name in by_section.get(section, []):
            lines += _figure_block(name, figures[name], entries)
    failed = [c for c in report["claims"] if c["outcome"] in ("failed", "error")]
    lines += ["## Failures", ""]
    if not failed:
        lines += ["None: every claim that ran holds.", ""]
    for c in failed:
        lines += [f"### `{c['id']}` ({c['outcome']})", "", f"{c['statement']}", "",
                  f"measured {c['measured_text'] or '(nothing recorded)'}, bound {c['bound_text'] or '?'}. "
                  "Reproduce:", "", "```bash"]
        lines += [reproduce_command(report, t) for t in (c.get("failed_tests") or c["tests"])]
        lines += ["```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _section_order(section: str) -> tuple[int, str]:
    return (int(section), "") if section.isdigit() else (99, section)


_TEMPLATE_ID = re.compile(r"\[([a-z][a-z0-9_]*\.[a-z0-9_]+)-seed[^\]]*\]$")


class ClaimsProgress:
    """A pytest plugin object: a progress bar over claims (claims done, elapsed, ETA) on stderr.

    A claim is done when all its selected tests have run. Without xdist the claims come from the collected
    items' `claim` markers; under xdist the controller collects nothing, so they come from the node ids the
    first worker collected (the templates' ids are '[<claim id>-seed<seeds>]'). The run's claims report
    (built by the plugin's collector) is kept in `report` for the caller.
    """

    def __init__(self, file=None) -> None:
        self.file = file if file is not None else sys.stderr
        self.claim_of: dict[str, str] = {}
        self.waiting: dict[str, set[str]] = {}
        self.bar = None
        self.report: dict[str, Any] | None = None

    def _start(self, claim_of: dict[str, str]) -> None:
        from tqdm import tqdm

        self.claim_of = claim_of
        for nodeid, claim_id in claim_of.items():
            self.waiting.setdefault(claim_id, set()).add(nodeid)
        self.bar = tqdm(total=len(self.waiting), desc="claims", unit="claim", file=self.file, dynamic_ncols=True,
                        bar_format="{desc} {n_fmt}/{total_fmt} |{bar}| elapsed {elapsed}, ETA {remaining}{postfix}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._start({item.nodeid: marker.args[0] for item in session.items
                     if (marker := item.get_closest_marker("claim")) is not None})

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        if self.bar is None:
            self._start({nodeid: m.group(1) for nodeid in ids if (m := _TEMPLATE_ID.search(nodeid))})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        claim_id = self.claim_of.get(report.nodeid) or dict(report.user_properties).get(CLAIM_PROPERTY)
        if self.bar is None or claim_id not in self.waiting:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            waiting = self.waiting[claim_id]
            if report.nodeid in waiting:
                waiting.discard(report.nodeid)
                if not waiting:
                    self.bar.set_postfix_str(claim_id, refresh=False)
                    self.bar.update(1)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        claims_session = session.config.pluginmanager.get_plugin("gradfail-claims-session")
        if claims_session is not None:
            self.report = claims_session.report()
        if self.bar is not None:
            self.bar.close()

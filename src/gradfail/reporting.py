"""The claims report: per-claim verdicts aggregated from test reports, as a table, JSON and Markdown.

Schema "gradfail-report/1" (DESIGN.md §3): top level {schema, created, torch, device, profile, seeds,
claims}; one entry per claim id with {id, section, source, statement, outcome, measured, bound,
duration_s, tests}. outcome is passed | failed | skipped | xfailed | error.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gradfail.claims import all_claims
from gradfail.seeding import format_seeds

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
                # Beyond the schema's required keys: what the table shows.
                "quantity": claim.quantity, "tier": claim.tier, "error_budget": claim.error_budget,
                "checks": sum(r["kind"] != "violation" for r in result.records),
                "measured_text": head["measured_text"] if head else "", "bound_text": head["bound_text"] if head else "",
            })
        return {"schema": SCHEMA, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "torch": torch.__version__, "device": device, "profile": profile, "seeds": list(seeds),
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


def render_markdown(report: dict[str, Any], figures: dict[str, str] | None = None) -> str:
    """claims.md: environment header, one table per paper section, figures, and failures to reproduce."""
    lines = ["# gradfail claims report", "",
             f"- created: {report['created']}", f"- torch: {report['torch']}", f"- device: {report['device']}",
             f"- profile: {report['profile']}", f"- seeds: {format_seeds(tuple(report['seeds']))}", ""]
    for section in sorted({c["section"] for c in report["claims"]}):
        lines += [f"## Section {section}", "", "| claim | statement | measured | bound | verdict | time |",
                  "|---|---|---|---|---|---|"]
        for c in (c for c in report["claims"] if c["section"] == section):
            cells = (c["statement"], c["measured_text"], c["bound_text"], c["outcome"])
            lines.append(f"| `{c['id']}` | " + " | ".join(map(md_cell, cells)) + f" | {c['duration_s']:.1f} s |")
        lines.append("")
    for name, relpath in (figures or {}).items():
        lines += [f"### {name}", "", f"![{name}]({relpath})", ""]
    failed = [c for c in report["claims"] if c["outcome"] in ("failed", "error")]
    if failed:
        lines += ["## Failures", ""]
        for c in failed:
            lines += [f"- `{c['id']}`: rerun with `pytest {' '.join(repr(t) for t in c['tests'])}`"]
    return "\n".join(lines) + "\n"

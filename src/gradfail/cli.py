"""The `gradfail` command: list, show and verify the paper's claims, write the report, scaffold a new claim.

    gradfail list [--section S] [--tier T] [--markdown]   the registered claims
    gradfail show ID                                      one claim in full, with its tests and how to run it
    gradfail verify [--section S] [-k EXPR] [-m MARKEXPR] [--profile P] [--device D] [--seeds S] [-n N]
                                                          run the claims (pytest + plugin), progress bar, table
    gradfail report [--out DIR] [...]                     verify, then write claims.json, claims.md, figures
    gradfail figures [NAME ...]                           draw paper figures into DIR/figures
    gradfail new-claim TOPIC.NAME [--section S]           scaffold a claim that fails until filled in

`verify` and `report` run pytest in this process with the gradfail plugin, so their verdicts are pytest's.
Run them from the project root (where theory_checks/ and regressions/ are).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

from gradfail.claims import PROFILES, SECTIONS, TIERS, all_claims, get_claim
from gradfail.devices import DEVICE_CHOICES, DeviceUnavailable, resolve_device
from gradfail.reporting import ClaimsProgress, md_cell, render_markdown, write_json
from gradfail.seeding import parse_seeds

SUITES = ("theory_checks", "regressions")
# pytest runs inside this process, after gradfail and hypothesis were imported, so it cannot rewrite their
# asserts and warns about it; the project's filterwarnings = error would turn that warning into a crash.
IN_PROCESS = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")
EXIT_NO_TESTS = 5  # pytest.ExitCode.NO_TESTS_COLLECTED


def _selected(section: str | None = None, tier: str | None = None):
    return [c for c in all_claims().values()
            if (section is None or c.section == section) and (tier is None or c.tier == tier)]


def claims_markdown_table(section: str | None = None, tier: str | None = None) -> str:
    """The README's claims table, generated from the registry (tests/test_registry.py keeps them in sync)."""
    lines = ["| claim | § | tier | statement | source |", "|---|---|---|---|---|"]
    for claim in _selected(section, tier):
        cells = (claim.section, claim.tier, claim.statement, claim.source)
        lines.append(f"| `{claim.id}` | " + " | ".join(map(md_cell, cells)) + " |")
    return "\n".join(lines)


def _list(args) -> int:
    if args.markdown:
        print(claims_markdown_table(args.section, args.tier))
        return 0
    claims = _selected(args.section, args.tier)
    width = max((len(c.id) for c in claims), default=10)
    for claim in claims:
        print(f"{claim.id:{width}s}  §{claim.section:3s} {claim.tier:5s} {short_source(claim.source):32s}  "
              f"{claim.statement}")
    return 0


def short_source(source: str, room: int = 32) -> str:
    """The locator without the paper's name: 'Theorem 1 and its parity corollary (Sect…'."""
    locator = re.sub(r"^.*?ICML 2017,\s*", "", source)
    return locator if len(locator) <= room else locator[: room - 1] + "…"


# --- show --------------------------------------------------------------------------------------------------

class _ItemsOfClaim:
    """A pytest plugin object that remembers the collected tests marked `claim(claim_id)`."""

    def __init__(self, claim_id: str) -> None:
        self.claim_id, self.nodeids = claim_id, []

    def pytest_itemcollected(self, item) -> None:
        marker = item.get_closest_marker("claim")
        if marker is not None and marker.args[0] == self.claim_id:
            self.nodeids.append(item.nodeid)


def _suites(parser: argparse.ArgumentParser | None = None) -> list[str]:
    present = [s for s in SUITES if Path(s).is_dir()]
    if not present and parser is not None:
        parser.error(f"no {' or '.join(SUITES)} folder here ({Path.cwd()}); run gradfail from the project root")
    return present


def tests_of(claim_id: str, seeds: str = "0") -> tuple[list[str], int]:
    """The node ids of the tests exercising `claim_id` (every tier), by pytest's own collection."""
    import pytest

    collector = _ItemsOfClaim(claim_id)
    with contextlib.redirect_stdout(io.StringIO()):
        status = pytest.main(["--collect-only", "-q", "-m", "", *IN_PROCESS, "--claims-seeds", seeds, *_suites()],
                             plugins=[collector])
    return collector.nodeids, int(status)


def run_command(claim) -> list[str]:
    marks = [] if claim.tier == "fast" else ["-m", claim.tier]
    return [" ".join(["gradfail verify -k", claim.id, *marks]),
            " ".join(["pytest theory_checks regressions -k", claim.id, *marks, "--claims-seeds 0-19"])]


def _describe(thunk) -> str:
    """A value for `show`, or the reason it cannot be computed yet (a scaffold raises NotImplementedError)."""
    try:
        return str(thunk())
    except NotImplementedError as missing:
        return f"(not filled in: {missing})"


def _show(args) -> int:
    try:
        claim = get_claim(args.id)
    except KeyError as error:
        print(f"gradfail show: {error.args[0]}", file=sys.stderr)
        return 2
    bound = claim.bound
    fields = [
        ("statement", claim.statement), ("source", claim.source), ("section", claim.section),
        ("tier", claim.tier), ("quantity", claim.quantity),
        ("bound", _describe(lambda: bound.describe(claim.reference))
                  + f" at the reference (rtol={bound.rtol:g}, atol={bound.atol:g})"),
        ("why", bound.why),
        ("settings", "drawn by Hypothesis from " + repr(claim.settings)[:300] if claim.settings is not None
         else "checked at the reference setting only"),
        ("reference", repr(claim.reference)),
        ("violation", repr(claim.violation) + "  (the check must fail here)"),
    ]
    fields += [(f"scale {p}", repr(claim.reference_for(p)) if claim.scale.get(p) else "as the reference")
               for p in PROFILES]
    fields += [("seeds", "every selected seed in one batched run" if claim.batch_seeds else "one test per seed"),
               ("error budget", f"{claim.error_budget:g}" + (" (exact)" if claim.error_budget == 0 else
                                                               " (false-failure probability of one check)")),
               ("known failures", "; ".join(f"{k}: {v}" for k, v in claim.known_failures.items()) or "none")]
    print(claim.id)
    for name, value in fields:
        print(f"  {name + ':':16s}{value}")
    if _suites():
        nodeids, status = tests_of(claim.id)
        print(f"  {'tests:':16s}" + ("" if nodeids else f"none collected (pytest exit {status})"))
    else:
        nodeids = []
        print(f"  {'tests:':16s}(run gradfail show from the project root to list them)")
    for nodeid in nodeids:
        print(f"    {nodeid}")
    print(f"  {'run it:':16s}" + f"\n  {'':16s}".join(run_command(claim)))
    return 0


# --- verify and report -------------------------------------------------------------------------------------

def _resolve(args, parser: argparse.ArgumentParser) -> None:
    """Fill unset options from the plugin's environment variables, so `gradfail` and `pytest` agree."""
    for name, env, default, choices in (("profile", "GRADFAIL_PROFILE", "ci", PROFILES),
                                        ("device", "GRADFAIL_DEVICE", "auto", DEVICE_CHOICES)):
        value = getattr(args, name) or os.environ.get(env) or default
        if value not in choices:
            parser.error(f"{env}={value!r} is not a valid choice; choose from {', '.join(choices)}")
        setattr(args, name, value)
    try:
        resolve_device(args.device)   # a missing GPU is a usage error here, not a traceback from a figure
    except DeviceUnavailable as error:
        parser.error(f"--device: {error}")
    if hasattr(args, "seeds"):
        args.seeds = args.seeds or os.environ.get("GRADFAIL_SEEDS") or "0"
        try:
            parse_seeds(args.seeds)
        except ValueError as error:
            parser.error(f"--seeds: {error}")


def section_expression(section: str | None, k: str | None) -> str | None:
    """A pytest -k expression for the claims of one paper section (and the user's -k, if any).

    Selection by -k reaches pytest-xdist workers too; a claim's test ids contain its id.
    """
    if section is None:
        return k
    ids = " or ".join(c.id for c in _selected(section))
    return f"({k}) and ({ids})" if k else ids


def run_claims(args, parser: argparse.ArgumentParser, *extra: str) -> tuple[int, dict | None]:
    """pytest over the claim suites with the plugin and a progress bar; prints pytest's output after the bar.

    Returns pytest's exit status and the run's claims report (None when pytest stopped before running).
    """
    import pytest

    command = [*_suites(parser), "--claims-profile", args.profile, "--claims-device", args.device,
               "--claims-seeds", args.seeds, *IN_PROCESS, *extra]
    selection = section_expression(args.section, args.k)
    if selection:
        command += ["-k", selection]
    if args.m:
        command += ["-m", args.m]
    if args.n:
        command += ["-n", args.n]
    print("$ pytest " + shlex.join(command), flush=True)
    progress = ClaimsProgress()
    output = io.StringIO()  # pytest's own output waits until the bar is done, so the two never interleave
    with contextlib.redirect_stdout(output):
        status = int(pytest.main(command, plugins=[progress]))
    print(output.getvalue(), end="", flush=True)
    return status, progress.report


def claims_exit_status(status: int, report: dict | None) -> int:
    """0 only if pytest passed and every selected claim holds; pytest's status otherwise, or 1."""
    if status == EXIT_NO_TESTS or (status == 0 and not (report or {}).get("claims")):
        print("gradfail: no claim was selected (pytest exit 5); check -k / -m", file=sys.stderr)
        return EXIT_NO_TESTS
    if status != 0:
        return status
    unproven = [c for c in report["claims"] if c["outcome"] != "passed"]
    for c in unproven:
        print(f"gradfail: {c['id']} was {c['outcome']}, so it is not verified", file=sys.stderr)
    return 1 if unproven else 0


def _verify(args) -> int:
    status, report = run_claims(args, args.parser)
    return claims_exit_status(status, report)


def _figures(args) -> int:
    from gradfail.figures import FIGURES

    names = args.names or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"gradfail figures: unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}",
              file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    for name in names:
        print(f"wrote {FIGURES[name](Path(args.out) / 'figures', profile=args.profile, device=device)}", flush=True)
    return 0


def figures_of(report: dict) -> list[str]:
    """The figures that illustrate at least one claim of the report (a -k / -m selection draws only these)."""
    from gradfail.figures import FIGURES
    from gradfail.figures.readings import READINGS

    ran = {c["id"] for c in report["claims"]}
    return [name for name in FIGURES if any(claim_id in ran for _, claim_id in READINGS.get(name, ()))]


def _report(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    status, report = run_claims(args, args.parser)
    if report is None:
        print(f"gradfail report: pytest exited {status} before running the claims; nothing written", file=sys.stderr)
        return status or 1
    json_path = write_json(report, out / "claims.json")
    figures = {}
    if not args.no_figures:
        from gradfail.figures import FIGURES

        device = resolve_device(args.device)
        names = figures_of(report) if (args.k or args.m or args.section) else list(FIGURES)
        for i, name in enumerate(names, 1):
            print(f"figure {i}/{len(names)}: {name}", flush=True)
            figures[name] = str(FIGURES[name](out / "figures", profile=args.profile, device=device).relative_to(out))
    (out / "claims.md").write_text(render_markdown(report, figures))
    print(f"wrote {json_path}, {out / 'claims.md'}" + (f" and {len(figures)} figure(s)" if figures else ""))
    return claims_exit_status(status, report)


# --- new-claim ---------------------------------------------------------------------------------------------

def _new_claim(args) -> int:
    from gradfail.scaffold import ScaffoldError, scaffold_claim

    try:
        written = scaffold_claim(args.id, root=Path.cwd(), section=args.section)
    except ScaffoldError as error:
        print(f"gradfail new-claim: {error}", file=sys.stderr)
        return 2
    for path, what in written:
        print(f"{what}: {path}")
    print(f"Fill in every TODO of {args.id}; until then its tests fail:\n"
          f"  pytest theory_checks regressions -k {args.id}")
    return 0


# --- the parser --------------------------------------------------------------------------------------------

def _run_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--section", choices=SECTIONS, default=None, help="only the claims of this paper section")
    sub.add_argument("-k", metavar="EXPR", default=None, help="only claims/tests matching this pytest -k expression")
    sub.add_argument("-m", metavar="MARKEXPR", default=None,
                     help="pytest -m expression (default: the fast tier, 'not slow and not paper and not gpu and "
                          "not perf'; e.g. -m slow)")
    sub.add_argument("--seeds", default=None, help="seeds: '0', '0-19', '1,4,9' or 'all' (default: $GRADFAIL_SEEDS or 0)")
    sub.add_argument("-n", metavar="N", default=None, help="pytest-xdist workers, e.g. 2 or auto")


def _profile_device_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--profile", choices=PROFILES, default=None, help="claims profile (default: $GRADFAIL_PROFILE or ci)")
    sub.add_argument("--device", choices=DEVICE_CHOICES, default=None, help="device (default: $GRADFAIL_DEVICE or auto)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradfail", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the registered claims")
    listing.add_argument("--section", choices=SECTIONS, default=None, help="only claims of this paper section")
    listing.add_argument("--tier", choices=TIERS, default=None, help="only claims of this tier")
    listing.add_argument("--markdown", action="store_true", help="print a Markdown table (the README's)")
    listing.set_defaults(run=_list)

    show = commands.add_parser("show", help="one claim in full: bound, settings, tests, how to run it")
    show.add_argument("id", help="a claim id, e.g. parity.gradient_variance_bound (see gradfail list)")
    show.set_defaults(run=_show)

    verify = commands.add_parser("verify", help="run the claims through pytest with a progress bar and a table")
    _run_options(verify)
    _profile_device_options(verify)
    verify.set_defaults(run=_verify)

    report = commands.add_parser("report", help="verify the claims and write claims.json, claims.md and figures")
    report.add_argument("--out", default="reports", help="output folder (default: reports)")
    _run_options(report)
    _profile_device_options(report)
    report.add_argument("--no-figures", action="store_true", help="skip drawing the figures")
    report.set_defaults(run=_report)

    figures = commands.add_parser("figures", help="draw paper figures")
    figures.add_argument("names", nargs="*", help="figure names (default: all)")
    figures.add_argument("--out", default="reports", help="output folder; figures go to OUT/figures (default: reports)")
    _profile_device_options(figures)
    figures.set_defaults(run=_figures)

    new = commands.add_parser("new-claim", help="scaffold a claim record (and a new topic's wiring) to fill in")
    new.add_argument("id", metavar="TOPIC.NAME", help="the new claim's id, e.g. parity.gradient_concentrates")
    new.add_argument("--section", choices=SECTIONS, default=None,
                     help="paper section (default: that of the topic's claims, or 'lit' for a new topic)")
    new.set_defaults(run=_new_claim)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.parser = parser
    if hasattr(args, "profile"):
        _resolve(args, parser)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

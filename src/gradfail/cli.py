"""The `gradfail` command: list claims, verify them and write the report with its figures.

    gradfail list                       the registered claims
    gradfail report [--out reports]     run the claims (pytest + plugin), write claims.json, claims.md, figures
    gradfail figures [NAME ...]         draw paper figures into reports/figures
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from gradfail.claims import PROFILES, all_claims
from gradfail.devices import DEVICE_CHOICES, resolve_device
from gradfail.reporting import md_cell, render_markdown

SUITES = ("theory_checks", "regressions")


def claims_markdown_table() -> str:
    """The README's claims table, generated from the registry (tests/test_registry.py keeps them in sync)."""
    lines = ["| claim | § | tier | statement | source |", "|---|---|---|---|---|"]
    for claim in all_claims().values():
        cells = (claim.section, claim.tier, claim.statement, claim.source)
        lines.append(f"| `{claim.id}` | " + " | ".join(map(md_cell, cells)) + " |")
    return "\n".join(lines)


def _list(args) -> int:
    if args.markdown:
        print(claims_markdown_table())
        return 0
    for claim in all_claims().values():
        print(f"{claim.id:48s} §{claim.section:3s} {claim.tier:5s} {claim.statement}")
    return 0


def _resolve(args, parser: argparse.ArgumentParser) -> None:
    """Fill unset options from the plugin's environment variables, so `gradfail` and `pytest` agree."""
    for name, env, default, choices in (("profile", "GRADFAIL_PROFILE", "ci", PROFILES),
                                        ("device", "GRADFAIL_DEVICE", "auto", DEVICE_CHOICES)):
        value = getattr(args, name) or os.environ.get(env) or default
        if value not in choices:
            parser.error(f"{env}={value!r} is not a valid choice; choose from {', '.join(choices)}")
        setattr(args, name, value)
    if hasattr(args, "seeds"):
        args.seeds = args.seeds or os.environ.get("GRADFAIL_SEEDS") or "0"


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
        print(f"wrote {FIGURES[name](Path(args.out) / 'figures', profile=args.profile, device=device)}")
    return 0


def _report(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "claims.json"
    command = [sys.executable, "-m", "pytest", *SUITES, "--claims-json", str(json_path),
               "--claims-profile", args.profile, "--claims-device", args.device, "--claims-seeds", args.seeds,
               "-p", "no:cacheprovider"]
    print("$", " ".join(command), flush=True)
    status = subprocess.call(command)
    if not json_path.exists():
        print(f"gradfail report: pytest exited {status} without writing {json_path}", file=sys.stderr)
        return status or 1
    figures = {}
    if not args.no_figures:
        from gradfail.figures import FIGURES

        device = resolve_device(args.device)
        for name, draw in FIGURES.items():
            figures[name] = str(draw(out / "figures", profile=args.profile, device=device).relative_to(out))
    report = json.loads(json_path.read_text())
    (out / "claims.md").write_text(render_markdown(report, figures))
    print(f"wrote {json_path}, {out / 'claims.md'}" + (f" and {len(figures)} figure(s)" if figures else ""))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradfail", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the registered claims")
    listing.add_argument("--markdown", action="store_true", help="print the README's claims table")
    listing.set_defaults(run=_list)
    for name, run, help_text in (("report", _report, "verify the claims and write the report and figures"),
                                 ("figures", _figures, "draw paper figures")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--out", default="reports", help="output folder (default: reports)")
        sub.add_argument("--profile", choices=PROFILES, default=None,
                         help="claims profile (default: $GRADFAIL_PROFILE or ci)")
        sub.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                         help="device (default: $GRADFAIL_DEVICE or auto)")
        sub.set_defaults(run=run)
        if name == "report":
            sub.add_argument("--seeds", default=None, help="seeds: '0', '0-19', 'all' (default: $GRADFAIL_SEEDS or 0)")
            sub.add_argument("--no-figures", action="store_true", help="skip drawing the figures")
        else:
            sub.add_argument("names", nargs="*", help="figure names (default: all)")
    args = parser.parse_args(argv)
    if args.command != "list":
        _resolve(args, parser)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

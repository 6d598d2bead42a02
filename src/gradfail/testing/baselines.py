"""Regression baselines: where they live, a check that never loses or lies, and the orphan listing.

A baseline is the estimate (value, lo, hi) of one claim at its reference setting, seed 0, ci profile, stored by
pytest-regressions' `num_regression` as one CSV row at

    regressions/baselines/<device>-<dtype>/<claim id>.csv        e.g. cpu-float32/parity.sgd_learns_small_d.csv

and compared within the dtype's tolerance (gradfail.testing.tolerances, printed with every mismatch).

- A missing baseline fails its test and is written for review ("File not found in data directory, created").
- `pytest --force-regen` rewrites the baselines of the selected tests that differ (and fails them, so a
  rewrite is never silent); `--regen-all` rewrites every selected one. Unselected tests' files are not touched.
- A malformed baseline (empty, not a CSV table, a missing or unknown column, not one row, a non-number, NaN,
  lo <= value <= hi broken) fails with `BaselineError` naming the file and the problem. pytest-regressions
  alone would raise pandas' EmptyDataError without the file name, ignore an extra column, report a bare
  "data shape" mismatch, or pass a NaN baseline against a NaN measurement; `--force-regen` replaces the file.
- Orphans, files that no registered claim's baseline check uses (a renamed or removed claim, a wrong dtype
  folder, a leftover `.obtained` file), are listed by

      python -m gradfail.testing.baselines --orphans [--root regressions]

  which exits 1 when there are any; tests/test_baselines.py fails if the repository has one.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import torch

from gradfail.testing.tolerances import baseline_tolerance

COLUMNS = ("value", "lo", "hi")
FOLDER = "baselines"                  # under the suite folder, regressions/
DEVICE_TYPES = ("cpu", "cuda")
_TOPIC = re.compile(r"""^TOPIC\s*=\s*["']([a-z0-9_]+)["']""", re.MULTILINE)
_TEMPLATE = "test_claim_at_reference"


class BaselineError(Exception):
    """A baseline file exists but cannot be trusted; the message names the file and the problem."""


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def baseline_path(suite: Path, device: torch.device | str, dtype: torch.dtype, claim_id: str) -> Path:
    """suite/baselines/<device>-<dtype>/<claim_id>.csv"""
    return Path(suite) / FOLDER / f"{torch.device(device).type}-{dtype_name(dtype)}" / f"{claim_id}.csv"


def baseline_problem(path: Path) -> str | None:
    """What is wrong with the baseline file at `path`, or None when it is one well-formed row."""
    import pandas as pd

    if not path.read_text(errors="replace").strip():
        return "the file is empty"
    try:
        table = pd.read_csv(path, index_col=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        return f"it is not a CSV table ({type(error).__name__}: {str(error).strip()})"
    missing = [c for c in COLUMNS if c not in table.columns]
    unknown = [str(c) for c in table.columns if c not in COLUMNS]
    if missing or unknown:
        return (f"its columns are {[str(c) for c in table.columns]}, expected {list(COLUMNS)}"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unknown {', '.join(unknown)})" if unknown else ""))
    if len(table) != 1:
        return f"it has {len(table)} data rows, expected exactly 1"
    row = {}
    for column in COLUMNS:
        raw = table[column].iloc[0]
        number = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
        if pd.isna(number):
            what = "is empty or NaN" if pd.isna(raw) or str(raw).strip().lower() == "nan" else f"is {raw!r}"
            return f"{column} {what}, not a number (a claim whose estimate is NaN fails before its baseline check)"
        row[column] = float(number)
    if not row["lo"] <= row["value"] <= row["hi"] or math.isnan(row["value"]):
        return f"it breaks lo <= value <= hi: lo={row['lo']:g}, value={row['value']:g}, hi={row['hi']:g}"
    return None


def describe_tolerance(dtype: torch.dtype, tolerance: Mapping[str, float]) -> str:
    table = baseline_tolerance(dtype)
    raised = "" if tolerance["atol"] == table["atol"] else f", raised to the claim's own atol {tolerance['atol']:g}"
    return (f"{dtype_name(dtype)} baselines: rtol={table['rtol']:g}, atol={table['atol']:g} "
            f"(gradfail.testing.tolerances.BASELINE_TOLERANCE){raised}")


def check_baseline(num_regression, request, path: Path, values: Mapping[str, float], *, dtype: torch.dtype,
                   atol: float = 0.0) -> None:
    """Compare `values` (value, lo, hi) with the baseline at `path` through pytest-regressions, guarded.

    `atol`: the claim's own absolute tolerance; a value at rounding level (an exact identity's residual)
    moves with the BLAS thread count and is compared within it, not within the dtype's.
    """
    import numpy as np

    __tracebackhide__ = True
    regenerate = request.config.getoption("force_regen") or request.config.getoption("regen_all")
    if path.is_file():
        problem = baseline_problem(path)
        if problem and regenerate:
            path.unlink()                      # written afresh below, as a missing baseline is
        elif problem:
            raise BaselineError(f"baseline {path} is malformed: {problem}. Fix or delete it, or rewrite it with "
                                f"pytest '{request.node.nodeid}' --force-regen")
    tolerance = baseline_tolerance(dtype)
    tolerance["atol"] = max(tolerance["atol"], atol)
    try:
        num_regression.check({c: np.array([values[c]], dtype=np.float64) for c in COLUMNS},
                             fullpath=path, default_tolerance=tolerance)
    except AssertionError as mismatch:
        raise AssertionError(f"baseline mismatch: {path}\n  tolerance for {describe_tolerance(dtype, tolerance)}\n"
                             f"  rewrite it, if the change is intended, with pytest '{request.node.nodeid}' "
                             f"--force-regen\n{mismatch}") from None


def used_baselines(suite: Path) -> set[Path]:
    """Every baseline path that a registered claim's reference check in `suite` may use (any device)."""
    from gradfail.claims import TOPICS, claims_of

    topics = set()
    for module in Path(suite).glob("test_*.py"):
        text = module.read_text()
        if _TEMPLATE in text:
            topics.update(t for t in _TOPIC.findall(text) if t in TOPICS)
    return {baseline_path(suite, device, claim.dtype, claim.id)
            for topic in topics for claim in claims_of(topic) for device in DEVICE_TYPES}


def orphaned_baselines(suite: Path) -> list[Path]:
    """Files under suite/baselines that no registered claim uses, sorted."""
    folder = Path(suite) / FOLDER
    used = used_baselines(suite)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p not in used)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradfail.testing.baselines",
                                     description="List regression baselines that no registered claim uses.")
    parser.add_argument("--orphans", action="store_true", required=True,
                        help="list orphaned baseline files; exit 1 when there are any")
    parser.add_argument("--root", default="regressions", help="the suite folder holding baselines/ "
                                                              "(default: regressions)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not (root / FOLDER).is_dir():
        parser.error(f"--root {args.root!r} has no {FOLDER}/ folder; give the suite folder, e.g. regressions")
    orphans = orphaned_baselines(root)
    for path in orphans:
        print(path)
    print(f"{len(orphans)} orphaned baseline file(s) under {root / FOLDER}", file=sys.stderr)
    return 1 if orphans else 0


if __name__ == "__main__":
    sys.exit(main())

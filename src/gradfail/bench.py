"""Summarise the perf benchmarks: pytest-benchmark's JSON in, reports/bench.json out.

    python -m gradfail.bench [RAW] [--out reports/bench.json]

RAW (default reports/bench_raw.json) is what `pytest -m perf regressions --benchmark-enable
--benchmark-json=RAW` writes. Every perf benchmark records, in `benchmark.extra_info`, `ratio` (the naive
way's time over ours, measured side by side in the same run) and `target` (the ratio it must reach). The
summary is a JSON list with one {"name", "ratio", "target", "met"} per benchmark, met = ratio >= target.

Exit status: 0 when every benchmark met its target, 1 when one did not (the summary is still written), 2
when the input is unusable (missing file, no benchmarks, a benchmark without a numeric ratio or target).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

FIELDS = ("ratio", "target")


class BenchSummaryError(ValueError):
    """pytest-benchmark's output cannot be summarised; the message names the benchmark and field."""


def _number(name: str, field: str, value: object) -> float:
    # bool is an int subclass, but `ratio=True` is a bug in the benchmark, not a ratio of 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BenchSummaryError(f"benchmark {name}: extra_info[{field!r}] must be a finite number; got {value!r}")
    return float(value)


def summarise(raw: dict) -> list[dict]:
    """One {"name", "ratio", "target", "met"} per benchmark of a pytest-benchmark JSON document."""
    benchmarks = raw.get("benchmarks") if isinstance(raw, dict) else None
    if not isinstance(benchmarks, list):
        raise BenchSummaryError("pytest-benchmark JSON has no 'benchmarks' list")
    if not benchmarks:
        raise BenchSummaryError("pytest-benchmark JSON lists no benchmarks: did `pytest -m perf` select none, "
                                "or run without --benchmark-enable?")
    rows = []
    for index, bench in enumerate(benchmarks):
        name = (bench.get("fullname") or bench.get("name")) if isinstance(bench, dict) else None
        if not name:
            raise BenchSummaryError(f"benchmarks[{index}] has no 'fullname' or 'name'")
        extra = bench.get("extra_info")
        if not isinstance(extra, dict):
            raise BenchSummaryError(f"benchmark {name}: no extra_info (did the test fail before recording it?)")
        missing = [field for field in FIELDS if field not in extra]
        if missing:
            raise BenchSummaryError(f"benchmark {name}: extra_info has no {' or '.join(map(repr, missing))}; every "
                                    f"perf benchmark must record extra_info['ratio'] and extra_info['target']")
        ratio, target = (_number(name, field, extra[field]) for field in FIELDS)
        if target <= 0:
            raise BenchSummaryError(f"benchmark {name}: extra_info['target'] must be positive; got {target!r}")
        rows.append({"name": name, "ratio": ratio, "target": target, "met": ratio >= target})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradfail.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", nargs="?", default="reports/bench_raw.json",
                        help="pytest-benchmark JSON (default: reports/bench_raw.json)")
    parser.add_argument("--out", default="reports/bench.json", help="summary to write (default: reports/bench.json)")
    args = parser.parse_args(argv)
    raw_path, out = Path(args.raw), Path(args.out)
    try:
        try:
            raw = json.loads(raw_path.read_text())
        except FileNotFoundError:
            raise BenchSummaryError(f"{raw_path} does not exist (pytest wrote no benchmark JSON)") from None
        except json.JSONDecodeError as error:
            raise BenchSummaryError(f"{raw_path} is not valid JSON: {error}") from None
        rows = summarise(raw)
    except BenchSummaryError as error:
        print(f"gradfail.bench: {error}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        print(f"{'met    ' if row['met'] else 'NOT MET'}  {row['ratio']:8.2f}x  (target {row['target']:g}x)  "
              f"{row['name']}")
    unmet = sum(not row["met"] for row in rows)
    print(f"wrote {out}: {len(rows) - unmet} of {len(rows)} benchmark(s) met their target")
    return 1 if unmet else 0


if __name__ == "__main__":
    sys.exit(main())

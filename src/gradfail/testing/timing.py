"""Side-by-side timing for perf benchmarks: ratios of timings taken together, never wall-clock limits."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


def median_seconds(fn: Callable[[], object], repeats: int, *, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median wall time of `repeats` calls of fn (the median resists a stray slow run on a shared machine)."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class SideBySide:
    """The outcome of `side_by_side`: median seconds per call of each way, and the median per-round ratio."""

    fast_s: float
    naive_s: float
    ratio: float          # median over rounds of naive_s / fast_s within the round


def side_by_side(fast: Callable[[], object], naive: Callable[[], object], *, rounds: int, fast_calls: int = 3,
                 naive_scale: float = 1.0, clock: Callable[[], float] = time.perf_counter) -> SideBySide:
    """Time `fast` and `naive` in alternating rounds; the ratio is the median of the rounds' ratios.

    Each round times `fast` (the median of `fast_calls` calls: it is the short one, so the more exposed to a
    stray interruption) and then `naive` once; `naive_scale` scales naive's time (a naive way timed on a
    sample of the work). Alternating means both ways see the same machine: a shared machine's speed drifts
    by tens of percent over seconds (measured on this project's 2-core machine), and timing one way fully
    before the other turns that drift into the ratio.
    """
    if rounds < 1 or fast_calls < 1:
        raise ValueError(f"rounds and fast_calls must be integers >= 1; got {rounds} and {fast_calls}")
    fast_times, naive_times, ratios = [], [], []
    for _ in range(rounds):
        fast_s = median_seconds(fast, fast_calls, clock=clock)
        naive_s = median_seconds(naive, 1, clock=clock) * naive_scale
        fast_times.append(fast_s)
        naive_times.append(naive_s)
        ratios.append(naive_s / fast_s)
    return SideBySide(statistics.median(fast_times), statistics.median(naive_times), statistics.median(ratios))

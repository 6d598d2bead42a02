"""The perf benchmarks' timing helper, on a scripted clock: which calls are timed, and which ratio comes out."""

from __future__ import annotations

import pytest

from gradfail.testing.timing import median_seconds, side_by_side


class ScriptedClock:
    """A clock that each timed call advances by the duration scripted for it."""

    def __init__(self):
        self.now = 0.0

    def call(self, seconds: list[float]):
        def fn():
            self.now += seconds.pop(0)
        return fn

    def __call__(self) -> float:
        return self.now


def test_median_seconds_is_the_median_call():
    clock = ScriptedClock()
    assert median_seconds(clock.call([3.0, 1.0, 100.0]), 3, clock=clock) == 3.0


def test_side_by_side_ratio_is_the_median_of_per_round_ratios():
    """Round r times fast (median of fast_calls) then naive once: a machine that slows down between rounds
    slows both ways of that round, and the per-round ratio stays 10."""
    clock = ScriptedClock()
    fast = clock.call([1.0, 1.2, 0.9,   2.0, 2.0, 2.0,   4.0, 4.0, 40.0])   # round 3 holds one stray slow call
    naive = clock.call([10.0, 20.0, 40.0])
    timing = side_by_side(fast, naive, rounds=3, fast_calls=3, clock=clock)
    assert (timing.fast_s, timing.naive_s, timing.ratio) == (2.0, 20.0, 10.0)


def test_side_by_side_scales_the_naive_time():
    clock = ScriptedClock()
    timing = side_by_side(clock.call([1.0]), clock.call([2.0]), rounds=1, fast_calls=1, naive_scale=64.0,
                          clock=clock)
    assert (timing.naive_s, timing.ratio) == (128.0, 128.0)


def test_side_by_side_ratio_fails_when_the_fast_way_is_slower():
    """The check the benchmarks assert on can fail: a 'fast' way slower than the naive one reads below 1."""
    clock = ScriptedClock()
    timing = side_by_side(clock.call([5.0, 5.0]), clock.call([1.0, 1.0]), rounds=2, fast_calls=1, clock=clock)
    assert timing.ratio == pytest.approx(0.2)


@pytest.mark.parametrize(("rounds", "fast_calls"), [(0, 3), (3, 0)])
def test_side_by_side_rejects_empty_timings(rounds, fast_calls):
    with pytest.raises(ValueError, match="rounds and fast_calls must be integers >= 1"):
        side_by_side(lambda: None, lambda: None, rounds=rounds, fast_calls=fast_calls)

"""Argument checks shared by settings and library functions.

Every check raises `ValueError` naming the field and the allowed range, so a bad setting reads as
"width must be an integer in [1, 4096], got 0" rather than a shape error deep inside torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return `value` if it is an integer in [lo, hi] (hi=None: unbounded)."""
    upper = "inf)" if hi is None else f"{hi}]"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer in [{lo}, {upper}, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer in [{lo}, {upper}, got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return `value` as a float if it is a finite real number in the given interval."""
    left, right = ("(" if lo_open else "["), (")" if hi_open else "]")
    interval = f"{left}{lo:g}, {hi:g}{right}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    below = value <= lo if lo_open else value < lo
    above = value >= hi if hi_open else value > hi
    if below or above:
        raise ValueError(f"{name} must be a finite number in {interval}, got {value:g}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return `value` if it is True or False (not 0, 1, "yes" or None: a flag is never guessed)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return `value` if it is one of `choices`."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value

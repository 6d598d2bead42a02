"""The claim record: a paper's statement declared once, consumed by test templates and the report.

A claim couples a *measurement* (a pure function of a setting, the seeds and a device) with a *bound*
(a relation and a right-hand side). `judge` turns the pair into a verdict. Templates in
`gradfail.testing.templates` run every registered claim at Hypothesis-drawn settings, at its
reference setting, and at its violation setting, where the verdict must be "fails".

Note [Benefit of the doubt]: for an estimate with interval [lo, hi] at level alpha, a bound fails only
when the whole interval violates it ("le": lo > rhs; "ge": hi < rhs; "eq": rhs outside [lo, hi];
"within": the interval misses [a, b]). If the claim is true, the chance of a false failure is at most
alpha. Power comes from measuring precisely enough that a violation leaves no doubt, and every claim
proves it has power with its `violation` setting.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from hypothesis.strategies import SearchStrategy

from gradfail.stats import Estimate

Relation = Literal["le", "ge", "eq", "within"]
Tier = Literal["fast", "slow", "paper"]
SECTIONS = ("2", "3", "4", "5", "lit")
TIERS = ("fast", "slow", "paper")
PROFILES = ("smoke", "ci", "paper")
_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
_SYMBOL = {"le": "<=", "ge": ">=", "eq": "==", "within": "in"}


@dataclass(frozen=True)
class Setting:
    """Base class of a claim's setting: a frozen record of every knob, validated on construction.

    Subclasses implement `validate()` with `gradfail.validation` checks, so an invalid setting raises
    `ValueError` naming the field and its allowed range as soon as it is built.
    """

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # pragma: no cover - every subclass overrides it
        raise TypeError(f"{type(self).__name__} must implement validate()")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Bound:
    """relation(measured, rhs(setting)) up to floating-point tolerance atol + rtol*|rhs|.

    `why` justifies the right-hand side and any tolerance beyond floating point; it is shown in failure
    messages and in `gradfail show`.
    """

    relation: Relation
    rhs: Callable[[Any], float | tuple[float, float]]
    why: str
    rtol: float = 0.0
    atol: float = 0.0

    def __post_init__(self) -> None:
        if self.relation not in _SYMBOL:
            raise ValueError(f"relation must be one of {', '.join(_SYMBOL)}; got {self.relation!r}")
        if self.rtol < 0 or self.atol < 0:
            raise ValueError(f"rtol and atol must be >= 0, got rtol={self.rtol}, atol={self.atol}")

    def tolerance(self, x: float) -> float:
        return self.atol + self.rtol * abs(x)

    def describe(self, setting: Any) -> str:
        """The effective bound, tolerance included: '<= 1 (+1e-09)', 'in [-1.05, -0.95]'."""
        rhs = self.rhs(setting)
        if self.relation == "within":
            a, b = rhs
            return f"in [{a - self.tolerance(a):.4g}, {b + self.tolerance(b):.4g}]"
        tol = self.tolerance(rhs)
        slack = f" (±{tol:.2g})" if tol else ""
        return f"{_SYMBOL[self.relation]} {rhs:.4g}{slack}"

    def as_json(self, setting: Any) -> dict[str, Any]:
        rhs = self.rhs(setting)
        value: Any = [float(rhs[0]), float(rhs[1])] if self.relation == "within" else float(rhs)
        return {"relation": _SYMBOL[self.relation], "value": value, "rtol": self.rtol, "atol": self.atol}


@dataclass(frozen=True)
class Verdict:
    """The outcome of judging one estimate against one bound."""

    holds: bool
    estimate: Estimate
    bound_text: str
    margin: float  # > 0 holds with room to spare; < 0 fails; in units of the bound's scale


def judge(estimate: Estimate, bound: Bound, setting: Any) -> Verdict:
    """Apply `bound` to `estimate` with the benefit of the doubt (see Note [Benefit of the doubt])."""
    rhs = bound.rhs(setting)
    lo, hi = estimate.lo, estimate.hi
    if any(map(math.isnan, (lo, hi, estimate.value))):
        return Verdict(False, estimate, bound.describe(setting), -math.inf)

    if bound.relation == "le":
        margin = rhs + bound.tolerance(rhs) - lo
    elif bound.relation == "ge":
        margin = hi - (rhs - bound.tolerance(rhs))
    elif bound.relation == "eq":
        margin = min(rhs - (lo - bound.tolerance(rhs)), (hi + bound.tolerance(rhs)) - rhs)
    else:
        a, b = rhs
        margin = min(hi - (a - bound.tolerance(a)), (b + bound.tolerance(b)) - lo)
    return Verdict(margin >= 0, estimate, bound.describe(setting), float(margin))


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One falsifiable statement of a paper, with everything needed to test it.

    measure(setting, *, seeds, device) -> Estimate
        A pure function: all randomness comes from generators derived from `seeds`
        (see Note [Seeding] in gradfail.seeding). Most claims use one seed per test; a claim with
        `batch_seeds=True` gets every selected seed at once and trains them as one batched model.
    settings
        A Hypothesis strategy of settings inside the theorem's assumptions, or None for claims that are
        checked at their reference setting only (training outcomes).
    reference
        The canonical setting, used for the regression baseline and the report's headline number.
        `scale[profile]` overrides some of its fields for the smoke and paper profiles.
    violation
        A setting outside the assumptions where the check MUST fail: proof that the check has power.
    error_budget
        The false-failure probability of one run of the check (0 for exact claims).
    known_failures
        {"<template name>": "reason"}: strict xfails, so a fix is noticed.
    """

    id: str
    statement: str
    source: str
    section: str
    quantity: str
    measure: Callable[..., Estimate]
    bound: Bound
    reference: Setting
    violation: Setting | None
    settings: SearchStrategy | None = None
    tier: Tier = "fast"
    scale: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    batch_seeds: bool = False
    dtype: torch.dtype = torch.float64
    error_budget: float = 0.0
    known_failures: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not _ID.match(self.id):
            problems.append("id must look like 'topic.property_in_words' (lowercase, digits, underscores)")
        if not self.statement.endswith("."):
            problems.append("statement must be one sentence ending with '.'")
        if self.section not in SECTIONS:
            problems.append(f"section must be one of {SECTIONS}")
        if self.tier not in TIERS:
            problems.append(f"tier must be one of {TIERS}")
        if not self.source.strip():
            problems.append("source must name the paper and the exact locator")
        if not 0.0 <= self.error_budget < 1.0:
            problems.append("error_budget must be in [0, 1)")
        if not isinstance(self.reference, Setting):
            problems.append("reference must be a Setting")
        if self.violation is not None and type(self.violation) is not type(self.reference):
            problems.append("violation must be a Setting of the same type as reference")
        for profile, overrides in self.scale.items():
            if profile not in PROFILES:
                problems.append(f"scale keys must be profiles {PROFILES}, got {profile!r}")
            unknown = set(overrides) - {f.name for f in dataclasses.fields(self.reference)}
            if unknown:
                problems.append(f"scale[{profile!r}] names unknown fields {sorted(unknown)}")
        if problems:
            raise ValueError(f"claim {self.id!r}: " + "; ".join(problems))

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def suite(self) -> str:
        """Where the claim's main check lives: theory_checks (Hypothesis) or regressions (reference)."""
        return "theory_checks" if self.settings is not None else "regressions"

    def reference_for(self, profile: str) -> Setting:
        """The reference setting, scaled for `profile` (smoke, ci, paper)."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
        return dataclasses.replace(self.reference, **self.scale.get(profile, {}))

    def check(self, setting: Setting, *, seeds: tuple[int, ...], device: torch.device) -> Verdict:
        """Measure at `setting` and judge the bound (after checking the estimate against the error budget)."""
        estimate = self.measure(setting, seeds=seeds, device=device)
        problem = budget_problem(self, estimate)
        if problem:
            raise ValueError(f"claim {self.id!r}: {problem}")
        return judge(estimate, self.bound, setting)


def budget_problem(claim: Claim, estimate: Estimate) -> str | None:
    """Why `claim.error_budget` does not match the alpha its measurement used, or None when it does.

    error_budget is the false-failure probability of one check: the union bound over the statistical
    intervals behind one Estimate, which the Estimate states as its (family-wise) `alpha`. So an interval
    needs a budget (a non-degenerate interval with error_budget 0 is a hidden error rate), the budget must
    cover the alpha (alpha <= error_budget), and a measurement without sampling error (alpha 0) must not
    claim one. Checked on every check the claim runs, so it costs nothing and covers every registered claim.
    """
    if not estimate.exact and estimate.alpha <= 0:
        return (f"its estimate has an interval [{estimate.lo:.4g}, {estimate.hi:.4g}] but states alpha "
                f"{estimate.alpha:g}: an interval's miss probability must be stated")
    if estimate.alpha > claim.error_budget:
        return (f"its estimate uses alpha {estimate.alpha:g} but the record states error_budget "
                f"{claim.error_budget:g}: set error_budget to the alphas of one check, summed (union bound)")
    if estimate.alpha == 0 and claim.error_budget > 0:
        return (f"its estimate is exact (alpha 0) but the record states error_budget {claim.error_budget:g}: "
                "an exact claim's budget is 0")
    return None

"""Where templates leave their verdicts for the plugin.

Templates run inside Hypothesis, which forbids function-scoped fixtures such as `record_property`, so a
template appends plain dicts here and the plugin moves them onto the test item's `user_properties`
(which pytest ships from xdist workers to the controller) after the call.
"""

from __future__ import annotations

from typing import Any

from gradfail.claims import Claim, Verdict

_PENDING: list[dict[str, Any]] = []
PROPERTY = "gradfail.record"
CLAIM_PROPERTY = "gradfail.claim"


KINDS = ("reference", "drawn", "violation")


def record(claim: Claim, setting: Any, seeds: tuple[int, ...], verdict: Verdict, *, kind: str) -> None:
    """Remember one judged measurement of `kind`: at the reference setting, at a drawn setting, or at the
    violation setting (where the check is expected to fail)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    _PENDING.append({
        "claim": claim.id,
        "setting": repr(setting),
        "seeds": list(seeds),
        "measured": verdict.estimate.as_json(),
        "measured_text": verdict.estimate.short(),
        "bound": claim.bound.as_json(setting),
        "bound_text": verdict.bound_text,
        "holds": bool(verdict.holds),
        "margin": float(verdict.margin) if verdict.margin == verdict.margin else None,
        "kind": kind,
    })


def take() -> list[dict[str, Any]]:
    """Hand over and forget everything recorded since the last call."""
    pending = list(_PENDING)
    _PENDING.clear()
    return pending

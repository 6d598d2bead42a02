"""The claim registry: every claim of every topic, by id.

Topics mirror the paper's sections (parity = Section 2, ...). A topic module exports `CLAIMS`, a tuple of
`Claim` records; listing the module in `TOPICS` registers them.
"""

from __future__ import annotations

import importlib
from functools import cache

from gradfail.claims._core import PROFILES, SECTIONS, TIERS, Bound, Claim, Setting, Verdict, judge

TOPICS = ("parity", "end_to_end", "conditioning", "flat", "sparse_parity", "deep_linear", "intermediate_supervision",
          "single_index")

__all__ = ["PROFILES", "SECTIONS", "TIERS", "TOPICS", "Bound", "Claim", "Setting", "Verdict", "all_claims",
           "claims_of", "get_claim", "judge"]


@cache
def all_claims() -> dict[str, Claim]:
    """Every registered claim by id, in topic order; duplicate ids are an error."""
    registry: dict[str, Claim] = {}
    for topic in TOPICS:
        module = importlib.import_module(f"gradfail.claims.{topic}")
        for claim in module.CLAIMS:
            if claim.topic != topic:
                raise ValueError(f"claim {claim.id!r} is declared in topic module {topic!r}")
            if claim.id in registry:
                raise ValueError(f"claim id {claim.id!r} is registered twice")
            registry[claim.id] = claim
    return registry


def claims_of(topic: str) -> list[Claim]:
    """The claims of one topic, in declaration order."""
    if topic not in TOPICS:
        raise ValueError(f"topic must be one of {', '.join(TOPICS)}; got {topic!r}")
    return [c for c in all_claims().values() if c.topic == topic]


def get_claim(claim_id: str) -> Claim:
    """The claim with this id; the error lists close matches."""
    registry = all_claims()
    if claim_id not in registry:
        import difflib

        close = difflib.get_close_matches(claim_id, registry, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no claim {claim_id!r}{hint}")
    return registry[claim_id]

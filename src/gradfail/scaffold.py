"""`gradfail new-claim TOPIC.NAME`: write a claim record to fill in, and a new topic's wiring.

The scaffold is appended to src/gradfail/claims/<topic>.py as `CLAIMS = CLAIMS + (Claim(...),)`, after a
marker line (SCAFFOLD_MARK). A new topic also gets its module, its entry in TOPICS (appended textually to
claims/__init__.py; the registration mechanism is unchanged) and its two three-line test modules.

A scaffold must never pass by itself: its measurement and its bound's right-hand side raise
NotImplementedError saying what to fill in, so its reference and violation tests fail until both are
written (and the README's claims table goes stale until it is regenerated).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from gradfail.claims import SECTIONS
from gradfail.claims._core import _ID as CLAIM_ID

SCAFFOLD_MARK = "# --- {id}: scaffolded by `gradfail new-claim`; fill in every TODO (its tests fail until then)"

CLAIM_BLOCK = '''

{mark}

from dataclasses import dataclass  # noqa: E402  (TODO: move these imports to the top of the module)

from gradfail.claims._core import Bound, Claim, Setting  # noqa: E402
from gradfail.stats import Estimate  # noqa: E402
from gradfail.validation import check_int  # noqa: E402


@dataclass(frozen=True)
class {setting}(Setting):
    """TODO: every knob the measurement needs, one field each, with the paper's symbol in a comment."""

    n: int = 10  # TODO: replace by the claim's own fields

    def validate(self) -> None:
        check_int("n", self.n, 1, 1000)  # TODO: the statement's assumptions, one check per field


def {measure}(setting: {setting}, *, seeds, device) -> Estimate:
    """TODO: the quantity measured (a formula) and the paper's locator."""
    raise NotImplementedError("{id}: fill in {measure}() in {path}: measure the quantity at `setting`, "
                              "drawing randomness from gradfail.seeding.make_generator(seeds[0], ...), "
                              "and return a gradfail.stats.Estimate")


def {rhs}(setting: {setting}) -> float:
    raise NotImplementedError("{id}: fill in {rhs}() in {path}: the bound's right-hand side at `setting`")


CLAIMS = CLAIMS + (
    Claim(
        id="{id}",
        statement="TODO: one falsifiable sentence.",
        source="TODO: the paper and the exact locator (Theorem, Lemma, Figure, Section)",
        section="{section}",
        quantity="TODO: what is measured",
        measure={measure},
        bound=Bound(relation="le", rhs={rhs}, why="TODO: why this right-hand side and tolerance"),
        reference={setting}(),
        violation={setting}(n=1),  # TODO: a setting outside the assumptions, where the check must fail
    ),
)
'''

TOPIC_MODULE = '''"""TODO: the `{topic}` claims: which part of the paper (or later literature) they test, in a paragraph."""

from __future__ import annotations

CLAIMS = ()
'''

TEST_MODULES = {
    "theory_checks": ('"""{topic}: Hypothesis checks of every claim with a strategy."""\n\n'
                      "from gradfail.testing.templates import test_claim_detects_violation, test_claim_holds  "
                      "# noqa: F401\n\nTOPIC = \"{topic}\"\n"),
    "regressions": ('"""{topic}: every claim at its reference setting, with baselines."""\n\n'
                    "from gradfail.testing.templates import test_claim_at_reference, test_claim_detects_violation  "
                    "# noqa: F401\n\nTOPIC = \"{topic}\"\n"),
}


class ScaffoldError(ValueError):
    """A claim id or project layout new-claim cannot scaffold."""


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def _topic_section(module_text: str) -> str | None:
    """The section most claims of an existing topic module declare."""
    found = Counter(re.findall(r'section="([^"]+)"', module_text)).most_common(1)
    return found[0][0] if found else None


def register_topic(init_text: str, topic: str) -> str:
    """claims/__init__.py with `topic` appended to its TOPICS tuple (textually, keeping everything else)."""
    match = re.search(r"^TOPICS = \((?P<body>[^)]*)\)", init_text, re.M)
    if match is None:
        raise ScaffoldError("cannot find `TOPICS = (...)` in src/gradfail/claims/__init__.py")
    body = match["body"].rstrip()
    separator = " " if body.endswith(",") else ", "
    return init_text[:match.start("body")] + f'{body}{separator}"{topic}"' + init_text[match.end("body"):]


def scaffold_claim(claim_id: str, *, root: Path, section: str | None = None) -> list[tuple[Path, str]]:
    """Write the scaffold of `claim_id` under the project `root`; returns (path, what was done) pairs."""
    if not CLAIM_ID.match(claim_id):
        raise ScaffoldError(f"claim id must look like TOPIC.NAME in lowercase (e.g. parity.gradient_concentrates); "
                            f"got {claim_id!r}")
    if section is not None and section not in SECTIONS:
        raise ScaffoldError(f"section must be one of {', '.join(SECTIONS)}; got {section!r}")
    topic, name = claim_id.split(".", 1)
    claims_dir = root / "src" / "gradfail" / "claims"
    if not (claims_dir / "__init__.py").is_file():
        raise ScaffoldError(f"no src/gradfail/claims/__init__.py under {root}; run new-claim from the project root")
    module = claims_dir / f"{topic}.py"
    written: list[tuple[Path, str]] = []
    if module.exists():
        text = module.read_text()
        if f'id="{claim_id}"' in text or SCAFFOLD_MARK.format(id=claim_id) in text:
            raise ScaffoldError(f"{claim_id} is already declared in {module.relative_to(root)}")
        section = section or _topic_section(text) or "lit"
    else:
        if topic.startswith("_"):
            raise ScaffoldError(f"topic {topic!r} must not start with an underscore")
        init = claims_dir / "__init__.py"
        init.write_text(register_topic(init.read_text(), topic))
        written.append((init.relative_to(root), f"registered topic {topic!r} in TOPICS"))
        for suite, template in TEST_MODULES.items():
            path = root / suite / f"test_{topic}.py"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(template.format(topic=topic))
                written.append((path.relative_to(root), "wrote the test module"))
        module.write_text(TOPIC_MODULE.format(topic=topic))
        written.append((module.relative_to(root), f"wrote the topic module {topic!r}"))
        section = section or "lit"
    relative = module.relative_to(root)
    with module.open("a") as out:
        out.write(CLAIM_BLOCK.format(mark=SCAFFOLD_MARK.format(id=claim_id), id=claim_id, section=section,
                                     setting=f"{_camel(name)}Setting", measure=f"measure_{name}",
                                     rhs=f"{name}_bound", path=relative))
    written.append((relative, f"appended the scaffold of {claim_id} (section {section})"))
    return written

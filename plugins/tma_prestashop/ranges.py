"""Version constraints of advisories: a small comparator-set matcher.

Grammar (what Friends of Presta's "Impacted release" lines and Composer ranges say):

- a constraint is one or more comparator sets joined by `||` (or a single `|`): any set matches;
- a set is comparators separated by commas and/or spaces: every comparator must hold;
- a comparator is an operator (`<`, `<=`, `>`, `>=`, `=`, `==`, `!=`) and a version, with or
  without a space in between; a bare version means `=`; `*` matches every version;
- `A - B` inside a set is the inclusive range `>=A <=B`.

Examples: `<= 3.4.0`, `>= 1.0.0, < 3.4.1`, `>=8.0.0 <8.0.4 || <1.7.8.9`, `2.1.0`.

Versions compare with `tma_agent.versions.Version` (1.7.8 == 1.7.8.0). Anything else in the
text is an error: a constraint we cannot read must never silently match nothing.
(This stays here until `tma_agent.versions` offers the same matcher.)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from tma_agent.versions import Version

__all__ = ["Constraint", "parse_constraint"]

_OPS: dict[str, Callable[[Version, Version], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}
_HYPHEN = re.compile(r"(?<![<>=!\w.])(v?\d[\w.+-]*?)\s+-\s+(v?\d[\w.+-]*)")
_COMPARATOR = re.compile(r"(<=|>=|==|!=|<|>|=)?\s*(\*|v?\d[\w.+-]*)")
_SEPARATORS = re.compile(r"^[\s,]*$")

Comparator = tuple[Callable[[Version, Version], bool], Version | None]


@dataclass(frozen=True)
class Constraint:
    text: str
    sets: tuple[tuple[Comparator, ...], ...]

    def matches(self, version: Version) -> bool:
        return any(
            all(bound is None or op(version, bound) for op, bound in comparators)
            for comparators in self.sets
        )


def _parse_set(text: str, whole: str) -> tuple[Comparator, ...]:
    text = _HYPHEN.sub(r">=\1 <=\2", text)
    comparators: list[Comparator] = []
    leftover = _COMPARATOR.sub(" ", text)
    if not _SEPARATORS.match(leftover):
        raise ValueError(f"cannot read version constraint {whole!r}")
    for match in _COMPARATOR.finditer(text):
        op, raw = match.group(1) or "=", match.group(2)
        if raw == "*":
            comparators.append((operator.eq, None))
            continue
        try:
            comparators.append((_OPS[op], Version(raw)))
        except ValueError:
            raise ValueError(f"bad version {raw!r} in constraint {whole!r}") from None
    if not comparators:
        raise ValueError(f"empty comparator set in constraint {whole!r}")
    return tuple(comparators)


def parse_constraint(text: str) -> Constraint:
    """Parse `text` (see the module docstring); ValueError names the text when unreadable."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an empty version constraint")
    sets = tuple(_parse_set(part, text) for part in re.split(r"\|\|?", text))
    return Constraint(text, sets)

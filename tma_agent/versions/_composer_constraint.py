"""Composer version constraints (`^2.4`, `~1.2`, `1.0 - 2.0`, `>=2.4.0,<2.4.3-p3 || =2.4.4`).

Parsed the way composer/semver's VersionParser parses them, into an OR of AND groups of
comparisons against normalised versions, so `^2.4.7` is `>= 2.4.7.0-dev, < 3.0.0.0-dev` and
matches `2.4.7-p3` exactly as Composer would. The same parser reads Packagist's
`affectedVersions` strings. A constraint is data: it is only ever matched, never evaluated.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tma_agent.versions._composer import (
    MODIFIER,
    normalize_composer,
    php_version_compare,
    stability,
)

__all__ = ["Comparison", "Constraint", "parse_constraint", "satisfies"]

_FLAGS = re.IGNORECASE | re.ASCII
_OR_SPLIT = re.compile(r"\s*\|\|?\s*")
# composer's `(?<!^|as|[=>< ,])` written as three lookbehinds: Python wants fixed widths.
_AND_SPLIT = re.compile(r"(?<!^)(?<!as)(?<![=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)")
_ALIAS = re.compile(r"^([^,\s]++) ++as ++([^,\s]++)$", re.ASCII)
_STABILITY_FLAG = re.compile(r"^([^,\s]*?)@(stable|RC|beta|alpha|dev)$", _FLAGS)
_REFERENCE = re.compile(r"^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$", _FLAGS)
_MATCH_ALL = re.compile(r"^(v)?[xX*](\.[xX*])*$", _FLAGS)
# Groups: 1-4 release numbers, 5-7 stability word, its number, -dev; 8 a `.x-dev` tail.
_VERSION = (
    r"v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.(\d++))?(?:"
    + MODIFIER
    + r"|\.([xX*][.-]?dev))(?:\+[^\s]+)?"
)
_TILDE = re.compile(r"^~>?" + _VERSION + "$", _FLAGS)
_CARET = re.compile(r"^\^" + _VERSION + "($)", _FLAGS)
_X_RANGE = re.compile(r"^v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.[xX*])++$", re.ASCII)
_HYPHEN = re.compile(r"^(?P<low>" + _VERSION + r") +- +(?P<high>" + _VERSION + r")($)", _FLAGS)
_OPERATOR = re.compile(r"^(<>|!=|>=?|<=?|==?)?\s*(.*)", re.ASCII | re.DOTALL)
_HAS_MODIFIER = re.compile("-" + MODIFIER + "$", re.ASCII)
_DEV_RECOVERABLE = re.compile(r"^[0-9a-zA-Z-./]+$", re.ASCII)
_CANONICAL_OPERATORS = {"=": "==", "==": "==", "<>": "!=", "!=": "!="}


@dataclass(frozen=True)
class Comparison:
    """One `operator normalised-version` test, e.g. `< 2.4.3.0-patch3`."""

    operator: str
    version: str

    def allows(self, normalized: str) -> bool:
        candidate, bound, op = normalized, self.version, self.operator
        candidate_branch, bound_branch = candidate.startswith("dev-"), bound.startswith("dev-")
        # Composer's rule: a named branch only equals (or differs from) itself.
        if op == "!=" and (candidate_branch or bound_branch):
            return candidate != bound
        if candidate_branch or bound_branch:
            return op == "==" and candidate == bound
        order = php_version_compare(candidate, bound)
        return {
            "==": order == 0,
            "!=": order != 0,
            "<": order < 0,
            "<=": order <= 0,
            ">": order > 0,
            ">=": order >= 0,
        }[op]

    def __str__(self) -> str:
        return f"{self.operator} {self.version}"


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: it matches when every comparison of one alternative allows the
    version. An empty alternative matches everything (`*`)."""

    text: str
    alternatives: tuple[tuple[Comparison, ...], ...]

    def matches(self, version: str) -> bool:
        """Whether `version` (any form Composer accepts) is inside; ValueError if no version."""
        normalized = normalize_composer(version)
        return self.matches_normalized(normalized)

    def matches_normalized(self, normalized: str) -> bool:
        return any(all(c.allows(normalized) for c in group) for group in self.alternatives)

    def __str__(self) -> str:
        groups = [
            f"[{' '.join(map(str, group))}]" if len(group) > 1 else str(group[0]) if group else "*"
            for group in self.alternatives
        ]
        return " || ".join(groups)


@functools.lru_cache(maxsize=4096)
def parse_constraint(text: str) -> Constraint:
    """Parse a Composer constraint; ValueError naming the text when Composer would refuse it."""
    alternatives = []
    for alternative in _OR_SPLIT.split(text.strip()):
        group: list[Comparison] = []
        for part in _AND_SPLIT.split(alternative):
            try:
                group.extend(_parse_single(part))
            except ValueError as exc:
                raise ValueError(f"invalid version constraint {text!r}: {exc}") from None
        alternatives.append(tuple(group))
    return Constraint(text, _collapse_contiguous(alternatives))


def _is_range(group: tuple[Comparison, ...]) -> bool:
    return len(group) == 2 and group[0].operator == ">=" and group[1].operator == "<"


def _collapse_contiguous(
    alternatives: list[tuple[Comparison, ...]],
) -> tuple[tuple[Comparison, ...], ...]:
    """Composer's `MultiConstraint::create` merges neighbouring OR groups whose ranges touch
    (`[>= 1 < 2] || [>= 2 < 3]` -> `[>= 1 < 3]`) without checking that the result is still a
    range: `^3 || 4 - 0` becomes `[>= 3 < 1]`, which matches nothing. We merge the same way so
    that what we call satisfied is what Composer would install."""
    if len(alternatives) < 2:
        return tuple(alternatives)
    merged: list[tuple[Comparison, ...]] = []
    left = alternatives[0]
    for right in alternatives[1:]:
        if _is_range(left) and _is_range(right) and left[1].version == right[0].version:
            left = (left[0], right[1])
        else:
            merged.append(left)
            left = right
    merged.append(left)
    return tuple(merged)


def satisfies(version: str, constraint: str | Constraint) -> bool:
    """Whether `version` matches `constraint`; ValueError when either is not Composer's."""
    parsed = parse_constraint(constraint) if isinstance(constraint, str) else constraint
    return parsed.matches(version)


def _parse_single(text: str) -> list[Comparison]:
    """One AND term: the comparisons it stands for (none at all for `*`)."""
    alias = _ALIAS.match(text)
    if alias:
        text = alias.group(1)
    stability_modifier = None
    flag = _STABILITY_FLAG.match(text)
    if flag:
        text = flag.group(1) or "*"
        if flag.group(2) != "stable":
            stability_modifier = flag.group(2)
    reference = _REFERENCE.match(text)
    if reference:  # `1.0.x-dev#abc123`: a commit pin only Composer's installer cares about
        text = reference.group(1)
    match_all = _MATCH_ALL.match(text)
    if match_all:
        if match_all.group(1) or match_all.group(2):
            return [Comparison(">=", "0.0.0.0-dev")]
        return []
    for parse in (_tilde, _caret, _x_range, _hyphen):
        comparisons = parse(text)
        if comparisons is not None:
            return comparisons
    return [_basic(text, stability_modifier)]


def _position(match: re.Match[str], *groups: int) -> int:
    """1-based index of the last release number present among `groups`."""
    return max((i for i, g in enumerate(groups, 1) if match.group(g)), default=1)


def _bump(numbers: list[str | None], position: int, increment: int = 0) -> str:
    """Pad the release numbers after `position` with 0 and add `increment` at `position`."""
    out = []
    for index, number in enumerate(numbers, 1):
        if index > position:
            out.append("0")
        elif index == position and increment:
            out.append(str(int(number or 0) + increment))
        else:
            out.append(number or "0")
    return ".".join(out)


def _unsuffixed(match: re.Match[str]) -> bool:
    """No stability word, no -dev, no .x-dev: the range then starts at the -dev of its bound."""
    return not (match.group(5) or match.group(7) or match.group(8))


def _tilde(text: str) -> list[Comparison] | None:
    match = _TILDE.match(text)
    if not match:
        return None
    if text.startswith("~>"):
        raise ValueError('invalid operator "~>", use "~"')
    position = _position(match, 1, 2, 3, 4) + (1 if match.group(8) else 0)
    low = normalize_composer(text[1:] + ("-dev" if _unsuffixed(match) else ""))
    high = _bump([match.group(i) for i in (1, 2, 3, 4)], max(1, position - 1), 1)
    return [Comparison(">=", low), Comparison("<", high + "-dev")]


def _caret(text: str) -> list[Comparison] | None:
    match = _CARET.match(text)
    if not match:
        return None
    major, minor, patch = match.group(1, 2, 3)
    # The left-most non-zero number is the one that may not change.
    position = 1 if major != "0" or not minor else 2 if minor != "0" or not patch else 3
    low = normalize_composer(text[1:] + ("-dev" if _unsuffixed(match) else ""))
    high = _bump([match.group(i) for i in (1, 2, 3, 4)], position, 1)
    return [Comparison(">=", low), Comparison("<", high + "-dev")]


def _x_range(text: str) -> list[Comparison] | None:
    match = _X_RANGE.match(text)
    if not match:
        return None
    numbers: list[str | None] = [*match.group(1, 2, 3), None]
    position = _position(match, 1, 2, 3)
    low = _bump(numbers, position) + "-dev"
    high = Comparison("<", _bump(numbers, position, 1) + "-dev")
    return [high] if low == "0.0.0.0-dev" else [Comparison(">=", low), high]


def _hyphen(text: str) -> list[Comparison] | None:
    match = _HYPHEN.match(text)
    if not match:
        return None
    # Group numbers: `low` is 1 (its parts 2-9), `high` is 10 (its parts 11-18).
    low_suffix = "" if (match.group(6) or match.group(8) or match.group(9)) else "-dev"
    low = Comparison(">=", normalize_composer(match.group("low")) + low_suffix)
    high_text = match.group("high")
    high_version = normalize_composer(high_text)  # validates the upper bound either way
    exact = match.group(12) and match.group(13)
    if exact or match.group(15) or match.group(17) or match.group(18):
        return [low, Comparison("<=", high_version)]
    # A partial upper bound (`- 2.1`) includes all of 2.1.*.
    numbers = [match.group(i) for i in (11, 12, 13, 14)]
    position = 2 if match.group(12) else 1
    return [low, Comparison("<", _bump(numbers, position, 1) + "-dev")]


def _basic(text: str, stability_modifier: str | None) -> Comparison:
    match = _OPERATOR.match(text)
    if match is None:  # unreachable: the pattern matches any string
        raise ValueError(f"invalid version constraint {text!r}")
    operator, rest = match.group(1) or "=", match.group(2)
    try:
        version = normalize_composer(rest)
    except ValueError:
        # `foo-dev` stands for the branch `dev-foo` unless an operator makes it a range bound.
        if rest.endswith("-dev") and _DEV_RECOVERABLE.match(rest):
            version = normalize_composer("dev-" + rest[:-4])
        else:
            raise
    if operator not in ("=", "==") and stability_modifier and stability(version) == "stable":
        version += "-" + stability_modifier
    elif (
        operator in ("<", ">=")
        and not _HAS_MODIFIER.search(rest.lower())
        and not rest.startswith("dev-")
    ):
        # `<2.0` excludes 2.0's pre-releases, `>=2.0` includes them: bound at 2.0's -dev.
        version += "-dev"
    return Comparison(_CANONICAL_OPERATORS.get(operator, operator), version)

"""npm ranges and `satisfies`, desugared exactly as node-semver's `classes/range.js` does.

The same string pipeline as upstream (hyphen ranges, operator/tilde/caret trimming, `^`/`~`/
x-range replacement, `>=0.0.0` as "any"), so odd inputs (`==1.2.3`, `1.x.2`) are refused alike.
Unlike node-semver, an invalid range or version raises ValueError instead of quietly not
matching: a broken advisory or lockfile must be reported, never read as "not vulnerable".

The pre-release rule: a version with a pre-release tag only satisfies a comparator set when one
of its comparators carries a pre-release on the same major.minor.patch (`>=1.2.3-beta.1` admits
`1.2.3-beta.2`, never `1.3.0-alpha`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tma_agent.versions._npm import (
    BUILD,
    FULL_PLAIN,
    NUMERIC_ID,
    PRERELEASE,
    NpmVersion,
    ascii_regex,
)

__all__ = ["NpmRange", "max_satisfying", "npm_satisfies"]

_LOOSE_PRE_ID = r"(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|\d+)"
_LOOSE_PLAIN = rf"[v=\s]*(\d+)\.(\d+)\.(\d+)(?:-?({_LOOSE_PRE_ID}(?:\.{_LOOSE_PRE_ID})*))?{BUILD}?"
_XID = rf"{NUMERIC_ID}|x|X|\*"
_XRANGE_PLAIN = rf"[v=\s]*({_XID})(?:\.({_XID})(?:\.({_XID})(?:{PRERELEASE})?{BUILD}?)?)?"
_GTLT = r"((?:<|>)?=?)"


_COMPARATOR = ascii_regex(rf"{_GTLT}\s*({FULL_PLAIN})|")
_BUILD_STRIP = ascii_regex(BUILD)
_HYPHEN = ascii_regex(rf"^\s*({_XRANGE_PLAIN})\s+-\s+({_XRANGE_PLAIN})\s*$")
_COMPARATOR_TRIM = ascii_regex(rf"(\s*){_GTLT}\s*({_LOOSE_PLAIN}|{_XRANGE_PLAIN})")
_TILDE_TRIM = ascii_regex(r"(\s*)(?:~>?)\s+")
_CARET_TRIM = ascii_regex(r"(\s*)\^\s+")
_TILDE = ascii_regex(rf"~>?{_XRANGE_PLAIN}")
_CARET = ascii_regex(rf"\^{_XRANGE_PLAIN}")
_XRANGE = ascii_regex(rf"{_GTLT}\s*{_XRANGE_PLAIN}")
_STAR = ascii_regex(r"(<|>)?=?\s*\*")
_GTE0 = ascii_regex(r"\s*>=\s*0\.0\.0\s*")


@dataclass(frozen=True)
class _Comparator:
    operator: str  # "", "<", "<=", ">", ">="; "" with version None means any version
    version: NpmVersion | None

    def __str__(self) -> str:
        return "" if self.version is None else self.operator + str(self.version)

    def test(self, version: NpmVersion) -> bool:
        return self.version is None or _OPERATORS[self.operator](version, self.version)


_OPERATORS: dict[str, Callable[[NpmVersion, NpmVersion], bool]] = {
    "": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _is_x(part: str | None) -> bool:
    return not part or part.lower() == "x" or part == "*"


def _hyphen(match: re.Match[str]) -> str:
    fr, f_major, f_minor, f_patch = match.group(1, 2, 3, 4)
    to, t_major, t_minor, t_patch, t_pre = match.group(7, 8, 9, 10, 11)
    if _is_x(f_major):
        low = ""
    elif _is_x(f_minor):
        low = f">={f_major}.0.0"
    elif _is_x(f_patch):
        low = f">={f_major}.{f_minor}.0"
    else:
        low = f">={fr}"
    if _is_x(t_major):
        high = ""
    elif _is_x(t_minor):
        high = f"<{int(t_major) + 1}.0.0-0"
    elif _is_x(t_patch):
        high = f"<{t_major}.{int(t_minor) + 1}.0-0"
    elif t_pre:
        high = f"<={t_major}.{t_minor}.{t_patch}-{t_pre}"
    else:
        high = f"<={to}"
    return f"{low} {high}".strip()


def _tilde(major: str, minor: str | None, patch: str | None, pre: str | None) -> str:
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if _is_x(patch):
        return f">={major}.{minor}.0 <{major}.{int(minor or 0) + 1}.0-0"
    low = f">={major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    return f"{low} <{major}.{int(minor or 0) + 1}.0-0"


def _caret(major: str, minor: str | None, patch: str | None, pre: str | None) -> str:
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if _is_x(patch):
        upper = f"{major}.{int(minor or 0) + 1}.0-0" if major == "0" else f"{int(major) + 1}.0.0-0"
        return f">={major}.{minor}.0 <{upper}"
    low = f">={major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    if major != "0":
        return f"{low} <{int(major) + 1}.0.0-0"
    if minor != "0":
        return f"{low} <0.{int(minor or 0) + 1}.0-0"
    return f"{low} <0.0.{int(patch or 0) + 1}-0"


def _xrange(token: str, match: re.Match[str]) -> str:
    gtlt, major, minor, patch = match.group(1, 2, 3, 4)
    if (_is_x(major) and not _is_x(minor)) or (_is_x(minor) and patch and not _is_x(patch)):
        return token  # `x.1`, `1.x.2`: left as is, refused as a comparator
    x_major = _is_x(major)
    x_minor = x_major or _is_x(minor)
    any_x = x_minor or _is_x(patch)
    if gtlt == "=" and any_x:
        gtlt = ""
    if x_major:
        return "<0.0.0-0" if gtlt in (">", "<") else "*"
    if gtlt and any_x:
        numbers = [int(major), 0 if x_minor else int(minor or 0), 0]
        if gtlt == ">":
            gtlt = ">="
            numbers = [numbers[0] + 1, 0, 0] if x_minor else [numbers[0], numbers[1] + 1, 0]
        elif gtlt == "<=":
            gtlt = "<"
            numbers = [numbers[0] + 1, 0, 0] if x_minor else [numbers[0], numbers[1] + 1, 0]
        return gtlt + ".".join(map(str, numbers)) + ("-0" if gtlt == "<" else "")
    if x_minor:
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if any_x:
        return f">={major}.{minor}.0 <{major}.{int(minor or 0) + 1}.0-0"
    return token


def _desugar(token: str) -> str:
    """One space-free token of a comparator set -> space-separated plain comparators."""
    if match := _CARET.fullmatch(token):
        token = _caret(*match.group(1, 2, 3, 4))
    elif match := _TILDE.fullmatch(token):
        token = _tilde(*match.group(1, 2, 3, 4))
    elif match := _XRANGE.fullmatch(token):
        token = _xrange(token, match)
    return _STAR.sub("", token, count=1)


def _comparator(text: str, whole: str) -> _Comparator:
    match = _COMPARATOR.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an npm range: {whole!r} (invalid comparator {text!r})")
    if not match[2]:
        return _Comparator("", None)
    operator = "" if match[1] == "=" else match[1]
    return _Comparator(operator, NpmVersion(match[2]))


def _parse_set(text: str, whole: str) -> tuple[_Comparator, ...]:
    text = _BUILD_STRIP.sub("", text)
    text = _HYPHEN.sub(_hyphen, text, count=1)
    text = _COMPARATOR_TRIM.sub(r"\1\2\3", text)
    text = _TILDE_TRIM.sub(r"\1~", text)
    text = _CARET_TRIM.sub(r"\1^", text)
    pieces = " ".join(_desugar(token) for token in text.split(" ")).split() or [""]
    # Every piece is parsed (and may be refused) before the null-set shortcut, as upstream.
    comparators = [_comparator("" if _GTE0.fullmatch(p) else p, whole) for p in pieces]
    unique: dict[str, _Comparator] = {}
    for comparator in comparators:
        if str(comparator) == "<0.0.0-0":
            return (comparator,)  # matches nothing: the whole set is the null set
        unique.setdefault(str(comparator), comparator)
    if len(unique) > 1:
        unique.pop("", None)  # "any" adds nothing next to real comparators
    return tuple(unique.values())


def _test_set(comparators: tuple[_Comparator, ...], version: NpmVersion) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    # The pre-release rule (module docstring): opt-in per major.minor.patch.
    return any(
        c.version is not None and c.version.prerelease and c.version.release == version.release
        for c in comparators
    )


class NpmRange:
    """A range as package.json and advisories write it: `^1.2.3 || >=2.1.0 <3`, `1 - 2`..."""

    __slots__ = ("raw", "sets")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        whole = " ".join(raw.split())
        sets = [_parse_set(part.strip(), raw) for part in whole.split("||")]
        # Like node-semver: drop null sets next to others, and "any" swallows everything.
        if len(sets) > 1:
            sets = [s for s in sets if str(s[0]) != "<0.0.0-0"] or sets[:1]
        if len(sets) > 1:
            sets = next(([s] for s in sets if len(s) == 1 and s[0].version is None), sets)
        self.sets = tuple(sets)

    def __str__(self) -> str:
        """node-semver's `new Range(raw).range`: the desugared comparators."""
        return "||".join(" ".join(str(c) for c in s) for s in self.sets)

    def __repr__(self) -> str:
        return f"NpmRange({self.raw!r})"

    def test(self, version: NpmVersion | str) -> bool:
        parsed = version if isinstance(version, NpmVersion) else NpmVersion(version)
        return any(_test_set(s, parsed) for s in self.sets)


def npm_satisfies(version: NpmVersion | str, range_: NpmRange | str) -> bool:
    """node-semver's `satisfies()`; raises ValueError on an invalid version or range."""
    parsed = range_ if isinstance(range_, NpmRange) else NpmRange(range_)
    return parsed.test(version)


def max_satisfying(versions: Iterable[str], range_: NpmRange | str) -> str | None:
    """The highest of `versions` in `range_` (the first one on a tie), None when none is.
    Strings that are not versions are skipped, as node-semver's `maxSatisfying` does."""
    parsed = range_ if isinstance(range_, NpmRange) else NpmRange(range_)
    best: tuple[NpmVersion, str] | None = None
    for raw in versions:
        try:
            version = NpmVersion(raw)
        except ValueError:
            continue
        if parsed.test(version) and (best is None or best[0] < version):
            best = (version, raw)
    return best[1] if best else None

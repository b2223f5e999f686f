"""npm versions as node-semver (7.x, strict mode) reads and orders them.

SemVer 2.0 precedence: release numbers, then a release sorts after its pre-releases,
pre-release identifiers compare numerically when all digits (and numeric < text); build
metadata never counts. A leading `v` is tolerated, as node-semver does; anything else that is
not a strict SemVer raises ValueError. Ranges and `satisfies` live in `_npm_range`.
"""

from __future__ import annotations

import re
from functools import total_ordering

__all__ = [
    "BUILD",
    "FULL_PLAIN",
    "NUMERIC_ID",
    "PRERELEASE",
    "NpmVersion",
    "ascii_regex",
]

_MAX_LENGTH = 256
_MAX_SAFE_INTEGER = 2**53 - 1

# Pattern sources, shared with `_npm_range` (node-semver internal/re.js, strict forms).
NUMERIC_ID = r"0|[1-9]\d*"
_PRERELEASE_ID = rf"(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|{NUMERIC_ID})"
PRERELEASE = rf"(?:-({_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*))"
BUILD = r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))"
FULL_PLAIN = rf"v?({NUMERIC_ID})\.({NUMERIC_ID})\.({NUMERIC_ID}){PRERELEASE}?{BUILD}?"


def ascii_regex(pattern: str) -> re.Pattern[str]:
    # ASCII: `\d` must not match other scripts' digits, as in JavaScript.
    return re.compile(pattern, re.ASCII)


_VERSION = ascii_regex(FULL_PLAIN)


@total_ordering
class NpmVersion:
    """A strict SemVer 2.0 version (a leading `v` is tolerated, as node-semver does)."""

    __slots__ = ("build", "major", "minor", "patch", "prerelease", "raw")

    def __init__(self, raw: str) -> None:
        text = raw.strip()
        match = _VERSION.fullmatch(text) if len(text) <= _MAX_LENGTH else None
        if match is None:
            raise ValueError(f"not an npm version: {raw!r}")
        numbers = [int(n) for n in match.group(1, 2, 3)]
        if max(numbers) > _MAX_SAFE_INTEGER:
            raise ValueError(f"npm version number too large: {raw!r}")
        self.raw = raw
        self.major, self.minor, self.patch = numbers
        pre = match[4]
        self.prerelease: tuple[int | str, ...] = (
            tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
        )
        self.build: tuple[str, ...] = tuple(match[5].split(".")) if match[5] else ()

    def _key(self) -> tuple[tuple[int, int, int], tuple[object, ...]]:
        # A release (1,) sorts after its pre-releases (0, ...); numeric ids before text ids.
        pre: tuple[object, ...] = (
            (0, *((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease))
            if self.prerelease
            else (1,)
        )
        return (self.major, self.minor, self.patch), pre

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NpmVersion) and self._key() == other._key()

    def __lt__(self, other: NpmVersion) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        main = f"{self.major}.{self.minor}.{self.patch}"
        return main + "-" + ".".join(str(p) for p in self.prerelease) if self.prerelease else main

    def __repr__(self) -> str:
        return f"NpmVersion({self.raw!r})"

    @property
    def release(self) -> tuple[int, int, int]:
        return self.major, self.minor, self.patch

"""Generic versions: release numbers, then stability.

A version is compared by its release numbers, then its stability: a final release sorts after
its pre-releases (1.0.0-rc1 < 1.0.0) and `-pN` patch releases after the release they patch
(2.4.7 < 2.4.7-p1 < 2.4.8), as Magento numbers them.
"""

from __future__ import annotations

import re
from functools import total_ordering

__all__ = ["PRE_RELEASE_RANK", "Version", "compare", "is_stable", "parse"]

PRE_RELEASE_RANK = {
    "dev": 0,
    "alpha": 1,
    "a": 1,
    "beta": 2,
    "b": 2,
    "rc": 3,
    "": 4,
    "p": 5,
    "patch": 5,
}
_SPLIT = re.compile(r"^v?(?P<nums>\d+(?:\.\d+)*)(?:[-.+_]?(?P<tag>[A-Za-z]+)\.?(?P<tagnum>\d*))?")


@total_ordering
class Version:
    __slots__ = ("numbers", "raw", "tag", "tag_number")

    def __init__(self, raw: str) -> None:
        match = _SPLIT.match(raw.strip())
        if not match:
            raise ValueError(f"not a version: {raw!r}")
        self.raw = raw
        self.numbers = tuple(int(n) for n in match["nums"].split("."))
        tag = (match["tag"] or "").lower()
        self.tag = tag if tag in PRE_RELEASE_RANK else ""
        self.tag_number = int(match["tagnum"]) if match["tagnum"] else 0

    def _key(self) -> tuple[tuple[int, ...], int, int]:
        numbers = self.numbers
        while len(numbers) > 1 and numbers[-1] == 0:
            numbers = numbers[:-1]
        return numbers, PRE_RELEASE_RANK[self.tag], self.tag_number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Version({self.raw!r})"

    @property
    def is_stable(self) -> bool:
        return PRE_RELEASE_RANK[self.tag] >= PRE_RELEASE_RANK[""]


def parse(raw: str) -> Version:
    return Version(raw)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, the same as or newer than `b`."""
    va, vb = Version(a), Version(b)
    return (va > vb) - (va < vb)


def is_stable(raw: str) -> bool:
    return Version(raw).is_stable

"""Composer versions as composer/semver reads them: normalisation, order, stability, update level.

Composer compares *normalised* versions (`1.2` → `1.2.0.0`, `v2.0-beta.2` → `2.0.0.0-beta2`,
`2.4.7-p1` → `2.4.7.0-patch1`, `1.x-dev` → `1.9999999.9999999.9999999-dev`) with PHP's
`version_compare()`: numbers numerically, then `dev < alpha < beta < RC < (number) < patch`, so
`2.4.7 < 2.4.7-p1 < 2.4.8` and every pre-release sorts before its final release. Named branches
(`dev-main`) are not comparable in Composer; here they sort before every numbered version, by
name, so a list of versions always has a total order.
"""

from __future__ import annotations

import re
from functools import lru_cache, total_ordering
from itertools import zip_longest
from typing import Literal

__all__ = [
    "MODIFIER",
    "ComposerVersion",
    "Stability",
    "UpdateLevel",
    "normalize_branch",
    "normalize_composer",
    "php_sort_key",
    "php_version_compare",
    "stability",
    "update_level",
]

Stability = Literal["dev", "alpha", "beta", "RC", "stable"]
UpdateLevel = Literal["major", "minor", "patch"]

# The pieces below follow composer/semver's VersionParser regex for regex, so that a version
# string means here what it means to `composer`. re.ASCII: PHP's \d is ASCII-only.
MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_FLAGS = re.IGNORECASE | re.ASCII
_ALIAS = re.compile(r"^([^,\s]++) ++as ++([^,\s]++)$", re.ASCII)
_STABILITY_FLAG = re.compile(r"@(?:stable|RC|beta|alpha|dev)$", _FLAGS)
_BUILD_METADATA = re.compile(r"^([^,\s+]++)\+[^\s]++$", re.ASCII)
_CLASSICAL = re.compile(r"^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + MODIFIER + "$", _FLAGS)
_DATE_BASED = re.compile(
    r"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)" + MODIFIER + "$", _FLAGS
)
_DEV_SUFFIX = re.compile(r"(.*?)[.-]?dev$", _FLAGS)
_NUMERIC_BRANCH = re.compile(
    r"^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$", _FLAGS
)
_STABILITY_TAIL = re.compile(MODIFIER + r"(?:\+.*)?$", _FLAGS)
_STABILITY_WORDS: dict[str, Stability] = {
    "beta": "beta",
    "b": "beta",
    "alpha": "alpha",
    "a": "alpha",
    "rc": "RC",
}
_SHORT_STABILITIES = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}
#: Drupal's legacy contrib numbering (`8.x-1.2`): the core prefix is not part of the release.
_DRUPAL_CORE_PREFIX = re.compile(r"^\d+\.x-", re.ASCII)


#: Version strings up to this length are normalised once per process: a fleet's locks and feeds
#: name the same few thousand versions over and over (a hostile 1 MB "version" is not kept).
_MEMO_MAX_LENGTH = 100


def normalize_composer(version: str) -> str:
    """The normalised form Composer compares; ValueError naming the text when it is none."""
    if len(version) <= _MEMO_MAX_LENGTH:
        return _normalize_memo(version)
    return _normalize(version)


@lru_cache(maxsize=8192)
def _normalize_memo(version: str) -> str:
    return _normalize(version)  # a ValueError is not cached: raised again on the next call


def _normalize(version: str) -> str:
    text = version.strip()
    alias = _ALIAS.match(text)
    if alias:  # `1.0.x-dev as 1.0.0`: the real version is the left side
        text = alias.group(1)
    flag = _STABILITY_FLAG.search(text)
    if flag:
        text = text[: flag.start()]
    if text in ("master", "trunk", "default"):
        text = "dev-" + text
    if text[:4].lower() == "dev-":
        return "dev-" + text[4:]
    metadata = _BUILD_METADATA.match(text)
    if metadata:
        text = metadata.group(1)
    classical = _CLASSICAL.match(text)
    if classical:
        numbers = "".join([classical.group(1)] + [classical.group(i) or ".0" for i in (2, 3, 4)])
        return _with_modifier(numbers, classical.group(5, 6, 7))
    dated = _DATE_BASED.match(text)
    if dated:
        return _with_modifier(re.sub(r"\D", ".", dated.group(1)), dated.group(2, 3, 4))
    branch = _DEV_SUFFIX.match(text)
    if branch:
        normalized = normalize_branch(branch.group(1))
        # `feature-dev` is no version: only a numeric branch may end in -dev.
        if "dev-" not in normalized:
            return normalized
    raise ValueError(f"invalid version string {version!r}")


def _with_modifier(numbers: str, modifier: tuple[str | None, ...]) -> str:
    word, number, dev = modifier
    if word:
        if word == "stable":
            return numbers
        numbers += "-" + _SHORT_STABILITIES.get(word.lower(), word.lower())
        numbers += (number or "").lstrip(".-")
    return numbers + "-dev" if dev else numbers


def normalize_branch(name: str) -> str:
    """A branch name as Composer normalises it (`2.1` → `2.1.9999999.9999999-dev`)."""
    text = name.strip()
    match = _NUMERIC_BRANCH.match(text)
    if not match:
        return "dev-" + text
    parts = [group if group else ".x" for group in match.groups()]
    version = "".join(parts).replace("*", "x").replace("X", "x")
    return version.replace("x", "9999999") + "-dev"


def stability(version: str) -> Stability:
    """`dev`, `alpha`, `beta`, `RC` or `stable` (patch releases such as `-p1` are stable)."""
    text = re.sub(r"#.+$", "", version.strip())
    if text.startswith("dev-") or text.endswith("-dev"):
        return "dev"
    match = _STABILITY_TAIL.search(text.lower())
    if match is None:
        return "stable"
    word, _number, dev = match.groups()
    if dev:
        return "dev"
    return _STABILITY_WORDS.get(word or "", "stable")


# --- PHP's version_compare() ---------------------------------------------------------------
# PHP canonicalises (`-_+` → `.`, a dot between digits and letters), then compares part by part:
# numbers numerically, words by their rank below; a word against a number compares the word's
# rank with the number's (4). When one side runs out, the other's next part decides: a number
# makes it newer, a word compares its rank with 4. Encoding every part as (rank, number) and the
# end as (4, -1) turns that into plain tuple order, which is total and hashable.
_WORD_RANKS = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_NUMBER_RANK = 4
_END = (_NUMBER_RANK, -1)
_DIGITS = frozenset("0123456789")


def _word_rank(word: str) -> int:
    # PHP matches a word by prefix (`patch` is `p`); an unknown word sorts before `dev`.
    return next((rank for prefix, rank in _WORD_RANKS if word.startswith(prefix)), -1)


def _canonical_parts(version: str) -> list[str]:
    out = [version[0]] if version else []
    previous = version[:1]
    for char in version[1:]:
        boundary = (previous not in _DIGITS and previous != "." and char in _DIGITS) or (
            previous in _DIGITS and char not in _DIGITS and char != "."
        )
        if char in "-_+" or (not boundary and not (char.isascii() and char.isalnum())):
            if out[-1] != ".":
                out.append(".")
        else:
            if boundary and out[-1] != ".":
                out.append(".")
            out.append(char)
        previous = char
    return "".join(out).split(".")


def php_sort_key(version: str) -> tuple[tuple[int, int], ...]:
    """A key whose order is PHP's `version_compare()` order."""
    parts = [
        (_NUMBER_RANK, int(part)) if part[:1] in _DIGITS else (_word_rank(part), 0)
        for part in _canonical_parts(version)
    ]
    return (*parts, _END)


def php_version_compare(a: str, b: str) -> int:
    """-1, 0 or 1 like PHP's `version_compare($a, $b)` for non-empty strings."""
    key_a, key_b = php_sort_key(a), php_sort_key(b)
    return (key_a > key_b) - (key_a < key_b)


@total_ordering
class ComposerVersion:
    """A version as Composer orders it; equal when `version_compare` says so (`1.0` == `1.0.0`)."""

    __slots__ = ("_key", "normalized", "raw")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.normalized = normalize_composer(raw)
        self._key: tuple[int, str, tuple[tuple[int, int], ...]] = (
            (0, self.normalized, ()) if self.is_branch else (1, "", php_sort_key(self.normalized))
        )

    @property
    def is_branch(self) -> bool:
        """A named branch (`dev-main`): Composer never orders it against numbered versions."""
        return self.normalized.startswith("dev-")

    @property
    def stability(self) -> Stability:
        return stability(self.normalized)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComposerVersion) and self._key == other._key

    def __lt__(self, other: ComposerVersion) -> bool:
        return self._key < other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"ComposerVersion({self.raw!r})"


def _release_numbers(version: str) -> tuple[int, ...]:
    if len(version) <= _MEMO_MAX_LENGTH:
        return _release_numbers_memo(version)
    return _numbers(version)


@lru_cache(maxsize=8192)
def _release_numbers_memo(version: str) -> tuple[int, ...]:
    return _numbers(version)


def _numbers(version: str) -> tuple[int, ...]:
    text = _DRUPAL_CORE_PREFIX.sub("", version.strip())
    normalized = normalize_composer(text)
    if normalized.startswith("dev-"):
        raise ValueError(f"a branch has no release numbers: {version!r}")
    return tuple(int(part) for part in normalized.split("-", 1)[0].split("."))


def update_level(installed: str, target: str) -> UpdateLevel:
    """How big the step from `installed` to `target` is, by the first release number that
    differs: `major`, `minor`, else `patch` (also for `-pN` and pre-release changes). Drupal's
    `8.x-1.2` counts as `1.2`. ValueError for a branch or a string that is no version."""
    for index, (old, new) in enumerate(
        zip_longest(_release_numbers(installed), _release_numbers(target), fillvalue=0)
    ):
        if old != new:
            return "major" if index == 0 else "minor" if index == 1 else "patch"
    return "patch"

"""drupal.org version strings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tma_agent.versions._generic import PRE_RELEASE_RANK

__all__ = [
    "DrupalVersion",
    "composer_to_drupal_candidates",
    "drupal_branch_major",
    "drupal_major",
    "drupal_to_composer",
    "parse_drupal",
]


# --- Drupal version strings -------------------------------------------------------------------
# drupal.org numbers releases three ways: core `10.2.3` / D7 core `7.98`, legacy contrib with a
# core prefix `8.x-1.2` / `7.x-3.0-rc1`, and semver contrib `2.0.1`; dev snapshots end in
# `x-dev` (`8.x-1.x-dev`, `2.0.x-dev`). Composer (packages.drupal.org) renders `8.x-1.2` as
# `1.2.0`. These helpers follow core's ExtensionVersion so the agent agrees with the update
# module on what a "major" is.

_DRUPAL_VERSION = re.compile(
    r"^(?:(?P<prefix>\d+\.x)-)?(?P<major>\d+)\.(?P<minor>\d+|x)(?:\.(?P<patch>\d+|x))?"
    r"(?:-(?P<extra>[A-Za-z]+\d*))?$"
)
_COMPOSER_VERSION = re.compile(
    r"^v?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?:-(?P<extra>[A-Za-z]+\.?\d*))?$"
)


@dataclass(frozen=True)
class DrupalVersion:
    """A drupal.org version string split the way core's ExtensionVersion splits it."""

    raw: str
    #: `8.x` or `7.x` for legacy contrib numbers, None for core and semver contrib.
    core_prefix: str | None
    major: int
    #: The middle number of a three-part version (`2.0.1` → 0); None for `8.x-1.2` and `7.98`.
    minor: int | None
    #: The last number (`8.x-1.2` → 2, `10.2.3` → 3); None for a dev snapshot.
    patch: int | None
    #: `alpha1`, `beta2`, `rc1`, `dev`... or None for a stable release.
    extra: str | None

    @property
    def is_dev(self) -> bool:
        return self.extra == "dev"

    @property
    def is_stable(self) -> bool:
        return self.extra is None

    @property
    def without_extra(self) -> str:
        return self.raw[: -len(self.extra) - 1] if self.extra else self.raw

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """Order within one project: numbers, then dev < alpha < beta < rc < stable."""
        rank, number = 4, 0
        if self.extra:
            tag = re.match(r"([A-Za-z]+)(\d*)", self.extra)
            word = tag.group(1).lower() if tag else ""
            rank = PRE_RELEASE_RANK.get(word, 0) if word != "dev" else -1
            number = int(tag.group(2)) if tag and tag.group(2) else 0
        return (
            self.major,
            self.minor or 0,
            self.patch if self.patch is not None else -1,
            rank,
            number,
        )


def parse_drupal(raw: str) -> DrupalVersion:
    """Split a drupal.org version string; ValueError when it follows no drupal.org scheme."""
    # DrupalVersion is frozen: one per distinct string and process (feeds and info files
    # name the same versions for every site); a hostile long string is not kept.
    return _parse_memo(raw) if len(raw) <= 100 else _parse(raw)


@lru_cache(maxsize=8192)
def _parse_memo(raw: str) -> DrupalVersion:
    return _parse(raw)  # a ValueError is not cached: raised again on the next call


def _parse(raw: str) -> DrupalVersion:
    text = raw.strip()
    match = _DRUPAL_VERSION.match(text)
    if not match:
        raise ValueError(f"not a Drupal version: {raw!r}")
    prefix, minor, patch, extra = match["prefix"], match["minor"], match["patch"], match["extra"]
    if extra is None and "x" in (minor, patch):
        raise ValueError(f"not a Drupal version: {raw!r}")  # `1.x` without `-dev`
    if extra == "dev" and (patch or minor) != "x":
        raise ValueError(f"not a Drupal version: {raw!r}")
    if patch is None:  # two parts: `8.x-1.2`, `7.98`, `1.x-dev`
        return DrupalVersion(
            text, prefix, int(match["major"]), None, None if minor == "x" else int(minor), extra
        )
    return DrupalVersion(
        text,
        prefix,
        int(match["major"]),
        int(minor) if minor != "x" else None,
        None if patch == "x" else int(patch),
        extra,
    )


def drupal_major(raw: str) -> int:
    """The major version as the update module computes it (`8.x-1.2` → 1, `10.2.3` → 10)."""
    return parse_drupal(raw).major


def drupal_branch_major(branch: str) -> int:
    """The major of a supported branch such as `8.x-1.` or `2.0.` (ValueError when malformed)."""
    if not branch.endswith("."):
        raise ValueError(f"not a Drupal support branch: {branch!r}")
    return parse_drupal(branch + "0").major


def drupal_to_composer(raw: str) -> str:
    """The Composer version packages.drupal.org publishes for a drupal.org version
    (`8.x-1.2` → `1.2.0`, `8.x-1.2-beta1` → `1.2.0-beta1`, `2.0.1` unchanged)."""
    version = parse_drupal(raw)
    if version.core_prefix is None or version.minor is not None:
        return version.raw
    if version.is_dev:
        return f"{version.major}.x-dev"
    suffix = f"-{version.extra}" if version.extra else ""
    return f"{version.major}.{version.patch}.0{suffix}"


def composer_to_drupal_candidates(composer_version: str, *, core_prefix: str = "8.x") -> list[str]:
    """drupal.org versions a Composer version of a drupal/* contrib package may stand for, most
    likely first: `1.2.0` is either semver `1.2.0` or legacy `8.x-1.2`; `1.2.1` is only semver."""
    text = composer_version.strip().removeprefix("v")
    dev_branch = re.fullmatch(r"(\d+)\.x-dev", text)
    if dev_branch:  # packages.drupal.org renders the branch 8.x-1.x as `1.x-dev`
        return [text, f"{core_prefix}-{dev_branch.group(1)}.x-dev"]
    match = _COMPOSER_VERSION.match(text)
    if not match:
        return [text]
    extra = f"-{match['extra'].replace('.', '')}" if match["extra"] else ""
    semver = f"{match['major']}.{match['minor']}.{match['patch']}{extra}"
    if match["patch"] != "0":
        return [semver]
    legacy = f"{core_prefix}-{match['major']}.{match['minor']}{extra}"
    return [semver, legacy]

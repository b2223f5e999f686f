"""PrestaShop's version lines: which releases belong to one major and one minor line.

PrestaShop numbered its 1.x releases with four parts whose first TWO are the major: 1.6.1.24 is
major 1.6, minor line 1.6.1, patch 24; 1.7.8.11 is major 1.7, minor line 1.7.8. From 8.0 on the
numbers are semver: 8.1.7 is major 8, minor line 8.1. So:

- major line: the first two numbers of a 1.x version, the first number otherwise;
- minor line: the first three numbers of a 1.x version, the first two otherwise.

The autoupgrade module and the distribution API follow the same cut (`MAJOR_VERSION_STRING` in
app/AppKernel.php is `1.7` on 1.7 and `8` on 8.x).

1.6 and older are end of life (no release since 1.6.1.24, June 2021; no security fixes): a
site on them is `unsupported` whatever the distribution API lists.

Modules are semver-ish (`3.14.1`): an update within the same major.minor is a bugfix.
"""

from __future__ import annotations

from tma_agent.models import UpdateKind
from tma_agent.versions import Version

__all__ = [
    "END_OF_LIFE_BELOW",
    "is_end_of_life",
    "line_name",
    "major_line",
    "minor_line",
    "module_update_kind",
    "same_line",
    "try_version",
]

#: Major lines older than this one get no release at all any more.
END_OF_LIFE_BELOW: tuple[int, ...] = (1, 7)


def try_version(raw: str | None) -> Version | None:
    """A parsed version, or None for a missing or unreadable one (never an exception)."""
    if not raw:
        return None
    try:
        return Version(raw)
    except ValueError:
        return None


def _numbers(version: Version, width: int) -> tuple[int, ...]:
    numbers = version.numbers[:width]
    return numbers + (0,) * (width - len(numbers))


def major_line(version: Version) -> tuple[int, ...]:
    return _numbers(version, 2 if version.numbers[0] == 1 else 1)


def minor_line(version: Version) -> tuple[int, ...]:
    return _numbers(version, 3 if version.numbers[0] == 1 else 2)


def same_line(a: Version, b: Version, *, minor: bool = False) -> bool:
    line = minor_line if minor else major_line
    return line(a) == line(b)


def line_name(line: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in line)


def is_end_of_life(version: Version) -> bool:
    return major_line(version) < END_OF_LIFE_BELOW


def module_update_kind(installed: Version, target: Version) -> UpdateKind:
    """`none` when `target` is not newer, `bugfix` within one major.minor, else `feature`."""
    if target <= installed:
        return "none"
    return "bugfix" if _numbers(installed, 2) == _numbers(target, 2) else "feature"

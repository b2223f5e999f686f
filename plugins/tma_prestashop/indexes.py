"""The agency's module release index and module advisories: loaded from a URL or a file.

`sources.prestashop.modules` and `sources.prestashop.advisories` each name an `http(s)://` URL
(fetched through the run's shared Fetcher) or a file on the agent machine (`~` expanded,
`file://` accepted; give an absolute path, a relative one is read from the working directory).
Either way a document is read and parsed once per run, however many sites use it, and a broken
one is a `FeedError` naming the URL or file, which fails the sites that need it and no other.
The formats are in the package docstring (`tma_prestashop`) and the `*.example.json` files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from tma_agent.errors import FeedError
from tma_agent.models import Advisory
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher, FetchResult
from tma_agent.versions import Constraint, Version, parse_constraint
from tma_prestashop.lines import try_version

__all__ = [
    "ModuleAdvisory",
    "ModuleRelease",
    "load_advisories",
    "load_modules_index",
    "parse_advisories",
    "parse_modules_index",
]

_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
_SEVERITIES = ("critical", "high", "medium", "low", "none")


@dataclass(frozen=True)
class ModuleRelease:
    version: str
    parsed: Version
    date: str | None = None
    ps_min: Version | None = None
    ps_max: Version | None = None
    url: str | None = None

    def supports(self, core: Version | None) -> bool:
        """Whether the release declares the site's core version compatible (bounds inclusive)."""
        if core is None:
            return True
        return (self.ps_min is None or core >= self.ps_min) and (
            self.ps_max is None or core <= self.ps_max
        )


@dataclass(frozen=True)
class ModuleAdvisory:
    module: str
    constraint: Constraint
    advisory: Advisory


# --- Loading once per run (memoized in the run scope) ---------------------------------------


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _read_json(fetcher: Fetcher, location: str) -> Any:
    if _is_url(location):
        return fetcher.get(location).json()
    path = os.path.expanduser(location.removeprefix("file://"))
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        raise FeedError(location, f"cannot read file ({exc.strerror or exc})") from None
    # Parsed like a downloaded feed: one-line errors, nesting bounded.
    return FetchResult(location, 200, content).json()


def load_modules_index(
    run: RunScope, fetcher: Fetcher, location: str
) -> dict[str, list[ModuleRelease]]:
    return run.memo(
        ("prestashop", "modules", location),
        lambda: parse_modules_index(_read_json(fetcher, location), location),
    )


def load_advisories(run: RunScope, fetcher: Fetcher, location: str) -> list[ModuleAdvisory]:
    return run.memo(
        ("prestashop", "advisories", location),
        lambda: parse_advisories(_read_json(fetcher, location), location),
    )


# --- Parsing ---------------------------------------------------------------------------------


def _optional_str(entry: dict[str, Any], key: str, where: str, location: str) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FeedError(location, f"{where}: `{key}` must be a string")
    return value


def _optional_version(entry: dict[str, Any], key: str, where: str, location: str) -> Version | None:
    raw = _optional_str(entry, key, where, location)
    parsed = try_version(raw)
    if raw is not None and parsed is None:
        raise FeedError(location, f"{where}: unreadable `{key}` {raw!r}")
    return parsed


def _release(entry: Any, where: str, location: str) -> ModuleRelease:
    if not isinstance(entry, dict):
        raise FeedError(location, f"{where} is not an object")
    raw = entry.get("version")
    parsed = try_version(raw) if isinstance(raw, str) else None
    if parsed is None or not isinstance(raw, str):
        raise FeedError(location, f"{where}: no readable `version`")
    date = _optional_str(entry, "date", where, location)
    if date is not None:
        match = _ISO_DATE.match(date)
        if not match:
            raise FeedError(location, f"{where}: `date` {date!r} is not an ISO date")
        date = match.group(1)
    return ModuleRelease(
        raw,
        parsed,
        date,
        _optional_version(entry, "ps_min", where, location),
        _optional_version(entry, "ps_max", where, location),
        _optional_str(entry, "url", where, location),
    )


def parse_modules_index(data: Any, location: str) -> dict[str, list[ModuleRelease]]:
    """Module name -> its releases, newest first."""
    modules = data.get("modules") if isinstance(data, dict) else None
    if not isinstance(modules, dict):
        raise FeedError(location, "expected an object with a `modules` object")
    index = {}
    for name, module in modules.items():
        versions = module.get("versions") if isinstance(module, dict) else None
        if not isinstance(versions, list):
            raise FeedError(location, f"modules.{name}: expected a `versions` list")
        releases = [
            _release(e, f"modules.{name}.versions[{i}]", location) for i, e in enumerate(versions)
        ]
        index[name] = sorted(releases, key=lambda r: r.parsed, reverse=True)
    return index


def _severity(raw: str | None) -> str | None:
    # Friends of Presta write "high (8.8)": keep the word, the score is in the advisory page.
    if raw is None:
        return None
    word = raw.strip().split(" ", 1)[0].lower()
    return word if word in _SEVERITIES else raw.strip()


def parse_advisories(data: Any, location: str) -> list[ModuleAdvisory]:
    entries = data.get("advisories") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise FeedError(location, "expected a JSON array of advisories")
    parsed = []
    for index, entry in enumerate(entries):
        where = f"advisory #{index}"
        if not isinstance(entry, dict):
            raise FeedError(location, f"{where} is not an object")
        module, versions = entry.get("module"), entry.get("versions")
        if not isinstance(module, str) or not module or not isinstance(versions, str):
            raise FeedError(location, f"{where}: `module` and `versions` must be strings")
        try:
            constraint = parse_constraint(versions)
        except ValueError as exc:
            raise FeedError(location, f"{where} ({module}): {exc}") from None
        cve = _optional_str(entry, "cve", where, location)
        url = _optional_str(entry, "url", where, location)
        advisory_id = (
            _optional_str(entry, "id", where, location) or cve or url or f"{module}@{versions}"
        )
        advisory = Advisory(
            advisory_id,
            cve,
            _severity(_optional_str(entry, "severity", where, location)),
            url,
            _optional_str(entry, "title", where, location),
        )
        parsed.append(ModuleAdvisory(module, constraint, advisory))
    return parsed

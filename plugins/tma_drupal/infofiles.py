"""Read one extension info file: Drupal 8+ `*.info.yml` (YAML) or Drupal 7 `*.info` (INI-like).

Only the facts the agent needs are kept: the extension's type and the lines drupal.org's
packaging script appends (`version`, `project`, `datestamp`). A file that cannot be parsed gives
an `InfoFile` with `error` set instead of raising: one broken extension must not hide the rest.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

import yaml

from tma_agent.models import ComponentKind

__all__ = ["InfoFile", "parse_info_file"]

#: `key = value` lines of a Drupal 7 .info file; values may be quoted.
_D7_LINE = re.compile(r"""^\s*([A-Za-z_][\w]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^;\n]*?))\s*$""")
_KINDS: dict[str, ComponentKind] = {"module": "module", "theme": "theme", "profile": "profile"}


@dataclass(frozen=True)
class InfoFile:
    #: The extension's machine name (the file name without `.info.yml` / `.info`).
    machine_name: str
    kind: ComponentKind
    project: str | None
    version: str | None
    datestamp: int | None
    #: The file's path relative to the docroot.
    origin: str
    error: str | None = None


def parse_info_file(relative_path: str, content: str, *, drupal7: bool) -> InfoFile:
    suffix = ".info" if drupal7 else ".info.yml"
    machine_name = posixpath.basename(relative_path).removesuffix(suffix)
    fallback_kind = _kind_from_path(relative_path, machine_name)
    try:
        fields = _parse_d7(content) if drupal7 else _parse_yaml(content)
    except ValueError as exc:
        return InfoFile(machine_name, fallback_kind, None, None, None, relative_path, str(exc))
    kind = _KINDS.get(str(fields.get("type", "")), fallback_kind)
    datestamp = str(fields.get("datestamp", "")).strip()
    return InfoFile(
        machine_name=machine_name,
        kind=kind,
        project=_clean(fields.get("project")),
        version=_clean(fields.get("version")),
        datestamp=int(datestamp) if datestamp.isdigit() else None,
        origin=relative_path,
    )


def _parse_yaml(content: str) -> dict[str, object]:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"invalid YAML ({first_line})") from None
    if not isinstance(data, dict):
        raise ValueError("not a YAML mapping")
    return data


def _parse_d7(content: str) -> dict[str, object]:
    fields: dict[str, object] = {}
    for line in content.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        match = _D7_LINE.match(line)
        if match:  # array lines such as `dependencies[] = x` do not match and are not needed
            fields[match.group(1)] = next(g for g in match.groups()[1:] if g is not None)
    if "name" not in fields and "core" not in fields:
        raise ValueError("no name or core line")
    return fields


def _kind_from_path(relative_path: str, machine_name: str) -> ComponentKind:
    parts = relative_path.split("/")
    if "profiles" in parts and parts[-2:-1] == [machine_name] and len(parts) <= 4:
        return "profile"
    if "themes" in parts:
        return "theme"
    return "module"


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    # Core modules in a git checkout say `version: VERSION`: no packaged version there.
    return text if text and text != "VERSION" else None

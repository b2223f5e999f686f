"""Read one extension info file: Drupal 8+ `*.info.yml` (YAML) or Drupal 7 `*.info` (INI-like).

Only the facts the agent needs are kept: the extension's type and the lines drupal.org's
packaging script appends (`version`, `project`, `datestamp`). A file that cannot be parsed gives
an `InfoFile` with `error` set instead of raising: one broken extension must not hide the rest.

Info files are hostile input with a bounded cost: a file over `MAX_INFO_BYTES` is refused
before parsing, YAML anchors and aliases are refused (Drupal never needs them, and a 512-byte
"billion laughs" would expand to gigabytes), and nesting deeper than `MAX_INFO_DEPTH` is refused
(a 5,000-deep file would otherwise end in a RecursionError). The file is read as a stream of
libyaml events, never composed into nodes: ~10x faster than PyYAML's pure-Python loader.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

import yaml

from tma_agent.models import ComponentKind

__all__ = [
    "MAX_INFO_BYTES",
    "MAX_INFO_DEPTH",
    "InfoFile",
    "ParsedInfoFiles",
    "parse_info_file",
    "unreadable_info_file",
]

#: Real info files weigh a few KiB (core's largest is under 2 KiB); anything far larger is not one.
MAX_INFO_BYTES = 64 * 1024
#: Drupal's own info files nest three levels (`libraries-override` maps of lists).
MAX_INFO_DEPTH = 16

#: `key = value` lines of a Drupal 7 .info file; the value is read by `_d7_value` (a single
#: regex for both would backtrack quadratically on a long line of spaces).
_D7_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(.*)$")
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


def unreadable_info_file(relative_path: str, reason: str, *, drupal7: bool) -> InfoFile:
    """An info file the host found but did not read (`FileSet.problems`), kept with `reason`."""
    machine_name = posixpath.basename(relative_path).removesuffix(
        ".info" if drupal7 else ".info.yml"
    )
    kind = _kind_from_path(relative_path, machine_name)
    return InfoFile(machine_name, kind, None, None, None, relative_path, reason)


def parse_info_file(relative_path: str, content: str, *, drupal7: bool) -> InfoFile:
    suffix = ".info" if drupal7 else ".info.yml"
    machine_name = posixpath.basename(relative_path).removesuffix(suffix)
    fallback_kind = _kind_from_path(relative_path, machine_name)
    try:
        size = len(content.encode("utf-8", errors="surrogateescape"))
        if size > MAX_INFO_BYTES:
            raise ValueError(f"{size} bytes, over the {MAX_INFO_BYTES} an info file may weigh")
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


class ParsedInfoFiles:
    """`parse_info_file` once per run for each distinct file: drupal.org packages info files,
    so a fleet's sites hold the same few hundred byte for byte (one run scope's instance is
    shared by every site: `site.run.memo`). The contents kept as keys are capped, so a fleet
    of distinct files costs bounded memory and parses the rest as before."""

    #: Characters of content kept as keys, at most (a few thousand real info files).
    MAX_CHARS = 4 * 1024 * 1024

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, bool], InfoFile] = {}
        self._chars = 0

    def parse(self, relative_path: str, content: str, *, drupal7: bool) -> InfoFile:
        key = (relative_path, content, drupal7)
        info = self._found.get(key)
        if info is None:
            info = parse_info_file(relative_path, content, drupal7=drupal7)
            # InfoFile is frozen: sharing it is safe. Threads racing here parse one file twice
            # and may overshoot the cap by a file or two, nothing worse.
            if self._chars + len(content) <= self.MAX_CHARS:
                self._chars += len(content)
                self._found[key] = info
        return info


class _Refused(ValueError):
    pass


# libyaml's parser (PyYAML's pure-Python one where it is missing: same events, ~15x slower)
# yields events one by one, so the refusals below cost no more than reading up to the bad spot.
_EventLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
#: The keys `parse_info_file` reads; only their values are resolved (the costly part).
_FIELDS = frozenset({"type", "project", "version", "datestamp"})
_PLAIN_TAGS = (None, "!", "tag:yaml.org,2002:str")


def _parse_yaml(content: str) -> dict[str, object]:
    """The wanted top-level `key: scalar` pairs of a one-document YAML mapping, read from events
    with no node tree built: anchors and aliases are refused (a 512-byte "billion laughs" would
    expand to gigabytes), and so is nesting deeper than MAX_INFO_DEPTH."""
    loader = None
    try:
        loader = _EventLoader(content)  # the pure-Python reader refuses NUL bytes right here
        return _top_level_scalars(loader)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(getattr(exc, "problem", "")):
            # libyaml's own limit (1,000 levels): met first when it buffers tokens ahead.
            raise _Refused(f"nested deeper than {MAX_INFO_DEPTH} levels") from None
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"invalid YAML ({first_line})") from None
    finally:
        if loader is not None:
            loader.dispose()


def _top_level_scalars(loader: yaml.SafeLoader) -> dict[str, object]:
    fields: dict[str, object] = {}
    depth, documents, is_mapping = 0, 0, False
    key: object = None
    expecting_key = True
    while (event := loader.get_event()) is not None:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ValueError("invalid YAML (expected a single document in the stream)")
            continue
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused("YAML anchors and aliases are not allowed in an info file")
        if isinstance(event, _CLOSE):
            depth -= 1
            if depth == 1:
                expecting_key = not expecting_key  # a nested value (or key) ended
            continue
        if not isinstance(event, (*_OPEN, yaml.ScalarEvent)):
            continue  # stream start/end, document end
        if depth >= MAX_INFO_DEPTH:
            raise _Refused(f"nested deeper than {MAX_INFO_DEPTH} levels")
        if depth == 0:
            is_mapping = isinstance(event, yaml.MappingStartEvent)
        elif depth == 1 and is_mapping and isinstance(event, yaml.ScalarEvent):
            if expecting_key:
                key = event.value if event.tag in _PLAIN_TAGS else _scalar(loader, event)
            elif key in _FIELDS:
                fields[str(key)] = _scalar(loader, event)
            expecting_key = not expecting_key
        elif depth == 1 and is_mapping and expecting_key:
            key = None  # a collection as a key: never one of the fields we read
        if isinstance(event, _OPEN):
            depth += 1
    if not is_mapping:
        raise ValueError("not a YAML mapping")
    return fields


def _scalar(loader: yaml.SafeLoader, event: yaml.ScalarEvent) -> object:
    """The value SafeLoader would give this scalar (`~` None, `1.10` 1.1, `true` True...)."""
    tag = event.tag
    if tag in _PLAIN_TAGS and event.style in ("'", '"'):
        return event.value  # quoted: always a string, as in nearly every packaged info file
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    node = yaml.ScalarNode(tag, event.value, style=event.style)
    return loader.construct_object(node, deep=True)


def _parse_d7(content: str) -> dict[str, object]:
    fields: dict[str, object] = {}
    for line in content.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        match = _D7_LINE.match(line)
        # Array lines such as `dependencies[] = x` do not match and are not needed.
        value = _d7_value(match.group(2)) if match else None
        if match and value is not None:
            fields[match.group(1)] = value
    if "name" not in fields and "core" not in fields:
        raise ValueError("no name or core line")
    return fields


def _d7_value(raw: str) -> str | None:
    """A quoted value's inside, or an unquoted value without `;` (PHP's INI comment mark)."""
    value = raw.strip()
    quote = value[:1]
    quoted = quote in ("'", '"') and len(value) >= 2 and value[-1] == quote
    if quoted and quote not in value[1:-1]:
        return value[1:-1]
    return None if ";" in value else value


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

"""YAML loading that remembers the line of every key, so errors can name `file:line`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tma_agent.errors import ConfigError

__all__ = ["LineMap", "format_loc", "load_yaml_with_lines"]

Loc = tuple[str | int, ...]


class LineMap:
    """Line numbers (1-based) of every mapping key and sequence item in a document."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[Loc, int] = {(): 1}

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of `loc`, or of its nearest ancestor present in the file."""
        key = tuple(loc)
        while key not in self.lines:
            key = key[:-1]
        return self.lines[key]

    def where(self, loc: Sequence[str | int]) -> str:
        return f"{self.path.name}:{self.line_of(loc)}"


def format_loc(loc: Sequence[str | int]) -> str:
    """`sites[2].environments.staging.host` from ('sites', 2, 'environments', ...)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, loc: Loc, lines: LineMap) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key == "<<":  # merge keys: their lines stay with the parent
                continue
            child = (*loc, key)
            if key in seen:
                raise ConfigError(
                    f"{lines.path.name}:{key_node.start_mark.line + 1}: {format_loc(child)}: "
                    "duplicate key"
                )
            seen.add(key)
            lines.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), lines)


def load_yaml_with_lines(path: Path) -> tuple[Any, LineMap]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: configuration is not UTF-8 text") from None
    lines = LineMap(path)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, lines
        _walk(node, (), lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(f"{path.name}:{line}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, lines

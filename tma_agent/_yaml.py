"""YAML loading that remembers the line of every key, so errors can name `file:line`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tma_agent.errors import ConfigError

__all__ = ["MAX_DEPTH", "MAX_NODES", "LineMap", "format_loc", "load_yaml_with_lines"]

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


#: Nodes a configuration may expand to once aliases are followed. A real fleet file of a
#: thousand sites is a few tens of thousands; an alias bomb is billions.
MAX_NODES = 200_000
#: Nesting a configuration never needs; deeper is refused before Python's stack runs out.
MAX_DEPTH = 64


class _Loader(yaml.SafeLoader):
    """Remembers where each alias in a sequence is written: the composed graph only keeps
    the anchored node, whose line is the anchor's."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.alias_lines: dict[tuple[int, int], int] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # A mapping passes its key node as `index` (the stubs say int): only items count here.
        if isinstance(index, int) and parent is not None and self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            self.alias_lines[(id(parent), index)] = mark.line + 1
        return super().compose_node(parent, index)


class _Walk:
    """Records the line of every key and item, refusing what aliases could make of a small
    file: a cycle (`a: &a [*a]`), or an expansion past MAX_NODES (the "billion laughs")."""

    def __init__(self, lines: LineMap, alias_lines: dict[tuple[int, int], int]) -> None:
        self.lines = lines
        self.alias_lines = alias_lines
        self.count = 0
        self.open: set[int] = set()
        self.top: tuple[Loc, int] = ((), 1)

    def _error(self, loc: Loc, line: int, message: str) -> ConfigError:
        return ConfigError(
            f"{self.lines.path.name}:{line}: {format_loc(loc) or '(top)'}: {message}"
        )

    def visit(self, node: yaml.Node, loc: Loc, line: int, *, record: bool = True) -> None:
        self.count += 1
        if len(loc) <= 1:
            self.top = (loc, line)  # an expansion is reported where its top-level key is
        if id(node) in self.open:
            raise self._error(loc, line, "recursive alias (a value that contains itself)")
        if self.count > MAX_NODES:
            raise self._error(*self.top, f"aliases expand to more than {MAX_NODES} values")
        if len(loc) > MAX_DEPTH:
            raise self._error(loc, line, f"nested more than {MAX_DEPTH} levels deep")
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, loc, record)
        else:
            for index, item in enumerate(node.value):
                child = (*loc, index)
                item_line = self.alias_lines.get((id(node), index), item.start_mark.line + 1)
                if record:
                    self.lines.lines[child] = item_line
                self.visit(item, child, item_line, record=record)
        self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, loc: Loc, record: bool) -> None:
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            key_line = key_node.start_mark.line + 1
            if key == "<<":  # merged keys keep the parent's lines, but they count
                self.visit(value_node, loc, key_line, record=False)
                continue
            child = (*loc, key)
            if key in seen:
                raise ConfigError(
                    f"{self.lines.path.name}:{key_line}: {format_loc(child)}: duplicate key"
                )
            seen.add(key)
            if record:
                self.lines.lines[child] = key_line
            self.visit(value_node, child, key_line, record=record)


def load_yaml_with_lines(path: Path) -> tuple[Any, LineMap]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: configuration is not UTF-8 text") from None
    lines = LineMap(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, lines
        _Walk(lines, loader.alias_lines).visit(node, (), 1)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(f"{path.name}:{line}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: invalid YAML: {exc}") from None
    except RecursionError:
        # PyYAML's parser recurses per nesting level: `[[[[...` thousands deep ends here.
        line = loader.get_mark().line + 1
        raise ConfigError(f"{path.name}:{line}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    return data, lines

"""Read plain values out of PHP settings files without ever running PHP.

Sites keep their database credentials in PHP (`settings.php`, `wp-config.php`, `env.php`,
`parameters.php`). Running that file would execute whatever a hostile or broken site put
there, so this module only tokenizes it and evaluates *literals*: strings, numbers, booleans,
null, `[...]` / `array(...)` and concatenations of those. Anything else (a function call, a
constant, a variable) becomes an `Unparsed` marker with its line, so a reader can say exactly
which value it could not use; a settings file is free to compute values the agent never needs.

Three shapes cover the stacks: assignments (`$databases['default']['default'] = [...]`),
`define('DB_NAME', '...')` calls and a file-level `return [...]`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tma_agent.apply._php_tokens import PhpSyntaxError, Token, tokenize
from tma_agent.errors import SiteTreeError

__all__ = [
    "PhpFile",
    "PhpSyntaxError",
    "Unparsed",
    "parse_php",
]

#: Deeper arrays than this are no settings file anyone wrote by hand.
_MAX_DEPTH = 32
_CLOSERS = {",", ")", "]", ";", "=>"}


@dataclass(frozen=True)
class Unparsed:
    """A value that is not a literal: where it is and what it starts with (code, never data)."""

    line: int
    start: str

    def describe(self) -> str:
        return f"line {self.line}: not a plain value (`{self.start}...`)"


class PhpFile:
    """The literal values a PHP file assigns, defines and returns, in file order."""

    def __init__(self, tokens: list[Token], path: str = "") -> None:
        self._tokens = tokens
        #: Named in errors met while evaluating (a value nested too deep, a broken array).
        self.path = path

    # -- what readers ask for ------------------------------------------------------------------
    def assigned(self, variable: str) -> Any:
        """The value `$variable` ends up with when every assignment to it (or to one of its
        keys, `$v['a']['b'] = ...`) is applied in file order; None when it is never assigned."""
        with self._naming_the_file():
            return self._assigned(variable)

    def defines(self) -> dict[str, Any]:
        """`define('NAME', value)` calls with a literal name: name -> value (the last wins)."""
        with self._naming_the_file():
            return self._defines()

    def returned(self) -> Any:
        """The value of the first `return` outside any block; None when there is none."""
        with self._naming_the_file():
            return self._returned()

    @contextlib.contextmanager
    def _naming_the_file(self) -> Iterator[None]:
        try:
            yield
        except PhpSyntaxError as exc:
            if not self.path:
                raise
            raise SiteTreeError(f"{self.path}: cannot read the settings: {exc}") from None

    def _assigned(self, variable: str) -> Any:
        value: Any = None
        for keys, assigned in self._assignments(variable):
            if not keys:
                value = assigned
                continue
            if not isinstance(value, dict):
                value = {}
            target = value
            for key in keys[:-1]:
                if not isinstance(target.get(key), dict):
                    target[key] = {}
                target = target[key]
            target[keys[-1]] = assigned
        return value

    def _defines(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        tokens = self._tokens
        for i, token in enumerate(tokens):
            if token.kind != "name" or token.text.lower() != "define":
                continue
            if i > 0 and tokens[i - 1].text in ("->", "::", "function", "?->"):
                continue
            if _text(tokens, i + 1) != "(":
                continue
            name, j = _Evaluator(tokens).expression(i + 2)
            if isinstance(name, str) and _text(tokens, j) == ",":
                found[name], _ = _Evaluator(tokens).expression(j + 1)
        return found

    def _returned(self) -> Any:
        depth = 0
        for i, token in enumerate(self._tokens):
            if token.text in ("{",):
                depth += 1
            elif token.text == "}":
                depth -= 1
            elif depth == 0 and token.kind == "name" and token.text.lower() == "return":
                return _Evaluator(self._tokens).expression(i + 1)[0]
        return None

    def _assignments(self, variable: str) -> Iterator[tuple[list[Any], Any]]:
        tokens = self._tokens
        for i, token in enumerate(tokens):
            if token.kind != "variable" or token.text != "$" + variable:
                continue
            keys: list[Any] = []
            j = i + 1
            evaluator = _Evaluator(tokens)
            while _text(tokens, j) == "[":
                key, j = evaluator.expression(j + 1)
                if _text(tokens, j) != "]":
                    break
                keys.append(key)
                j += 1
            if _text(tokens, j) != "=" or any(isinstance(k, Unparsed | dict) for k in keys):
                continue
            value, _ = evaluator.expression(j + 1)
            yield keys, value


def parse_php(source: str, *, path: str = "") -> PhpFile:
    """Tokenize `source`; `PhpSyntaxError` (with a line) when it is no PHP a reader can follow.
    `path` is named in the errors later evaluations meet."""
    return PhpFile(tokenize(source), path)


def _text(tokens: list[Token], index: int) -> str:
    return tokens[index].text if index < len(tokens) else ""


class _Evaluator:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens

    def expression(self, i: int, depth: int = 0) -> tuple[Any, int]:
        """The value of the expression starting at `i`, and the index just after it."""
        if depth > _MAX_DEPTH:
            raise PhpSyntaxError(self._line(i), f"arrays nested deeper than {_MAX_DEPTH}")
        value, i = self._operand(i, depth)
        while _text(self.tokens, i) == ".":
            right, i = self._operand(i + 1, depth)
            if isinstance(value, Unparsed):
                continue
            if isinstance(right, Unparsed):
                value = right
            elif isinstance(value, str | int | float) and isinstance(right, str | int | float):
                value = _php_string(value) + _php_string(right)
            else:
                value = Unparsed(self._line(i), "array . ")
        if _text(self.tokens, i) not in _CLOSERS and i < len(self.tokens):
            # An operator (`?:`, `+`, `??`...): not a literal, whatever came first.
            start = self.tokens[i].text
            return Unparsed(self._line(i), start), self._skip(i)
        return value, i

    def _operand(self, i: int, depth: int) -> tuple[Any, int]:
        if i >= len(self.tokens):
            raise PhpSyntaxError(self._line(i - 1), "unexpected end of file")
        token = self.tokens[i]
        if token.kind == "string":
            return token.value, i + 1
        if token.kind == "number":
            return token.value, i + 1
        if token.text == "-" and _kind(self.tokens, i + 1) == "number":
            return -self.tokens[i + 1].value, i + 2
        lowered = token.text.lower()
        if token.kind == "name" and lowered in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[lowered], i + 1
        if token.text == "[":
            return self._array(i + 1, "]", depth)
        if token.kind == "name" and lowered == "array" and _text(self.tokens, i + 1) == "(":
            return self._array(i + 2, ")", depth)
        return Unparsed(token.line, _code_start(token)), self._skip(i)

    def _array(self, i: int, closer: str, depth: int) -> tuple[Any, int]:
        items: dict[Any, Any] = {}
        position = 0
        while _text(self.tokens, i) != closer:
            value, i = self.expression(i, depth + 1)
            if _text(self.tokens, i) == "=>":
                key = value
                value, i = self.expression(i + 1, depth + 1)
                if isinstance(key, int) and not isinstance(key, bool):
                    position = max(position, key + 1)
                elif not isinstance(key, str):
                    return Unparsed(self._line(i), "[<computed key>"), self._skip_to(i, closer)
                items[key] = value
            else:
                items[position] = value
                position += 1
            if _text(self.tokens, i) == ",":
                i += 1
            elif _text(self.tokens, i) != closer:
                raise PhpSyntaxError(self._line(i), f"expected `,` or `{closer}` in an array")
        return items, i + 1

    def _skip(self, i: int) -> int:
        """The index of the first closer at this nesting level: past a value we cannot read."""
        depth = 0
        while i < len(self.tokens):
            text = self.tokens[i].text
            if depth == 0 and text in _CLOSERS:
                return i
            if text in ("(", "[", "{"):
                depth += 1
            elif text in (")", "]", "}"):
                depth -= 1
                if depth < 0:
                    return i
            i += 1
        return i

    def _skip_to(self, i: int, closer: str) -> int:
        end = self._skip(i)
        while end < len(self.tokens) and self.tokens[end].text != closer:
            end = self._skip(end + 1)
        return end + 1

    def _line(self, i: int) -> int:
        if not self.tokens:
            return 1
        return self.tokens[min(max(i, 0), len(self.tokens) - 1)].line


def _kind(tokens: list[Token], index: int) -> str:
    return tokens[index].kind if index < len(tokens) else ""


def _code_start(token: Token) -> str:
    # Code only, never a string's content: an error message must not show a password.
    if token.kind in ("name", "variable"):
        return re.sub(r"[^\w$\\]", "", token.text)[:40]
    return token.text if token.kind == "punct" else token.kind


def _php_string(value: str | int | float) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return value if isinstance(value, str) else str(value)

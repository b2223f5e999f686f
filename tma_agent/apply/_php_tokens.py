"""A tolerant PHP tokenizer: enough of PHP's lexer to find literals in settings files.

Comments, inline HTML and whitespace are dropped; strings are decoded (a double-quoted string
or heredoc with `$` interpolation becomes an `interpolated` token: not a literal). A file that
cannot be tokenized (an unterminated string or comment) raises `PhpSyntaxError` with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tma_agent.errors import TmaError

__all__ = ["PhpSyntaxError", "Token", "tokenize"]


class PhpSyntaxError(TmaError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Token:
    kind: str  # string, interpolated, number, name, variable, punct
    text: str  # the source text (for a string: its kind, never its content)
    value: Any
    line: int


_OPEN_TAG = re.compile(r"<\?(?:php\b|=)", re.I)
_SPACE = re.compile(r"\s+")
_NAME = re.compile(r"\\?[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*(?:\\[A-Za-z_][\w]*)*")
_VARIABLE = re.compile(r"\$[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|(?:\d[\d_]*)?\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*(?:[eE][+-]?\d+)?"
)
_HEREDOC = re.compile(r"<<<[ \t]*(['\"]?)([A-Za-z_]\w*)\1\r?\n")
_PUNCT = sorted(
    [
        "=>",
        "===",
        "!==",
        "==",
        "!=",
        "<=>",
        "<=",
        ">=",
        "**",
        "??",
        "??=",
        "?->",
        "->",
        "::",
        ".=",
        "+=",
        "-=",
        "*=",
        "/=",
        "++",
        "--",
        "&&",
        "||",
        "<<",
        ">>",
        "...",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ";",
        ".",
        "=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "!",
        "?",
        ":",
        "<",
        ">",
        "&",
        "|",
        "^",
        "~",
        "@",
        "$",
        "#[",
    ],
    key=len,
    reverse=True,
)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "e": "\x1b", "f": "\f"}
_SIMPLE_ESCAPES.update({"\\": "\\", "$": "$", '"': '"'})
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u\{([0-9A-Fa-f]+)\}|(.))", re.S)
_INTERPOLATION = re.compile(r"(?<!\\)(?:\\\\)*\$[A-Za-z_{]")


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos, line, size = 0, 1, len(source)
    while pos < size:
        opening = _OPEN_TAG.search(source, pos)
        if opening is None:
            break
        line += source.count("\n", pos, opening.end())
        pos = opening.end()
        while pos < size:
            if source.startswith("?>", pos):
                pos += 2
                break
            token, end = _next(source, pos, line)
            line += source.count("\n", pos, end)
            pos = end
            if token is not None:
                tokens.append(token)
    return tokens


def _next(source: str, pos: int, line: int) -> tuple[Token | None, int]:
    char = source[pos]
    space = _SPACE.match(source, pos)
    if space:
        return None, space.end()
    if source.startswith("//", pos) or (char == "#" and not source.startswith("#[", pos)):
        end = _line_comment_end(source, pos)
        return None, end
    if source.startswith("/*", pos):
        end = source.find("*/", pos + 2)
        if end < 0:
            raise PhpSyntaxError(line, "unterminated /* comment")
        return None, end + 2
    if char == "'":
        return _single_quoted(source, pos, line)
    if char == '"':
        return _double_quoted(source, pos, line)
    heredoc = _HEREDOC.match(source, pos)
    if heredoc:
        return _heredoc(source, heredoc, line)
    for pattern, kind in ((_VARIABLE, "variable"), (_NUMBER, "number"), (_NAME, "name")):
        found = pattern.match(source, pos)
        if found:
            text = found.group()
            try:
                value = _number(text) if kind == "number" else text
            except ValueError:  # thousands of digits: no setting anyone wrote
                raise PhpSyntaxError(line, "a number too long to read") from None
            return Token(kind, text, value, line), found.end()
    for punct in _PUNCT:
        if source.startswith(punct, pos):
            return Token("punct", punct, punct, line), pos + len(punct)
    # A character PHP would reject (or we do not know): code we never evaluate.
    return Token("punct", char, char, line), pos + 1


def _line_comment_end(source: str, pos: int) -> int:
    newline = source.find("\n", pos)
    end = len(source) if newline < 0 else newline
    close = source.find("?>", pos, end)
    return close if close >= 0 else end


def _single_quoted(source: str, pos: int, line: int) -> tuple[Token, int]:
    i = pos + 1
    parts: list[str] = []
    while True:
        end = _find_any(source, i, "'\\")
        if end < 0:
            raise PhpSyntaxError(line, "unterminated string")
        parts.append(source[i:end])
        if source[end] == "'":
            return Token("string", "'string'", "".join(parts), line), end + 1
        following = source[end + 1 : end + 2]
        parts.append(following if following in ("'", "\\") else "\\" + following)
        i = end + 2


def _double_quoted(source: str, pos: int, line: int) -> tuple[Token, int]:
    i = pos + 1
    while True:
        end = _find_any(source, i, '"\\')
        if end < 0:
            raise PhpSyntaxError(line, "unterminated string")
        if source[end] == '"':
            break
        i = end + 2
    body = source[pos + 1 : end]
    return _decoded('"string"', body, line), end + 1


def _heredoc(source: str, match: re.Match[str], line: int) -> tuple[Token, int]:
    label, nowdoc = match.group(2), match.group(1) == "'"
    closing = re.compile(rf"^([ \t]*){re.escape(label)}\b", re.M)
    found = closing.search(source, match.end())
    if found is None:
        raise PhpSyntaxError(line, f"unterminated heredoc {label}")
    lines = source[match.end() : found.start()].split("\n")
    indent = len(found.group(1))
    body = "\n".join(text[indent:] for text in lines)[:-1]
    if nowdoc:
        return Token("string", "nowdoc", body, line), found.end()
    return _decoded("heredoc", body, line), found.end()


def _decoded(text: str, body: str, line: int) -> Token:
    if _INTERPOLATION.search(body):
        return Token("interpolated", text, None, line)
    return Token("string", text, _ESCAPE.sub(_unescape, body), line)


def _unescape(match: re.Match[str]) -> str:
    octal, hexa, code, other = match.groups()
    if octal:
        return chr(int(octal, 8) & 0xFF)
    if hexa:
        return chr(int(hexa, 16))
    if code:
        return chr(min(int(code, 16), 0x10FFFF))
    return _SIMPLE_ESCAPES.get(other, "\\" + other)


def _find_any(source: str, start: int, chars: str) -> int:
    positions = [p for p in (source.find(c, start) for c in chars) if p >= 0]
    return min(positions) if positions else -1


def _number(text: str) -> int | float:
    digits = text.replace("_", "")
    lowered = digits.lower()
    if lowered.startswith("0x"):
        return int(digits[2:], 16)
    if lowered.startswith("0b"):
        return int(digits[2:], 2)
    if any(c in lowered for c in ".e"):
        return float(digits)
    if len(digits) > 1 and digits.startswith("0"):
        return int(digits, 8) if set(digits) <= set("01234567") else int(digits)
    return int(digits)

"""The JQL the fake Jira understands: what the backend sends, parsed like Jira does.

`project = X`, `labels = "y"`, `status = Done`, `key = A-1`, `key in (A-1, "A-2")`,
`text ~ "\\"a phrase\\""`, `summary ~ ...`, `AND`, `OR`, `NOT`, parentheses, and `ORDER BY
key|created|updated [ASC|DESC]`. Anything else is a JQL error, as Jira would say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JQLError", "Query", "parse_jql", "words"]

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|!~|=|~|\(|\)|,)'
    r"|(?P<word>[\w.\-]+))"
)
_FIELDS = {"project", "labels", "status", "key", "issuekey", "text", "summary", "description"}
_ORDERABLE = {"key", "issuekey", "created", "updated"}

Issue = Mapping[str, Any]


class JQLError(ValueError):
    pass


def words(text: str) -> str:
    """Text as Jira's index sees it: lower-case words, punctuation gone."""
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


@dataclass
class Query:
    test: Callable[[Issue], bool]
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    #: Keys and projects the query names (Jira checks they exist before it searches).
    keys: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    bounded: bool = False


class _Parser:
    def __init__(self, jql: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(jql.rstrip()):
            match = _TOKEN.match(jql, position)
            if not match or match.end() == position:
                raise JQLError(f"Error in the JQL Query: unexpected character at {position}.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match[kind]))
            position = match.end()
        self.at = 0
        self.query = Query(test=lambda issue: True)

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise JQLError("Error in the JQL Query: the query ends too early.")
        self.at += 1
        return self.tokens[self.at - 1]

    def value(self) -> str:
        kind, text = self.take()
        if kind == "string":
            return _unquote(text)
        if kind == "word":
            return text
        raise JQLError(f"Error in the JQL Query: expecting a value but got '{text}'.")

    def expr(self) -> Callable[[Issue], bool]:
        parts = [self.conjunction()]
        while self.peek().upper() == "OR":
            self.take()
            parts.append(self.conjunction())
        return lambda issue: any(part(issue) for part in parts)

    def conjunction(self) -> Callable[[Issue], bool]:
        parts = [self.atom()]
        while self.peek().upper() == "AND":
            self.take()
            parts.append(self.atom())
        return lambda issue: all(part(issue) for part in parts)

    def atom(self) -> Callable[[Issue], bool]:
        if self.peek() == "(":
            self.take()
            inner = self.expr()
            if self.take()[1] != ")":
                raise JQLError("Error in the JQL Query: expecting ')'.")
            return inner
        if self.peek().upper() == "NOT":
            self.take()
            negated = self.atom()
            return lambda issue: not negated(issue)
        name = self.value().casefold()
        if name not in _FIELDS:
            raise JQLError(
                f"Field '{name}' does not exist or you do not have permission to view it."
            )
        name = "key" if name == "issuekey" else name
        op = self.take()[1].upper()
        if op == "NOT" and self.peek().upper() == "IN":
            self.take()
            inside = self.listed(name)
            return lambda issue: not inside(issue)
        if op == "IN":
            return self.listed(name)
        if op not in ("=", "!=", "~", "!~"):
            raise JQLError(f"Error in the JQL Query: unknown operator '{op}'.")
        value = self.value()
        self.note(name, [value])
        test = _clause(name, "~" if "~" in op else "=", value)
        return (lambda issue: not test(issue)) if op.startswith("!") else test

    def listed(self, name: str) -> Callable[[Issue], bool]:
        if self.take()[1] != "(":
            raise JQLError("Error in the JQL Query: expecting '(' after IN.")
        values = [self.value()]
        while self.peek() == ",":
            self.take()
            values.append(self.value())
        if self.take()[1] != ")":
            raise JQLError("Error in the JQL Query: expecting ')'.")
        self.note(name, values)
        tests = [_clause(name, "=", value) for value in values]
        return lambda issue: any(test(issue) for test in tests)

    def note(self, name: str, values: list[str]) -> None:
        self.query.bounded = True
        if name == "key":
            self.query.keys += values
        elif name == "project":
            self.query.projects += values

    def order(self) -> None:
        if self.take()[1].upper() != "BY":
            raise JQLError("Error in the JQL Query: expecting 'BY' after 'ORDER'.")
        while True:
            name = self.value().casefold()
            if name not in _ORDERABLE:
                raise JQLError(f"Not able to sort using field '{name}'.")
            descending = False
            if self.peek().upper() in ("ASC", "DESC"):
                descending = self.take()[1].upper() == "DESC"
            self.query.order.append(("key" if name == "issuekey" else name, descending))
            if self.peek() != ",":
                return
            self.take()


def _clause(name: str, op: str, value: str) -> Callable[[Issue], bool]:
    if op == "~":
        if name not in ("text", "summary", "description"):
            raise JQLError(f"The operator '~' is not supported by the '{name}' field.")
        # A quoted phrase matches its words in a row; bare words each on their own.
        phrase = value.startswith('"') and value.endswith('"')
        wanted = words(value)
        if phrase:
            return lambda issue: f" {wanted} " in f" {issue[name]} "
        return lambda issue: all(w in issue[name].split() for w in wanted.split())
    if name in ("text", "summary", "description"):
        raise JQLError(f"The operator '=' is not supported by the '{name}' field.")
    if name == "labels":
        return lambda issue: value in issue["labels"]
    return lambda issue: str(issue[name]).casefold() == value.casefold()


def parse_jql(jql: str) -> Query:
    parser = _Parser(jql)
    if parser.peek() and parser.peek().upper() != "ORDER":
        parser.query.test = parser.expr()
    if parser.peek().upper() == "ORDER":
        parser.take()
        parser.order()
    if parser.at != len(parser.tokens):
        raise JQLError(f"Error in the JQL Query: unexpected '{parser.peek()}'.")
    return parser.query

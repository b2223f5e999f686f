"""Markdown (the subset the agent writes) to an Atlassian Document Format document, and back
to plain text (to find the marker line in a description Jira returns).

Jira Cloud's v3 API takes descriptions and comments only as ADF. The agent's descriptions use
headings, paragraphs (their line breaks kept), bullet and numbered lists (nested by
indentation), fenced code, tables, rules, links (`[a](url)`, `[a](<url>)`, `<url>`, bare URLs),
`**strong**` and inline code; anything else stays literal text, which is always valid ADF. The marker line is always a paragraph of its own, so a search can match it whole.
"""

from __future__ import annotations

import re
from typing import Any

from tma_agent.tickets import MARKER_PREFIX

__all__ = ["adf_text", "markdown_to_adf", "paragraph", "text_node"]

Node = dict[str, Any]

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?:<(?P<angled>[^>\s]+)>|(?P<href>[^)\s]+))\)"
    r"|\*\*(?P<strong>.+?)\*\*"
    r"|<(?P<auto>https?://[^>\s]+)>"
    r"|(?P<bare>https?://[^\s<>()\[\]]+[^\s<>()\[\].,;:!?'\"])"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+#.-]*)\s*$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def text_node(text: str, marks: list[Node] | None = None) -> Node:
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = marks
    return node


def paragraph(*content: Node) -> Node:
    return {"type": "paragraph", "content": [node for node in content if node]}


def _inline(text: str, marks: tuple[Node, ...] = ()) -> list[Node]:
    nodes: list[Node] = []
    position = 0

    def plain(chunk: str) -> None:
        if chunk:
            nodes.append(text_node(chunk, list(marks)))

    for match in _INLINE.finditer(text):
        plain(text[position : match.start()])
        position = match.end()
        if match["code"] is not None:
            # ADF allows `code` only beside `link`: any other mark around it is dropped.
            kept = [mark for mark in marks if mark["type"] == "link"]
            nodes.append(text_node(match["code"], [*kept, {"type": "code"}]))
        elif match["label"] is not None:
            href = match["angled"] or match["href"]
            nodes += _inline(match["label"], _with(marks, _link(href)))
        elif match["strong"] is not None:
            nodes += _inline(match["strong"], _with(marks, {"type": "strong"}))
        else:
            href = match["auto"] or match["bare"]
            nodes.append(text_node(href, list(_with(marks, _link(href)))))
    plain(text[position:])
    return nodes


def _link(href: str) -> Node:
    return {"type": "link", "attrs": {"href": href}}


def _with(marks: tuple[Node, ...], mark: Node) -> tuple[Node, ...]:
    # A mark type appears once per text node (a link inside a link keeps the inner one).
    return (*[m for m in marks if m["type"] != mark["type"]], mark)


def _table(rows: list[str]) -> Node:
    def cells(row: str) -> list[str]:
        return [cell.strip() for cell in row.strip().strip("|").split("|")]

    head, body = cells(rows[0]), [cells(row) for row in rows[2:]]
    width = len(head)

    def row_node(values: list[str], kind: str) -> Node:
        values = (values + [""] * width)[:width]
        return {
            "type": "tableRow",
            "content": [
                {"type": kind, "content": [paragraph(*_inline(value))]} for value in values
            ],
        }

    return {
        "type": "table",
        "content": [row_node(head, "tableHeader"), *(row_node(r, "tableCell") for r in body)],
    }


class _Blocks:
    """Builds the document's top-level content line by line."""

    def __init__(self) -> None:
        self.content: list[Node] = []
        self.lines: list[str] = []  # the open paragraph
        self.lists: list[tuple[int, str, Node]] = []  # (indent, kind, list node)

    def flush(self) -> None:
        if self.lines:
            # A line break in the agent's Markdown is meant (as GitHub and GitLab show it).
            content: list[Node] = []
            for index, line in enumerate(self.lines):
                content += [{"type": "hardBreak"}] if index else []
                content += _inline(line)
            self.content.append(paragraph(*content))
            self.lines = []

    def end_lists(self) -> None:
        self.lists = []

    def item(self, indent: int, bullet: str, text: str) -> None:
        self.flush()
        kind = "orderedList" if bullet[0].isdigit() else "bulletList"
        while self.lists and (
            self.lists[-1][0] > indent
            or (self.lists[-1][0] == indent and self.lists[-1][1] != kind)
        ):
            self.lists.pop()
        if not self.lists or self.lists[-1][0] < indent:
            node: Node = {"type": kind, "content": []}
            if kind == "orderedList":
                node["attrs"] = {"order": int(bullet[:-1])}
            if self.lists:
                self.lists[-1][2]["content"][-1]["content"].append(node)
            else:
                self.content.append(node)
            self.lists.append((indent, kind, node))
        self.lists[-1][2]["content"].append({"type": "listItem", "content": [_item_text(text)]})

    def continue_item(self, text: str) -> None:
        last = self.lists[-1][2]["content"][-1]["content"][0]
        last["content"] += _inline(" " + text.strip()) if last["content"] else _inline(text)


def _item_text(text: str) -> Node:
    return paragraph(*_inline(text))


def markdown_to_adf(markdown: str) -> Node:
    """A `doc` node (version 1) for `markdown`."""
    blocks = _Blocks()
    lines = markdown.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        fence = _FENCE.match(line)
        if fence:
            blocks.flush()
            blocks.end_lists()
            code: list[str] = []
            while index < len(lines) and not lines[index].strip().startswith(fence[1]):
                code.append(lines[index])
                index += 1
            index += 1
            node: Node = {"type": "codeBlock", "attrs": {"language": fence[2]} if fence[2] else {}}
            if "\n".join(code):
                node["content"] = [text_node("\n".join(code))]
            blocks.content.append(node)
            continue
        stripped = line.strip()
        if not stripped:
            blocks.flush()
            blocks.end_lists()
            continue
        if stripped.startswith(MARKER_PREFIX):
            blocks.flush()
            blocks.end_lists()
            blocks.content.append(paragraph(text_node(stripped)))
            continue
        heading = _HEADING.match(stripped)
        item = _ITEM.match(line)
        if heading:
            blocks.flush()
            blocks.end_lists()
            level = len(heading[1])
            blocks.content.append(
                {"type": "heading", "attrs": {"level": level}, "content": _inline(heading[2])}
            )
        elif _RULE.match(line) and not blocks.lines:
            blocks.end_lists()
            blocks.content.append({"type": "rule"})
        elif item:
            blocks.item(len(item[1].expandtabs(4)), item[2], item[3])
        elif blocks.lists and line[:1].isspace():
            blocks.continue_item(line)
        elif (
            "|" in stripped
            and not blocks.lines
            and index < len(lines)
            and _TABLE_SEPARATOR.match(lines[index])
        ):
            blocks.end_lists()
            rows = [line, lines[index]]
            index += 1
            while index < len(lines) and "|" in lines[index] and lines[index].strip():
                rows.append(lines[index])
                index += 1
            blocks.content.append(_table(rows))
        else:
            blocks.end_lists()
            blocks.lines.append(stripped)
    blocks.flush()
    return {"type": "doc", "version": 1, "content": blocks.content}


def adf_text(node: Any) -> str:
    """The plain text of an ADF node: one line per paragraph, heading, list item or row."""
    lines: list[str] = []

    def walk(item: Any, line: list[str]) -> None:
        if not isinstance(item, dict):
            return
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str):
            line.append(item["text"])
        elif kind == "hardBreak":
            lines.append("".join(line))
            line.clear()
        children = item.get("content")
        if not isinstance(children, list):
            return
        if kind in ("paragraph", "heading", "codeBlock"):
            own: list[str] = []
            for child in children:
                walk(child, own)
            lines.append("".join(own))
        else:
            for child in children:
                walk(child, line)

    walk(node, [])
    return "\n".join(lines)

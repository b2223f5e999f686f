"""The rules of the ADF JSON schema (doc version 1) that the fake Jira enforces on every
description and comment, for the nodes and marks the agent may send.

Jira answers 400 to a document breaking them; the fake does the same, so a converter bug
shows up as a refused write in the tests, not as a garbled ticket in production.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["adf_problems"]

_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard"}
_BLOCK = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "rule",
          "blockquote", "table", "panel"}  # fmt: skip
#: Which children each node takes (None: none at all).
_CHILDREN: dict[str, set[str] | None] = {
    "doc": _BLOCK,
    "paragraph": _INLINE,
    "heading": _INLINE,
    "bulletList": {"listItem"},
    "orderedList": {"listItem"},
    "listItem": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "codeBlock": {"text"},
    "blockquote": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "panel": {"paragraph", "heading", "bulletList", "orderedList"},
    "table": {"tableRow"},
    "tableRow": {"tableHeader", "tableCell"},
    "tableHeader": {"paragraph", "bulletList", "orderedList", "heading", "codeBlock"},
    "tableCell": {"paragraph", "bulletList", "orderedList", "heading", "codeBlock"},
    "rule": None,
    "hardBreak": None,
    "text": None,
    "mention": None,
    "emoji": None,
    "inlineCard": None,
}
#: Nodes whose `content` must hold at least one child.
_NON_EMPTY = {"bulletList", "orderedList", "listItem", "table", "tableRow", "tableHeader",
              "tableCell", "blockquote", "panel"}  # fmt: skip
_MARKS = {"code", "em", "link", "strike", "strong", "subsup", "textColor", "underline"}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def adf_problems(doc: Any) -> list[str]:
    """What makes `doc` an invalid ADF document (empty: valid)."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        return ["not an Atlassian Document (type doc)"]
    problems: list[str] = []
    if doc.get("version") != 1:
        problems.append("doc: version must be 1")
    _node(doc, "doc", problems)
    return problems


def _node(node: Any, where: str, problems: list[str]) -> None:
    if not isinstance(node, dict) or node.get("type") not in _CHILDREN:
        problems.append(
            f"{where}: unknown node {node.get('type') if isinstance(node, dict) else node!r}"
        )
        return
    kind = node["type"]
    allowed = _CHILDREN[kind]
    content = node.get("content")
    if kind == "text":
        _text(node, where, problems)
    elif "marks" in node:
        problems.append(f"{where}: {kind} takes no marks")
    if kind == "heading" and node.get("attrs", {}).get("level") not in range(1, 7):
        problems.append(f"{where}: heading level must be 1-6")
    if allowed is None:
        if content is not None:
            problems.append(f"{where}: {kind} takes no content")
        return
    if content is None:
        content = []
    if not isinstance(content, list):
        problems.append(f"{where}: content must be a list")
        return
    if kind in _NON_EMPTY and not content:
        problems.append(f"{where}: {kind} needs content")
    if (
        kind == "listItem"
        and content
        and (content[0] or {}).get("type") not in ("paragraph", "codeBlock")
    ):
        problems.append(f"{where}: a listItem starts with a paragraph")
    for index, child in enumerate(content):
        here = f"{where}.content[{index}]"
        if isinstance(child, dict) and child.get("type") not in allowed:
            problems.append(f"{here}: {child.get('type')} is not allowed in {kind}")
            continue
        if kind == "codeBlock" and isinstance(child, dict) and child.get("marks"):
            problems.append(f"{here}: text in a codeBlock takes no marks")
        _node(child, here, problems)


def _text(node: dict[str, Any], where: str, problems: list[str]) -> None:
    if not isinstance(node.get("text"), str) or not node["text"]:
        problems.append(f"{where}: text must be a non-empty string")
    marks = node.get("marks", [])
    if not isinstance(marks, list):
        problems.append(f"{where}: marks must be a list")
        return
    kinds = [m.get("type") if isinstance(m, dict) else None for m in marks]
    if len(set(kinds)) != len(kinds):
        problems.append(f"{where}: a mark appears twice")
    for mark in marks:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind not in _MARKS:
            problems.append(f"{where}: unknown mark {kind!r}")
        elif kind == "link" and not str((mark.get("attrs") or {}).get("href") or ""):
            problems.append(f"{where}: a link needs attrs.href")
        elif kind == "textColor" and not _COLOR.match(str((mark.get("attrs") or {}).get("color"))):
            problems.append(f"{where}: textColor needs a #rrggbb color")
    if "code" in kinds and set(kinds) - {"code", "link"}:
        problems.append(f"{where}: code combines only with link")

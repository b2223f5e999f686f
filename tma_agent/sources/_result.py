"""One HTTP answer as the plugins see it, with parsing that never trusts the upstream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from tma_agent._json import JSONError, parse_json
from tma_agent.errors import FeedError

__all__ = ["MAX_FEED_DEPTH", "FetchResult"]

#: Nesting no real feed comes near (they are a handful of levels deep). Deeper answers are
#: refused, so no consumer walking parsed data recursively can hit Python's stack limit.
MAX_FEED_DEPTH = 100


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Requests sent to get this answer (>1 when transient failures were retried).
    tries: int = 1
    #: True when the body came from the disk cache after a 304 Not Modified.
    from_cache: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            data = parse_json(self.content)
        except JSONError as exc:
            raise FeedError(self.url, str(exc)) from None
        if _json_deeper_than(data, MAX_FEED_DEPTH):
            raise FeedError(self.url, f"JSON nested more than {MAX_FEED_DEPTH} levels deep")
        return data

    def xml(self) -> Element:
        # defusedxml refuses DTDs outright (forbid_dtd): feeds never need one, and it is the
        # door for billion-laughs and external-entity tricks alike.
        try:
            root = safe_xml.fromstring(self.content, forbid_dtd=True)
        except DefusedXmlException as exc:
            raise FeedError(self.url, f"refused unsafe XML ({type(exc).__name__})") from None
        except safe_xml.ParseError as exc:
            raise FeedError(self.url, f"invalid XML ({exc})") from None
        except ValueError as exc:  # e.g. an encoding declaration the parser cannot honour
            raise FeedError(self.url, f"invalid XML ({exc})") from None
        if _xml_deeper_than(root, MAX_FEED_DEPTH):
            raise FeedError(self.url, f"XML nested more than {MAX_FEED_DEPTH} levels deep")
        return root


def _json_deeper_than(data: Any, limit: int) -> bool:
    # Iterative on purpose: the check must not need the stack it protects.
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _xml_deeper_than(root: Element, limit: int) -> bool:
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False

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

__all__ = ["FetchResult"]


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
            return parse_json(self.content)
        except JSONError as exc:
            raise FeedError(self.url, str(exc)) from None

    def xml(self) -> Element:
        # defusedxml refuses DTDs outright (forbid_dtd): feeds never need one, and it is the
        # door for billion-laughs and external-entity tricks alike.
        try:
            return safe_xml.fromstring(self.content, forbid_dtd=True)
        except DefusedXmlException as exc:
            raise FeedError(self.url, f"refused unsafe XML ({type(exc).__name__})") from None
        except safe_xml.ParseError as exc:
            raise FeedError(self.url, f"invalid XML ({exc})") from None
        except ValueError as exc:  # e.g. an encoding declaration the parser cannot honour
            raise FeedError(self.url, f"invalid XML ({exc})") from None

"""Release-history feeds (`{base}/{project}/current` or `/7.x`) parsed into typed data.

The feed is data: every field is kept as text and only interpreted by `status.py`. A feed that
is not the release-history format (not XML, wrong root element, an XML bomb, HTTP 5xx) raises
`FeedError` naming the URL; an `<error>` root — drupal.org's answer for a project it does not
know, with HTTP 200 or 404 — is a normal outcome (`ReleaseHistory.unknown_reason`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from tma_agent.errors import FeedError
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher

__all__ = [
    "Release",
    "ReleaseHistory",
    "feed_url",
    "fetch_release_history",
    "parse_release_history",
]

#: Security advisory ids as drupal.org writes them (`SA-CORE-2024-001`, `SA-CONTRIB-2023-012`).
_ADVISORY_ID = re.compile(r"\bSA-(?:CORE|CONTRIB)-\d{4}-\d{3,}\b")


@dataclass(frozen=True)
class Release:
    version: str
    status: str
    release_types: tuple[str, ...]
    release_link: str | None = None
    download_link: str | None = None
    date: int | None = None
    security_covered: bool = False
    #: A security advisory id found in the release's own text, when drupal.org gave one.
    advisory_id: str | None = None
    core_compatibility: str | None = None

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def is_insecure(self) -> bool:
        return "Insecure" in self.release_types

    @property
    def is_unsupported(self) -> bool:
        return "Unsupported" in self.release_types

    @property
    def is_security_release(self) -> bool:
        return "Security update" in self.release_types


@dataclass(frozen=True)
class ReleaseHistory:
    url: str
    short_name: str | None = None
    title: str | None = None
    project_status: str | None = None
    supported_branches: tuple[str, ...] = ()
    #: D7 feeds: the maintainer's recommended major and the supported majors.
    recommended_major: int | None = None
    supported_majors: tuple[int, ...] = ()
    #: Newest first, in feed order (the update module relies on that order).
    releases: tuple[Release, ...] = field(default_factory=tuple)
    #: Set when the server answered `<error>`: the project is not on drupal.org.
    unknown_reason: str | None = None


def feed_url(base: str, project: str, *, drupal7: bool) -> str:
    """The release-history URL of `project` on the feed at `base` (no trailing slash)."""
    return f"{base}/{project}/{'7.x' if drupal7 else 'current'}"


def fetch_release_history(run: RunScope, fetcher: Fetcher, url: str) -> ReleaseHistory:
    """Fetch and parse one feed, once per run: every site of a fleet asks for the same few
    feeds, and parsing the XML again for each (9 feeds a site) was the largest CPU cost of
    `tma check`. A bad feed is a fresh FeedError for each caller."""

    def fetch_and_parse() -> ReleaseHistory:
        # 404 is accepted only so that an `<error>` body can be told apart from a broken server.
        result = fetcher.get(url, ok_statuses=frozenset({404}))
        return _history_from(url, result.xml, result.status)

    return run.memo(("drupal.release_history", url), fetch_and_parse)


def _history_from(url: str, xml: Callable[[], Element], status: int) -> ReleaseHistory:
    try:
        root = xml()
    except FeedError:
        if status == 404:  # a plain "not found" page: the server, not the project
            raise FeedError(url, "HTTP 404") from None
        raise
    if root.tag == "error":
        return ReleaseHistory(url, unknown_reason=(root.text or "").strip() or "unknown project")
    if status == 404:
        raise FeedError(url, "HTTP 404")
    return parse_release_history(url, root)


def parse_release_history(url: str, root: Element) -> ReleaseHistory:
    if root.tag != "project":
        raise FeedError(url, f"not a release history (root element <{root.tag}>)")
    branches = tuple(
        b.strip() for b in (_text(root, "supported_branches") or "").split(",") if b.strip()
    )
    majors = tuple(
        int(m) for m in (_text(root, "supported_majors") or "").split(",") if m.strip().isdigit()
    )
    recommended = _text(root, "recommended_major") or ""
    releases_element = root.find("releases")
    releases = tuple(
        _release(element)
        for element in (releases_element if releases_element is not None else [])
        if element.tag == "release" and (_text(element, "version") or "")
    )
    return ReleaseHistory(
        url=url,
        short_name=_text(root, "short_name"),
        title=_text(root, "title"),
        project_status=_text(root, "project_status"),
        supported_branches=branches,
        recommended_major=int(recommended) if recommended.isdigit() else None,
        supported_majors=majors,
        releases=releases,
    )


def _release(element: Element) -> Release:
    types = tuple(
        (term.findtext("value") or "").strip()
        for term in element.findall("terms/term")
        if (term.findtext("name") or "").strip() == "Release type"
    )
    security = element.find("security")
    date = _text(element, "date") or ""
    advisory = _ADVISORY_ID.search(" ".join(t for t in element.itertext()))
    return Release(
        version=(_text(element, "version") or ""),
        status=_text(element, "status") or "published",
        release_types=types,
        release_link=_text(element, "release_link"),
        download_link=_text(element, "download_link"),
        date=int(date) if date.isdigit() else None,
        security_covered=security is not None and security.get("covered") == "1",
        advisory_id=advisory.group(0) if advisory else None,
        core_compatibility=_text(element, "core_compatibility"),
    )


def _text(element: Element, tag: str) -> str | None:
    """The stripped text of child `tag`, None when absent or blank."""
    value = element.findtext(tag)
    return value.strip() if value is not None and value.strip() else None

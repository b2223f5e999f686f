"""Which vulnerability feeds a WordPress site uses, and running them over its findings.

Feeds:
- `wordfence` (Wordfence Intelligence scanner feed): ON by default. `sources.wordfence.url` is
  the feed's full URL; `sources.wordfence.token`, when set, goes out as `Authorization: Bearer`.
- `wpscan` (WPScan API v3): on when `sources.wpscan.token` is set; `sources.wpscan.url` is the
  API base.
- `sites[].options.vulnerability_sources`: the feed names a site uses instead of that default,
  e.g. `[wpscan]` (WPScan only) or `[]` (none). An unknown name, or `wpscan` without a token,
  is a site error: a typo must not silently switch security data off.
A feed that fails (HTTP error, timeout, garbage, bad token) is recorded in the report's
`source_errors`, the site is `partial`, not `error`: the findings it could not answer for have
`advisories_unavailable`.
By default a feed whose source the run did not register is left out; only a hand-built
SiteContext lacks them, the runner registers both.

What matches do to a finding: `vulnerabilities.py`. Must-use plugins are skipped: their name is
a file stem, not a wordpress.org slug, so a match would be a guess.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from tma_agent.context import SiteContext
from tma_agent.errors import ConfigError
from tma_agent.models import Finding
from tma_wordpress.settings import TokenSettings, WordPressOptions
from tma_wordpress.vulnerabilities import VulnerabilityFeed, apply_to_finding
from tma_wordpress.wordfence import WORDFENCE, WordfenceFeed
from tma_wordpress.wpscan import WPSCAN, WPScanFeed

__all__ = ["FEED_NAMES", "OPTION", "apply_vulnerabilities", "feed_names", "feeds_for"]

OPTION = "vulnerability_sources"
FEED_NAMES = (WORDFENCE, WPSCAN)
_KINDS = ("core", "plugin", "theme")


def feed_names(site: SiteContext) -> list[str]:
    """The feeds this site uses, in order (module docstring)."""
    has_token = bool(site.source_settings_as(WPSCAN, TokenSettings).token)
    chosen = site.options_as(WordPressOptions).vulnerability_sources
    if chosen is None:
        names = [WORDFENCE, *([WPSCAN] if has_token else [])]
        return [n for n in names if n in site.source_urls]
    if WPSCAN in chosen and not has_token:
        where = f"sites[{site.site_id}].options.{OPTION}"
        raise ConfigError(f"{where} lists wpscan but sources.wpscan.token is not set")
    return chosen


def feeds_for(site: SiteContext) -> list[VulnerabilityFeed]:
    return [feed for _, feed in _named_feeds(site)]


def _named_feeds(site: SiteContext) -> list[tuple[str, VulnerabilityFeed]]:
    feeds: list[tuple[str, VulnerabilityFeed]] = []
    for name in feed_names(site):
        feeds.append((name, WordfenceFeed(site) if name == WORDFENCE else WPScanFeed(site)))
    return feeds


def apply_vulnerabilities(site: SiteContext, findings: Sequence[Finding]) -> None:
    """Attach advisories and raise update kinds in place. A feed failure (FeedError naming the
    URL) is recorded under that feed's source (`site.source_failed`): each finding it could
    not answer for gets `advisories_unavailable`, what the other feeds said is kept."""
    feeds = _named_feeds(site)
    if not feeds:
        return
    # A feed that failed once for this site is not asked again for its other components: a
    # dead API or a rejected token would otherwise cost one timeout (and retries) per plugin.
    failed: set[str] = set()
    for finding in findings:
        if finding.kind not in _KINDS or finding.source == "mu-plugin":
            continue
        known = []
        for name, feed in feeds:
            answer = None
            if name not in failed:
                answer = site.attempt(name, functools.partial(feed.known_for, site, finding))
            if answer is None:
                failed.add(name)
                finding.advisories_unavailable = True
            else:
                known.extend(answer)
        apply_to_finding(finding, known)

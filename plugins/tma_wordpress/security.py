"""Which vulnerability feeds a WordPress site uses, and running them over its findings.

Feeds:
- `wordfence` (Wordfence Intelligence scanner feed): ON by default. `sources.wordfence.url` is
  the feed's full URL; `sources.wordfence.token`, when set, goes out as `Authorization: Bearer`.
- `wpscan` (WPScan API v3): on when `sources.wpscan.token` is set; `sources.wpscan.url` is the
  API base.
- `sites[].options.vulnerability_sources`: the feed names a site uses instead of that default,
  e.g. `[wpscan]` (WPScan only) or `[]` (none). An unknown name, or `wpscan` without a token,
  is a site error: a typo must not silently switch security data off.
By default a feed whose source the run did not register is left out; only a hand-built
SiteContext lacks them, the runner registers both.

What matches do to a finding: `vulnerabilities.py`. Must-use plugins are skipped: their name is
a file stem, not a wordpress.org slug, so a match would be a guess.
"""

from __future__ import annotations

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
    feeds: list[VulnerabilityFeed] = []
    for name in feed_names(site):
        feeds.append(WordfenceFeed(site) if name == WORDFENCE else WPScanFeed(site))
    return feeds


def apply_vulnerabilities(site: SiteContext, findings: Sequence[Finding]) -> None:
    """Attach advisories and raise update kinds in place. A feed failure (FeedError naming the
    URL) propagates: the runner makes the site an error, other sites go on."""
    feeds = feeds_for(site)
    if not feeds:
        return
    for finding in findings:
        if finding.kind not in _KINDS or finding.source == "mu-plugin":
            continue
        known = [v for feed in feeds for v in feed.known_for(site, finding)]
        apply_to_finding(finding, known)

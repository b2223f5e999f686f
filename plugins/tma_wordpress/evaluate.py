"""Turn installed WordPress components into findings from the three update-check answers.

Core: `latest` is the newest offered version; `recommended` is what WordPress itself proposes:
the `upgrade` offer (the dashboard's "Update to X" button), else the newest newer `autoupdate`
offer (what background updates install), else the installed version. The update is `bugfix`
when a newer release exists in the installed major.minor branch (the safe, most urgent step),
`feature` when only newer branches exist, `none` otherwise.

Plugins and themes: listed in `plugins`/`themes` -> an update (`bugfix` when only the last
version number changes, else `feature`), `latest = recommended = new_version`; listed in
`no_update` -> `none`, `latest = recommended =` its `new_version` or the installed version.
Absent from both lists, or with an `Update URI` pointing away from wordpress.org/w.org ->
`unknown` with source `unknown`: never reported as up to date. Must-use plugins -> `unknown`,
source `mu-plugin`.

An API that fails (HTTP error, timeout, garbage) is recorded under the source `wordpress`
(`site.source_failed`): the components it should have answered for are `unknown`, the others
are kept and the site is `partial`.

`source` is `wordpress.org` for everything the wordpress.org APIs answered, whatever base URL
(mirror, proxy, test server) `sources.wordpress.url` points at.

Security: these APIs carry no security flag. The Wordfence and WPScan feeds run after this
(`security.py`, called by the `tma_evaluate` hook) because they also set `recommended` and
`insecure`. A source that only has advisories can still plug in through `AdvisorySource`:
`evaluate(..., advisory_sources=[...])` attaches them and raises the update kind to `security`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from tma_agent.context import SiteContext
from tma_agent.models import Advisory, Component, Finding, UpdateKind
from tma_agent.versions import Version
from tma_wordpress import api
from tma_wordpress.settings import WordPressOptions

__all__ = [
    "SOURCE",
    "SOURCE_NAME",
    "AdvisorySource",
    "evaluate",
    "is_wordpress_org_update_uri",
    "numbered_update_kind",
]

#: The name of the registered source (`sources.wordpress.url`).
SOURCE_NAME = "wordpress"
#: What findings name as their source.
SOURCE = "wordpress.org"
_WORDPRESS_ORG_HOSTS = frozenset({"wordpress.org", "w.org"})


class AdvisorySource(Protocol):
    """The extension point for a vulnerability feed (a later issue)."""

    def advisories_for(self, site: SiteContext, finding: Finding) -> list[Advisory]:
        """Advisories affecting `finding.installed` of this plugin/theme/core; [] when none."""
        ...


def is_wordpress_org_update_uri(update_uri: str | None) -> bool:
    """True when a plugin's `Update URI` leaves updates to wordpress.org (absent, or host
    wordpress.org / w.org, as WordPress' sanitize_url + wp_parse_url read it)."""
    if not update_uri:
        return True
    with_scheme = update_uri if "://" in update_uri else "http://" + update_uri
    host = (urlsplit(with_scheme).hostname or "").lower()
    return host in _WORDPRESS_ORG_HOSTS


def _version(raw: str | None) -> Version | None:
    try:
        return Version(raw) if raw else None
    except ValueError:
        return None


def numbered_update_kind(installed: str | None, offered: str) -> UpdateKind:
    """`none` when `offered` is not newer, `bugfix` when only the last number changes,
    `feature` otherwise (also when a version cannot be read)."""
    old, new = _version(installed), _version(offered)
    if old is None or new is None:
        return "none" if installed == offered else "feature"
    if new <= old:
        return "none"
    width = max(len(old.numbers), len(new.numbers), 2)
    old_numbers = old.numbers + (0,) * (width - len(old.numbers))
    new_numbers = new.numbers + (0,) * (width - len(new.numbers))
    return "bugfix" if old_numbers[:-1] == new_numbers[:-1] else "feature"


def _core_finding(site: SiteContext, core: Component) -> Finding:
    installed = core.installed or ""
    php = site.options_as(WordPressOptions).php_version or core.extra.get("required_php")
    offers = site.attempt(
        SOURCE_NAME,
        lambda: api.check_core(site.fetcher, site.source_url(SOURCE_NAME), installed, php),
    )
    if offers is None:
        return _unknown(core)
    current = _version(installed)
    readable = [(v, o) for o in offers if (v := _version(o.version)) is not None]
    latest = max(readable, key=lambda pair: pair[0])[1].version if readable else installed
    newer = [(v, o) for v, o in readable if current is None or v > current]
    upgrade = next((o for _, o in newer if o.response == "upgrade"), None)
    autoupdates = sorted((p for p in newer if p[1].response == "autoupdate"), key=lambda p: p[0])
    if upgrade is not None:
        recommended = upgrade.version
    elif autoupdates:
        recommended = autoupdates[-1][1].version
    else:
        recommended = installed
    update: UpdateKind = "none"
    if newer:
        same_branch = current is not None and any(
            v.numbers[:2] == current.numbers[:2] for v, _ in newer
        )
        update = "bugfix" if same_branch else "feature"
    return Finding("wordpress", "core", core.installed, latest, recommended, update, [], SOURCE)


def _unknown(component: Component, source: str = "unknown") -> Finding:
    return Finding(
        component.name, component.kind, component.installed, None, None, "unknown", [], source
    )


def _listed_finding(
    component: Component, key: str, answer: api.UpdateCheckAnswer | None
) -> Finding:
    if answer is not None and key in answer.updates:
        offered = str(answer.updates[key]["new_version"])
        kind = numbered_update_kind(component.installed, offered)
        return Finding(
            component.name, component.kind, component.installed, offered, offered, kind, [], SOURCE
        )
    if answer is not None and key in answer.no_update:
        latest = answer.no_update[key].get("new_version") or component.installed
        latest = str(latest) if latest is not None else None
        return Finding(
            component.name, component.kind, component.installed, latest, latest, "none", [], SOURCE
        )
    return _unknown(component)


def _headers(component: Component) -> dict[str, str]:
    headers: dict[str, str] = component.extra.get("headers", {})
    return headers


def evaluate(
    site: SiteContext,
    components: Sequence[Component],
    advisory_sources: Sequence[AdvisorySource] = (),
) -> list[Finding]:
    api_url = site.source_url(SOURCE_NAME)
    core = [c for c in components if c.kind == "core"]
    plugins = [c for c in components if c.kind == "plugin" and not c.extra.get("must_use")]
    themes = [c for c in components if c.kind == "theme"]
    checked_plugins = [
        p for p in plugins if is_wordpress_org_update_uri(_headers(p).get("UpdateURI"))
    ]
    checked_themes = [
        t for t in themes if is_wordpress_org_update_uri(_headers(t).get("UpdateURI"))
    ]

    plugin_answer = None
    if checked_plugins:
        payload = {p.extra["file"]: _plugin_payload(p) for p in checked_plugins}
        plugin_answer = site.attempt(
            SOURCE_NAME, lambda: api.check_plugins(site.fetcher, api_url, payload)
        )
    theme_answer = None
    if checked_themes:
        payload = {t.extra["stylesheet"]: _theme_payload(t) for t in checked_themes}
        themes_payload = payload
        theme_answer = site.attempt(
            SOURCE_NAME, lambda: api.check_themes(site.fetcher, api_url, themes_payload)
        )

    findings = [_core_finding(site, c) for c in core]
    checked_ids = {id(c) for c in (*checked_plugins, *checked_themes)}
    for component in components:
        if component.kind == "core":
            continue
        if component.extra.get("must_use"):
            findings.append(_unknown(component, "mu-plugin"))
        elif id(component) not in checked_ids:
            findings.append(_unknown(component))
        elif component.kind == "plugin":
            findings.append(_listed_finding(component, component.extra["file"], plugin_answer))
        else:
            findings.append(_listed_finding(component, component.extra["stylesheet"], theme_answer))
    for finding in findings:
        _attach_advisories(site, finding, advisory_sources)
    return findings


def _attach_advisories(
    site: SiteContext, finding: Finding, advisory_sources: Sequence[AdvisorySource]
) -> None:
    for source in advisory_sources:
        finding.advisories.extend(source.advisories_for(site, finding))
    if finding.advisories and finding.update in ("none", "bugfix", "feature"):
        finding.update = "security"


def _plugin_payload(plugin: Component) -> dict[str, Any]:
    # The header keys get_plugins() returns; Title mirrors Name as WordPress sends it.
    headers = _headers(plugin)
    return {**headers, "Title": headers.get("Name", plugin.name)}


def _theme_payload(theme: Component) -> dict[str, Any]:
    headers = _headers(theme)
    return {
        "Name": headers.get("Name", theme.name),
        "Title": headers.get("Name", theme.name),
        "Version": headers.get("Version", ""),
        "Author": headers.get("Author", ""),
        "Author URI": headers.get("AuthorURI", ""),
        "UpdateURI": headers.get("UpdateURI", ""),
        "Template": headers.get("Template", theme.name),
        "Stylesheet": theme.name,
    }

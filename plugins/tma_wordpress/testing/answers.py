"""api.wordpress.org answers in their real formats, written by us (FORMATS.md "WordPress"):
plain dicts to `json.dumps`, or FeedServer routes that answer by what was asked."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.versions import Version, compare

__all__ = [
    "CORE_VERSION_CHECK_PATH",
    "PLUGINS_UPDATE_CHECK_PATH",
    "THEMES_UPDATE_CHECK_PATH",
    "core_offer",
    "core_version_check_answer",
    "core_version_check_route",
    "plugin_entry",
    "plugins_update_check_answer",
    "plugins_update_check_route",
    "serve_wordpress_api",
    "theme_entry",
    "themes_update_check_answer",
    "themes_update_check_route",
]

CORE_VERSION_CHECK_PATH = "/core/version-check/1.7/"
PLUGINS_UPDATE_CHECK_PATH = "/plugins/update-check/1.1/"
THEMES_UPDATE_CHECK_PATH = "/themes/update-check/1.1/"

# --- Core version check -----------------------------------------------------------------------


def core_offer(
    version: str,
    response: str = "upgrade",
    *,
    locale: str = "en_US",
    php_version: str = "7.2.24",
    mysql_version: str = "5.5.5",
) -> dict[str, Any]:
    """One entry of `offers` as api.wordpress.org/core/version-check/1.7/ writes it."""
    base = "https://downloads.wordpress.org/release"
    numbers = Version(version).numbers
    return {
        "response": response,
        "download": f"{base}/wordpress-{version}.zip",
        "locale": locale,
        "packages": {
            "full": f"{base}/wordpress-{version}.zip",
            "no_content": f"{base}/wordpress-{version}-no-content.zip",
            "new_bundled": f"{base}/wordpress-{version}-new-bundled.zip",
            "partial": False,
            "rollback": False,
        },
        "current": version,
        "version": version,
        "php_version": php_version,
        "mysql_version": mysql_version,
        "new_bundled": ".".join(str(n) for n in numbers[:2]),
        "partial_version": False,
    }


def _branch(version: str) -> tuple[int, ...]:
    return Version(version).numbers[:2]


def core_version_check_answer(installed: str, releases: Sequence[str]) -> dict[str, Any]:
    """What the API answers a site on `installed` when `releases` exist: when something is
    newer, an `upgrade` offer for the newest, then `autoupdate` offers for the newest release of
    each branch newer than (or the same as) the installed one, newest first; otherwise a single
    `latest` offer."""
    newest = max([installed, *releases], key=Version)
    if compare(newest, installed) <= 0:
        return {"offers": [core_offer(installed, "latest")], "translations": []}
    branch_latest: dict[tuple[int, ...], str] = {}
    for release in releases:
        branch = _branch(release)
        if compare(release, installed) > 0 and (
            branch not in branch_latest or compare(release, branch_latest[branch]) > 0
        ):
            branch_latest[branch] = release
    autoupdates = sorted(branch_latest.values(), key=Version, reverse=True)
    offers = [core_offer(newest, "upgrade")]
    offers += [core_offer(v, "autoupdate") for v in autoupdates]
    return {"offers": offers, "translations": []}


def core_version_check_route(releases: Sequence[str]) -> Callable[[Request], Reply]:
    """A FeedServer route answering each site by the `version` it sends."""

    def answer(request: Request) -> Reply:
        installed = parse_qs(request.query).get("version", [""])[0]
        if not installed:
            return Reply(json.dumps({"error": "missing version"}), status=400)
        return Reply(json.dumps(core_version_check_answer(installed, releases)))

    return answer


# --- Plugins and themes update checks ---------------------------------------------------------


def _php_object(entries: Mapping[str, Any]) -> Any:
    # PHP's json_encode writes an empty associative array as [], and the API does so too.
    return dict(entries) if entries else []


def plugin_entry(
    plugin_file: str,
    new_version: str,
    *,
    requires: str = "5.8",
    tested: str = "6.7.1",
    requires_php: str = "7.2",
) -> dict[str, Any]:
    """One entry of `plugins` / `no_update` in the plugins update-check 1.1 answer."""
    slug = plugin_file.split("/")[0].removesuffix(".php")
    return {
        "id": f"w.org/plugins/{slug}",
        "slug": slug,
        "plugin": plugin_file,
        "new_version": new_version,
        "url": f"https://wordpress.org/plugins/{slug}/",
        "package": f"https://downloads.wordpress.org/plugin/{slug}.{new_version}.zip",
        "icons": {},
        "banners": {},
        "banners_rtl": [],
        "requires": requires,
        "tested": tested,
        "requires_php": requires_php,
        "compatibility": [],
    }


def plugins_update_check_answer(
    updates: Mapping[str, str], no_update: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`updates` and `no_update` map plugin files to the version wordpress.org offers."""
    return {
        "plugins": _php_object({f: plugin_entry(f, v) for f, v in updates.items()}),
        "translations": [],
        "no_update": _php_object({f: plugin_entry(f, v) for f, v in (no_update or {}).items()}),
    }


def theme_entry(slug: str, new_version: str, *, requires: str = "5.9") -> dict[str, Any]:
    """One entry of `themes` / `no_update` in the themes update-check 1.1 answer."""
    return {
        "theme": slug,
        "new_version": new_version,
        "url": f"https://wordpress.org/themes/{slug}/",
        "package": f"https://downloads.wordpress.org/theme/{slug}.{new_version}.zip",
        "requires": requires,
        "requires_php": "5.6",
    }


def themes_update_check_answer(
    updates: Mapping[str, str], no_update: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`updates` and `no_update` map theme slugs to the version wordpress.org offers."""
    return {
        "themes": _php_object({s: theme_entry(s, v) for s, v in updates.items()}),
        "translations": [],
        "no_update": _php_object({s: theme_entry(s, v) for s, v in (no_update or {}).items()}),
    }


def _posted_json(request: Request, field: str) -> Any:
    values = parse_qs(request.body.decode("utf-8")).get(field)
    return json.loads(values[0]) if values else None


def _split_by_latest(
    installed: Mapping[str, str | None], latest: Mapping[str, str], slug_of: Callable[[str], str]
) -> tuple[dict[str, str], dict[str, str]]:
    updates: dict[str, str] = {}
    current: dict[str, str] = {}
    for key, version in installed.items():
        offered = latest.get(slug_of(key))
        if offered is None:
            continue  # not on wordpress.org: the API leaves it out of both lists
        if version and compare(offered, version) > 0:
            updates[key] = offered
        else:
            current[key] = offered
    return updates, current


def plugins_update_check_route(latest: Mapping[str, str]) -> Callable[[Request], Reply]:
    """A route that reads the POSTed `plugins` form field and answers by installed versions:
    `latest` maps slugs hosted on "wordpress.org" to their newest version."""

    def answer(request: Request) -> Reply:
        posted = _posted_json(request, "plugins")
        if not isinstance(posted, dict) or not isinstance(posted.get("plugins"), dict):
            return Reply(json.dumps({"error": "bad plugins field"}), status=400)
        installed = {f: h.get("Version") for f, h in posted["plugins"].items()}
        updates, current = _split_by_latest(
            installed, latest, lambda f: f.split("/")[0].removesuffix(".php")
        )
        return Reply(json.dumps(plugins_update_check_answer(updates, current)))

    return answer


def themes_update_check_route(latest: Mapping[str, str]) -> Callable[[Request], Reply]:
    """Like `plugins_update_check_route`, for the POSTed `themes` form field."""

    def answer(request: Request) -> Reply:
        posted = _posted_json(request, "themes")
        if not isinstance(posted, dict) or not isinstance(posted.get("themes"), dict):
            return Reply(json.dumps({"error": "bad themes field"}), status=400)
        installed = {s: h.get("Version") for s, h in posted["themes"].items()}
        updates, current = _split_by_latest(installed, latest, posixpath.basename)
        return Reply(json.dumps(themes_update_check_answer(updates, current)))

    return answer


def serve_wordpress_api(
    server: FeedServer,
    *,
    core_releases: Sequence[str],
    plugins: Mapping[str, str] | None = None,
    themes: Mapping[str, str] | None = None,
) -> str:
    """Install the three api.wordpress.org routes on `server`; returns its base URL (the value
    for `sources.wordpress.url`)."""
    server.routes[CORE_VERSION_CHECK_PATH] = core_version_check_route(core_releases)
    server.routes[PLUGINS_UPDATE_CHECK_PATH] = plugins_update_check_route(plugins or {})
    server.routes[THEMES_UPDATE_CHECK_PATH] = themes_update_check_route(themes or {})
    return server.url

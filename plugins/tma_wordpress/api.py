"""The three api.wordpress.org update checks, built as WordPress' wp-includes/update.php builds them.

One request per site to each endpoint, never one per plugin:
- core: `GET {api}/core/version-check/1.7/?version=..&php=..&locale=en_US`. `php` is the
  site's `$required_php_version` (or `options.php_version`), never the agent's PHP, so sites on
  the same core send the same request and the shared Fetcher sends it once per run;
- plugins: `POST {api}/plugins/update-check/1.1/` with form fields `plugins` (JSON
  `{"plugins": {file: headers}, "active": []}`), `translations`, `locale`, `all=true`;
- themes: `POST {api}/themes/update-check/1.1/` with `themes` (JSON `{"active": "", "themes":
  {slug: headers}}`), `translations`, `locale`.

The agent cannot read the database, so `active` is empty. Plugins whose `Update URI` points
away from wordpress.org are not sent (wordpress.org ignores them anyway, and their names may be
private); they are evaluated as `unknown`. JSON is dumped with sorted keys so identical sites
produce byte-identical bodies.

Answers are checked for shape; anything else raises `FeedError` naming the URL, which
`evaluate.py` records as a failure of source `wordpress` (the other answers are kept).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher, FetchResult

__all__ = [
    "DEFAULT_LOCALE",
    "FALLBACK_PHP_VERSION",
    "CoreOffer",
    "UpdateCheckAnswer",
    "check_core",
    "check_plugins",
    "check_themes",
]

DEFAULT_LOCALE = "en_US"
#: Sent when version.php has no `$required_php_version` (very old cores).
FALLBACK_PHP_VERSION = "5.6.20"


@dataclass(frozen=True)
class CoreOffer:
    response: str  # upgrade | autoupdate | latest | development
    version: str


@dataclass(frozen=True)
class UpdateCheckAnswer:
    """Entries keyed by plugin file or theme slug: updates available, and up to date."""

    updates: Mapping[str, Mapping[str, Any]]
    no_update: Mapping[str, Mapping[str, Any]]


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _object(answer: FetchResult) -> dict[str, Any]:
    data = answer.json()
    if not isinstance(data, dict):
        raise FeedError(answer.url, f"expected a JSON object, got {type(data).__name__}")
    return data


def check_core(fetcher: Fetcher, api: str, version: str, php: str | None) -> list[CoreOffer]:
    params = {"version": version, "php": php or FALLBACK_PHP_VERSION, "locale": DEFAULT_LOCALE}
    answer = fetcher.get(f"{api}/core/version-check/1.7/", params=params)
    offers = _object(answer).get("offers")
    if not isinstance(offers, list) or not offers:
        raise FeedError(answer.url, "no `offers` list in the core version check answer")
    parsed = []
    for offer in offers:
        if not isinstance(offer, dict):
            raise FeedError(answer.url, "a core offer is not an object")
        offered = offer.get("current") or offer.get("version")
        response = offer.get("response")
        if not isinstance(offered, str) or not isinstance(response, str):
            raise FeedError(answer.url, "a core offer lacks `response` or `current`")
        parsed.append(CoreOffer(response, offered))
    return parsed


def _entries(answer: FetchResult, data: Mapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
    value = data.get(key, {})
    # PHP's json_encode turns an empty associative array into [].
    if value == []:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise FeedError(answer.url, f"`{key}` is not an object of entries")
    return value


def _update_check(answer: FetchResult, list_key: str) -> UpdateCheckAnswer:
    data = _object(answer)
    if list_key not in data:
        raise FeedError(answer.url, f"no `{list_key}` in the update check answer")
    updates = _entries(answer, data, list_key)
    for key, entry in updates.items():
        if not isinstance(entry.get("new_version"), str):
            raise FeedError(answer.url, f"`{list_key}.{key}` has no `new_version`")
    return UpdateCheckAnswer(updates, _entries(answer, data, "no_update"))


def check_plugins(
    fetcher: Fetcher, api: str, plugins: Mapping[str, Mapping[str, str]]
) -> UpdateCheckAnswer:
    """`plugins` maps each plugin file (`akismet/akismet.php`, `hello.php`) to its headers."""
    form = {
        "plugins": _dumps({"plugins": dict(plugins), "active": []}),
        "translations": _dumps([]),
        "locale": _dumps([DEFAULT_LOCALE]),
        "all": _dumps(True),
    }
    answer = fetcher.post_form(f"{api}/plugins/update-check/1.1/", form)
    return _update_check(answer, "plugins")


def check_themes(
    fetcher: Fetcher, api: str, themes: Mapping[str, Mapping[str, str]]
) -> UpdateCheckAnswer:
    """`themes` maps each theme slug (stylesheet) to its headers."""
    form = {
        "themes": _dumps({"active": "", "themes": dict(themes)}),
        "translations": _dumps([]),
        "locale": _dumps([DEFAULT_LOCALE]),
    }
    answer = fetcher.post_form(f"{api}/themes/update-check/1.1/", form)
    return _update_check(answer, "themes")

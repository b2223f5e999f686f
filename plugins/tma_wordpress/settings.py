"""What the WordPress stack reads from the configuration, declared through
`tma_register_settings`: the site options and the tokens of its two vulnerability feeds."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from tma_agent.settings import Strict

__all__ = ["FEED_NAMES", "TokenSettings", "WordPressOptions"]

#: The vulnerability feeds a site can pick (`wordfence.WORDFENCE`, `wpscan.WPSCAN`; spelt out
#: because those modules read `TokenSettings`).
FEED_NAMES = ("wordfence", "wpscan")
_PHP_VERSION = re.compile(r"^\d+(\.\d+){1,2}$")


class WordPressOptions(Strict):
    """`sites[].options` of a WordPress site."""

    content_dir: str | None = Field(
        None,
        description="Absolute path of the content directory (plugins/, themes/), when neither "
        "wp-config.php's WP_CONTENT_DIR nor <root>/wp-content finds it (a host config "
        "defining it elsewhere).",
    )
    php_version: str | None = Field(
        None,
        description='PHP version sent in the core update check, quoted ("8.2"); default: '
        "the site's $required_php_version, never the agent machine's.",
    )
    vulnerability_sources: list[str] | None = Field(
        None,
        description="The vulnerability feeds this site uses instead of the default "
        "(wordfence, plus wpscan when sources.wpscan.token is set): [wordfence], [wpscan], "
        "[] for none.",
    )

    @field_validator("content_dir")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("/"):
            raise ValueError(f"must be an absolute path, not {value!r}")
        return value.rstrip("/") or "/"

    @field_validator("php_version", mode="before")
    @classmethod
    def _quoted_version(cls, value: Any) -> Any:
        # YAML reads 8.10 as the number 8.1: only a string says what was meant.
        if value is not None and not (isinstance(value, str) and _PHP_VERSION.match(value)):
            raise ValueError('must be a quoted PHP version such as "8.2"')
        return value

    @field_validator("vulnerability_sources")
    @classmethod
    def _known_feeds(cls, value: list[str] | None) -> list[str] | None:
        # A typo must not silently switch security data off.
        unknown = [name for name in value or () if name not in FEED_NAMES]
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r} (known: {', '.join(FEED_NAMES)})")
        return list(dict.fromkeys(value)) if value is not None else None


class TokenSettings(Strict):
    """`sources.wordfence` and `sources.wpscan` besides `url`."""

    token: str | None = Field(
        None,
        description="API token (Wordfence: sent as a bearer token when set; WPScan: required, "
        "the feed is used only with one); read it with `$env` or `$file`.",
    )

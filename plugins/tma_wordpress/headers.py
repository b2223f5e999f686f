"""Read WordPress file headers and PHP assignments as data, the way WordPress itself does.

`read_file_headers` mirrors `get_file_data()` (wp-includes/functions.php): only the first 8 KiB
of a file count, `\\r` becomes `\\n`, and a header is the first line (anywhere in those 8 KiB)
that starts with optional `<?php`, then only spaces, tabs, `/`, `*`, `#` or `@`, then the
header name and a colon. The first such line wins, so a `Version:` in a later comment is never
picked, and `$x = "Version: 9";` never matches because code precedes the name. Values lose a
trailing `*/` or `?>` and surrounding whitespace (`_cleanup_header_comment()`).

Nothing here executes PHP: a version string or header value is only ever matched by regexes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "HEADER_READ_BYTES",
    "PLUGIN_HEADERS",
    "THEME_HEADERS",
    "read_file_headers",
    "read_php_string_variable",
]

#: WordPress reads headers from the first 8 KiB of a file (`get_file_data`, 8 * KB_IN_BYTES).
HEADER_READ_BYTES = 8192

#: Key -> header name, as `get_plugin_data()` defines them (the keys are what the
#: plugins update-check API receives).
PLUGIN_HEADERS: Mapping[str, str] = {
    "Name": "Plugin Name",
    "PluginURI": "Plugin URI",
    "Version": "Version",
    "Author": "Author",
    "AuthorURI": "Author URI",
    "TextDomain": "Text Domain",
    "DomainPath": "Domain Path",
    "Network": "Network",
    "RequiresWP": "Requires at least",
    "RequiresPHP": "Requires PHP",
    "UpdateURI": "Update URI",
}

#: Key -> header name, as `WP_Theme::$file_headers` defines them.
THEME_HEADERS: Mapping[str, str] = {
    "Name": "Theme Name",
    "ThemeURI": "Theme URI",
    "Version": "Version",
    "Author": "Author",
    "AuthorURI": "Author URI",
    "Template": "Template",
    "TextDomain": "Text Domain",
    "RequiresWP": "Requires at least",
    "RequiresPHP": "Requires PHP",
    "UpdateURI": "Update URI",
}

_TRAILING_COMMENT_END = re.compile(r"\s*(?:\*/|\?>).*")


def _head(text: str) -> str:
    # The host already cut files to 8 KiB, but content reused from a full read (site.files)
    # must be cut the same way, by bytes as PHP does.
    raw = text.encode("utf-8", errors="surrogateescape")
    if len(raw) <= HEADER_READ_BYTES:
        return text
    return raw[:HEADER_READ_BYTES].decode("utf-8", errors="ignore")


def read_file_headers(text: str, headers: Mapping[str, str]) -> dict[str, str]:
    """Header values found in `text`, keyed like `headers` (key -> header name); a header
    absent or empty is left out."""
    data = _head(text).replace("\r", "\n")
    found: dict[str, str] = {}
    for key, name in headers.items():
        pattern = r"^(?:[ \t]*<\?php)?[ \t/*#@]*" + re.escape(name) + r":(.*)$"
        match = re.search(pattern, data, flags=re.MULTILINE | re.IGNORECASE)
        if not match:
            continue
        value = _TRAILING_COMMENT_END.sub("", match.group(1)).strip()
        if value:
            found[key] = value
    return found


def read_php_string_variable(text: str, variable: str) -> str | None:
    """The literal string assigned to `$variable` at the start of a line
    (`$wp_version = '6.1.9';` in wp-includes/version.php), or None."""
    pattern = r"^\s*\$" + re.escape(variable) + r"\s*=\s*(['\"])([^'\"]*)\1\s*;"
    match = re.search(pattern, text, flags=re.MULTILINE)
    return match.group(2) if match else None

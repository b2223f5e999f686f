"""Builders for tests, the demo fleet and benchmarks: real WordPress trees and api.wordpress.org
answers in their real formats (FORMATS.md "WordPress"), written by us, never copied upstream.

Sites:
- `copy_debian_wordpress(dest)`: Debian's installed `wordpress` package as a standalone site
  (symlinks resolved, Debian's /var/lib content merged into `dest/wp-content`).
- `build_wordpress(root, ...)`: a minimal tree in the real layout with chosen versions.

Answers (plain dicts to `json.dumps`, or FeedServer routes that answer by what was asked):
- `core_offer`, `core_version_check_answer`, `core_version_check_route`;
- `plugin_entry`, `plugins_update_check_answer`, `plugins_update_check_route`;
- `theme_entry`, `themes_update_check_answer`, `themes_update_check_route`;
- `serve_wordpress_api(server, ...)` installs the three routes at their real paths.

Vulnerability feeds (Wordfence scanner feed, WPScan v3): built in `testing_vulns`, re-exported
here (`wordfence_record`, `serve_wordfence`, `wpscan_vulnerability`, `serve_wpscan`...).
"""

from __future__ import annotations

import json
import posixpath
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.versions import Version, compare
from tma_wordpress.testing_vulns import (
    WORDFENCE_PATH,
    WPSCAN_PREFIX,
    serve_wordfence,
    serve_wpscan,
    wordfence_range,
    wordfence_record,
    wordfence_route,
    wordfence_software,
    wpscan_component_answer,
    wpscan_core_answer,
    wpscan_vulnerability,
)

__all__ = [
    "CORE_VERSION_CHECK_PATH",
    "DEBIAN_CONTENT_DIR",
    "DEBIAN_WORDPRESS",
    "PLUGINS_UPDATE_CHECK_PATH",
    "THEMES_UPDATE_CHECK_PATH",
    "WORDFENCE_PATH",
    "WPSCAN_PREFIX",
    "build_wordpress",
    "copy_debian_wordpress",
    "core_offer",
    "core_version_check_answer",
    "core_version_check_route",
    "plugin_entry",
    "plugins_update_check_answer",
    "plugins_update_check_route",
    "serve_wordfence",
    "serve_wordpress_api",
    "serve_wpscan",
    "theme_entry",
    "themes_update_check_answer",
    "themes_update_check_route",
    "wordfence_range",
    "wordfence_record",
    "wordfence_route",
    "wordfence_software",
    "wpscan_component_answer",
    "wpscan_core_answer",
    "wpscan_vulnerability",
]

DEBIAN_WORDPRESS = Path("/usr/share/wordpress")
DEBIAN_CONTENT_DIR = Path("/var/lib/wordpress/wp-content")
CORE_VERSION_CHECK_PATH = "/core/version-check/1.7/"
PLUGINS_UPDATE_CHECK_PATH = "/plugins/update-check/1.1/"
THEMES_UPDATE_CHECK_PATH = "/themes/update-check/1.1/"

HeaderSpec = str | Mapping[str, str]


# --- Sites ------------------------------------------------------------------------------------


def copy_debian_wordpress(dest: str | Path, *, with_content: bool = True) -> Path:
    """Copy Debian's /usr/share/wordpress to `dest` resolving symlinks (dangling ones, such as
    .htaccess -> /etc/wordpress/htaccess when absent, are skipped). With `with_content`, Debian's
    /var/lib/wordpress/wp-content (symlinks to the bundled plugins and themes) is merged into
    `dest/wp-content`; without it the copy has no wp-content at all, so Debian's wp-config.php
    loader sends the agent to /var/lib/wordpress/wp-content as WordPress would."""
    target = Path(dest)
    if not (DEBIAN_WORDPRESS / "wp-includes" / "version.php").is_file():
        raise FileNotFoundError("Debian's `wordpress` package is not installed")
    shutil.copytree(
        DEBIAN_WORDPRESS,
        target,
        symlinks=False,
        ignore_dangling_symlinks=True,
        dirs_exist_ok=True,
        ignore=None if with_content else shutil.ignore_patterns("wp-content"),
    )
    if with_content:
        shutil.copytree(
            DEBIAN_CONTENT_DIR,
            target / "wp-content",
            symlinks=False,
            ignore_dangling_symlinks=True,
            dirs_exist_ok=True,
        )
    return target


def _headers(spec: HeaderSpec, defaults: Mapping[str, str]) -> dict[str, str]:
    if isinstance(spec, str):
        return {**defaults, "Version": spec}
    return {**defaults, **spec}


def _comment_block(headers: Mapping[str, str], *, star_prefix: bool) -> str:
    prefix = " * " if star_prefix else ""
    lines = [f"{prefix}{name}: {value}" for name, value in headers.items()]
    opening = "/**" if star_prefix else "/*"
    closing = " */" if star_prefix else "*/"
    return "\n".join([opening, *lines, closing]) + "\n"


def _plugin_file(key: str) -> str:
    """`akismet` -> `akismet/akismet.php`; `hello.php` and `dir/main.php` stay as they are."""
    return key if key.endswith(".php") else f"{key}/{key}.php"


def _plugin_source(slug: str, headers: Mapping[str, str]) -> str:
    body = (
        "\nif ( ! defined( 'ABSPATH' ) ) {\n\texit;\n}\n\n"
        f"function {slug.replace('-', '_')}_init() {{\n\treturn true;\n}}\n"
    )
    return "<?php\n" + _comment_block(headers, star_prefix=True) + body


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


_PLAIN_WP_CONFIG = """<?php
/** Test site configuration written by tma_wordpress.testing. */
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wordpress' );
define( 'DB_PASSWORD', 'secret' );
define( 'DB_HOST', 'localhost' );
$table_prefix = 'wp_';
{extra}
if ( ! defined( 'ABSPATH' ) ) {{
\tdefine( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""

# Same behaviour as Debian's loader (host config in /etc/wordpress, content dir default),
# written here in a few lines.
_DEBIAN_LOADER_WP_CONFIG = """<?php
/* Debian-style loader: host settings live in /etc/wordpress/config-<host>.php. */
$debian_server = preg_replace('/:.*/', '', $_SERVER['HTTP_HOST']);
$debian_file = '/etc/wordpress/config-'.strtolower($debian_server).'.php';
if (file_exists($debian_file)) {
    require_once($debian_file);
} elseif (file_exists('/etc/wordpress/config-default.php')) {
    require_once('/etc/wordpress/config-default.php');
}
if (!defined('ABSPATH'))
    define('ABSPATH', '/usr/share/wordpress/');
if (!defined('WP_CONTENT_DIR') && !defined('DONT_SET_WP_CONTENT_DIR'))
    define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
require_once(ABSPATH . 'wp-settings.php');
"""


def build_wordpress(
    root: str | Path,
    *,
    core: str = "6.1.9",
    required_php: str = "5.6.20",
    plugins: Mapping[str, HeaderSpec] | None = None,
    themes: Mapping[str, HeaderSpec] | None = None,
    mu_plugins: Mapping[str, str | None] | None = None,
    update_uri: Mapping[str, str] | None = None,
    content_dir: str | Path | None = None,
    wp_config: str = "plain",
) -> Path:
    """Write a WordPress tree in the real layout and return its root.

    - `plugins`: key `akismet` (-> `akismet/akismet.php`), `hello.php` (single file) or
      `dir/main.php`; value a version or a mapping of header names to values
      (`{"Version": "1.0", "Requires PHP": "7.4"}`), merged over sensible defaults.
    - `themes`: slug -> version or header mapping (written to `themes/<slug>/style.css`).
    - `mu_plugins`: file stem -> version, or None for a file without a header block.
    - `update_uri`: plugin key -> `Update URI` header.
    - `content_dir`: where wp-content goes (default `<root>/wp-content`); with the plain config
      a `define('WP_CONTENT_DIR', ...)` pointing there is added.
    - `wp_config`: `"plain"`, `"debian"` (a Debian-style loader), `"none"`, or the file text.
    """
    site = Path(root)
    content = Path(content_dir) if content_dir is not None else site / "wp-content"
    _write(
        site / "wp-includes" / "version.php",
        "<?php\n/**\n * WordPress Version\n *\n * Contains version information.\n */\n\n"
        "/**\n * The WordPress version string.\n *\n * @global string $wp_version\n */\n"
        f"$wp_version = '{core}';\n\n$wp_db_version = 53496;\n\n"
        f"$tinymce_version = '49110-20201110';\n\n$required_php_version = '{required_php}';\n\n"
        "$required_mysql_version = '5.0';\n",
    )
    _write(site / "wp-load.php", "<?php\n/** Bootstrap file for setting the ABSPATH. */\n")
    _write(site / "index.php", "<?php\ndefine( 'WP_USE_THEMES', true );\n")
    if wp_config == "plain":
        extra = f"define( 'WP_CONTENT_DIR', '{content}' );" if content_dir is not None else ""
        _write(site / "wp-config.php", _PLAIN_WP_CONFIG.format(extra=extra))
    elif wp_config == "debian":
        _write(site / "wp-config.php", _DEBIAN_LOADER_WP_CONFIG)
    elif wp_config != "none":
        _write(site / "wp-config.php", wp_config)

    _write(content / "index.php", "<?php\n// Silence is golden.\n")
    _write(content / "plugins" / "index.php", "<?php\n// Silence is golden.\n")
    _write(content / "themes" / "index.php", "<?php\n// Silence is golden.\n")
    for key, spec in (plugins or {}).items():
        plugin_file = _plugin_file(key)
        slug = plugin_file.split("/")[0].removesuffix(".php")
        defaults = {
            "Plugin Name": slug.replace("-", " ").title(),
            "Plugin URI": f"https://wordpress.org/plugins/{slug}/",
            "Description": f"The {slug} plugin.",
            "Version": "1.0.0",
            "Requires at least": "5.8",
            "Requires PHP": "7.0",
            "Author": "Test Author",
            "License": "GPLv2 or later",
            "Text Domain": slug,
        }
        headers = _headers(spec, defaults)
        if update_uri and key in update_uri:
            headers["Update URI"] = update_uri[key]
        _write(content / "plugins" / plugin_file, _plugin_source(slug, headers))
    for stem, version in (mu_plugins or {}).items():
        if version is None:
            text = "<?php\n// Site-specific tweaks, no header.\nadd_filter( 'xmlrpc_enabled', '__return_false' );\n"
        else:
            headers = {"Plugin Name": stem.replace("-", " ").title(), "Version": version}
            text = _plugin_source(stem, headers)
        _write(content / "mu-plugins" / f"{stem}.php", text)
    for slug, spec in (themes or {}).items():
        defaults = {
            "Theme Name": slug.replace("-", " ").title(),
            "Theme URI": f"https://wordpress.org/themes/{slug}/",
            "Author": "Test Author",
            "Description": f"The {slug} theme.",
            "Version": "1.0",
            "Requires at least": "5.9",
            "Requires PHP": "5.6",
            "License": "GNU General Public License v2 or later",
            "Text Domain": slug,
        }
        headers = _headers(spec, defaults)
        style = _comment_block(headers, star_prefix=False) + "\nbody { margin: 0; }\n"
        _write(content / "themes" / slug / "style.css", style)
        _write(content / "themes" / slug / "index.php", "<?php\n// Silence is golden.\n")
    return site


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

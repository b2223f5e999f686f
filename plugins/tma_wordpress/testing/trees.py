"""Real WordPress trees for tests, the demo fleet and benchmarks, written by us.

- `copy_debian_wordpress(dest)`: Debian's installed `wordpress` package as a standalone site
  (symlinks resolved, Debian's /var/lib content merged into `dest/wp-content`).
- `build_wordpress(root, ...)`: a minimal tree in the real layout with chosen versions.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DEBIAN_CONTENT_DIR",
    "DEBIAN_WORDPRESS",
    "HeaderSpec",
    "build_wordpress",
    "copy_debian_wordpress",
]

DEBIAN_WORDPRESS = Path("/usr/share/wordpress")

DEBIAN_CONTENT_DIR = Path("/var/lib/wordpress/wp-content")

HeaderSpec = str | Mapping[str, str]


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

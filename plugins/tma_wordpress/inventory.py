"""List what a WordPress site runs: core, plugins, must-use plugins and themes.

Round trips: core facts and wp-config.php come from the files the runner read during detection
(`site.files`); plugins, must-use plugins and themes come from ONE `read_glob` of their
directories (following symlinks, as Debian links bundled plugins and themes into its content
dir) capped at 8 KiB per file, the part WordPress itself reads headers from.

Content directory, first match wins:
1. `sites[].options.content_dir` when set;
2. a literal `define('WP_CONTENT_DIR', '...')` in wp-config.php (also `__DIR__ . '/x'`,
   `dirname(__FILE__) . '/x'` and `ABSPATH . 'x'`), matched as data, never executed,
   unless wp-config.php is Debian's loader, whose define is only a default;
3. `<root>/wp-content` when it holds any plugin or theme;
4. when wp-config.php is Debian's loader (it requires `/etc/wordpress/config-<host>.php` and
   sets WP_CONTENT_DIR to `/var/lib/wordpress/wp-content` unless defined), that directory.
Candidates 3 and 4 are globbed in the same round trip and chosen by what was found, so the
choice costs nothing. A Debian host config that defines another WP_CONTENT_DIR cannot be seen
without knowing the virtual host: set `options.content_dir` for such a site.

Discovery follows WordPress: plugins are `plugins/<file>.php` and `plugins/<dir>/<file>.php`
with a `Plugin Name:` header (name: the directory slug, or the file stem for single-file
plugins such as `hello`); themes are `themes/<slug>/style.css` with a `Theme Name:` header;
must-use plugins are every top-level `mu-plugins/*.php` (WordPress loads them all, header or
not). Must-use plugins are never updated through wordpress.org, so they are listed with
`extra["must_use"] = True` and evaluated as `update="unknown"`, `source="mu-plugin"`.
Drop-ins (`db.php`, `object-cache.php`...) are not listed.

A plugin or theme file the host found but did not read (`FileSet.problems`: unreadable, over the
size cap, a link leaving the site), or one that is binary where its header should be, makes a
component with `problem` set (reported `unknown` with the reason), named by its directory slug:
`plugins/<slug>/<slug>.php` or any other file of a plugin directory that has no readable main
file, `plugins/<file>.php`, `mu-plugins/<file>.php`, `themes/<slug>/style.css`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError
from tma_agent.models import Component, ComponentKind
from tma_wordpress.detect import VERSION_FILE, read_core_facts
from tma_wordpress.headers import (
    HEADER_READ_BYTES,
    PLUGIN_HEADERS,
    THEME_HEADERS,
    read_file_headers,
)
from tma_wordpress.settings import WordPressOptions

__all__ = ["DEBIAN_CONTENT_DIR", "content_dir_candidates", "list_components"]

DEBIAN_CONTENT_DIR = "/var/lib/wordpress/wp-content"
_DEBIAN_LOADER_MARKER = "/etc/wordpress/config-"

_PHP_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_PHP_LINE_COMMENT = re.compile(r"^\s*(?://|#).*$", re.MULTILINE)
_CONTENT_DIR_DEFINE = re.compile(
    r"""define\(\s*['"]WP_CONTENT_DIR['"]\s*,\s*"""
    r"""(?P<base>__DIR__|dirname\(\s*__FILE__\s*\)|ABSPATH)?\s*\.?\s*"""
    r"""(?P<q>['"])(?P<path>[^'"]+)(?P=q)\s*\)""",
)


def _defined_content_dir(wp_config: str, config_dir: str, root: str) -> str | None:
    code = _PHP_LINE_COMMENT.sub("", _PHP_BLOCK_COMMENT.sub("", wp_config))
    match = _CONTENT_DIR_DEFINE.search(code)
    if not match:
        return None
    path, base = match["path"], match["base"]
    if base == "ABSPATH":
        path = posixpath.join(root, path.lstrip("/"))
    elif base is not None:
        path = posixpath.join(config_dir, path.lstrip("/"))
    return posixpath.normpath(path) if path.startswith("/") else None


def content_dir_candidates(site: SiteContext, root: str, wp_config: str | None) -> list[str]:
    """Content directories to glob, in order of preference (module docstring)."""
    configured = site.options_as(WordPressOptions).content_dir
    if configured:
        return [configured]
    is_debian_loader = wp_config is not None and _DEBIAN_LOADER_MARKER in wp_config
    if wp_config is not None and not is_debian_loader:
        defined = _defined_content_dir(wp_config, root, root)
        if defined:
            return [defined]
    candidates = [posixpath.join(root, "wp-content")]
    if is_debian_loader:
        candidates.append(DEBIAN_CONTENT_DIR)
    return candidates


def _known_file(site: SiteContext, path: str) -> str | None:
    # Reuse what detection read; only a root found by another plugin's detection needs a read.
    if path not in site.files:
        site.remember(site.host.read_many([path]))
    return site.files.get(path)


def _core_component(site: SiteContext, root: str) -> Component:
    version_php = _known_file(site, posixpath.join(root, VERSION_FILE))
    problem = site.file_problem(posixpath.join(root, VERSION_FILE))
    if problem is not None:
        raise SiteTreeError(f"{site.host.name}:{root}/{VERSION_FILE}: {problem}")
    if version_php is None:
        raise SiteTreeError(f"{site.host.name}:{root}: cannot read {VERSION_FILE}")
    facts = read_core_facts(version_php)
    if facts.version is None:
        raise SiteTreeError(f"{site.host.name}:{root}/{VERSION_FILE}: no $wp_version found")
    extra = {"required_php": facts.required_php, "db_version": facts.db_version}
    return Component("wordpress", "core", facts.version, VERSION_FILE, extra)


def _relative(path: str, directory: str) -> list[str] | None:
    prefix = directory + "/"
    if not path.startswith(prefix):
        return None
    parts = path[len(prefix) :].split("/")
    # WordPress skips hidden files and directories.
    return None if any(part.startswith(".") for part in parts) else parts


def _bad_files(files: Mapping[str, str], problems: Mapping[str, str]) -> dict[str, str]:
    """path -> reason for every file found but not read, or binary (NUL bytes) where its header
    should be; such a file only stands for a component no readable header names. Invalid
    UTF-8 alone is not binary: old plugins write their headers in Latin-1."""
    bad = dict(problems)
    for path, content in files.items():
        if "\x00" in content[:HEADER_READ_BYTES]:
            bad[path] = "binary data where the file header should be"
    return bad


def _problem_components(
    bad: Mapping[str, str], directory: str, content_dir: str, kind: ComponentKind, seen: set[str]
) -> list[Component]:
    """One unknown component per slug of `directory` that only bad files stand for."""
    found = []
    for path in sorted(bad):
        parts = _relative(path, directory)
        if parts is None or len(parts) > 2:
            continue
        # A single part not named like a file is a directory the host would not enter (a
        # symlink leaving the site): the plugin or theme it holds is named after it.
        is_directory = len(parts) == 1 and not parts[0].endswith((".php", ".css"))
        if kind == "theme" and not is_directory and parts[-1] != "style.css":
            continue
        if kind == "plugin" and not is_directory and not parts[-1].endswith(".php"):
            continue
        if parts == ["index.php"]:
            continue  # index.php beside the plugins is WordPress' "Silence is golden" stub
        slug = parts[0].removesuffix(".php") if len(parts) == 1 else parts[0]
        if slug in seen or (kind == "theme" and len(parts) != 2 and not is_directory):
            continue
        seen.add(slug)
        origin = posixpath.relpath(path, posixpath.dirname(content_dir))
        found.append(Component(slug, kind, None, origin, problem=f"{origin}: {bad[path]}"))
    return found


def _plugins(files: Mapping[str, str], bad: Mapping[str, str], content_dir: str) -> list[Component]:
    plugins_dir = content_dir + "/plugins"
    found = []
    for path in sorted(files):
        parts = _relative(path, plugins_dir)
        if parts is None or len(parts) > 2 or not parts[-1].endswith(".php"):
            continue
        headers = read_file_headers(files[path], PLUGIN_HEADERS)
        if "Name" not in headers:
            continue
        plugin_file = "/".join(parts)
        name = parts[0] if len(parts) == 2 else parts[0].removesuffix(".php")
        extra = {"file": plugin_file, "headers": headers, "must_use": False}
        origin = posixpath.relpath(path, posixpath.dirname(content_dir))
        found.append(Component(name, "plugin", headers.get("Version"), origin, extra))
    seen = {c.name for c in found}
    return [*found, *_problem_components(bad, plugins_dir, content_dir, "plugin", seen)]


def _mu_plugins(
    files: Mapping[str, str], bad: Mapping[str, str], content_dir: str
) -> list[Component]:
    mu_dir = content_dir + "/mu-plugins"
    found = []
    for path in sorted(files):
        parts = _relative(path, mu_dir)
        if parts is None or len(parts) != 1 or not parts[0].endswith(".php"):
            continue
        headers = read_file_headers(files[path], PLUGIN_HEADERS)
        if parts[0] == "index.php" and "Name" not in headers:
            continue  # the "Silence is golden" placeholder, skipped by get_mu_plugins() too
        extra = {"file": parts[0], "headers": headers, "must_use": True}
        origin = posixpath.relpath(path, posixpath.dirname(content_dir))
        name = parts[0].removesuffix(".php")
        found.append(Component(name, "plugin", headers.get("Version"), origin, extra))
    top_level = {p: r for p, r in bad.items() if posixpath.dirname(p) == mu_dir}
    seen = {c.name for c in found}
    return [*found, *_problem_components(top_level, mu_dir, content_dir, "plugin", seen)]


def _themes(files: Mapping[str, str], bad: Mapping[str, str], content_dir: str) -> list[Component]:
    themes_dir = content_dir + "/themes"
    found = []
    for path in sorted(files):
        parts = _relative(path, themes_dir)
        if parts is None or len(parts) != 2 or parts[1] != "style.css":
            continue
        headers = read_file_headers(files[path], THEME_HEADERS)
        if "Name" not in headers:
            continue  # WordPress reports such a theme as broken and never checks it
        extra = {"stylesheet": parts[0], "headers": headers}
        origin = posixpath.relpath(path, posixpath.dirname(content_dir))
        found.append(Component(parts[0], "theme", headers.get("Version"), origin, extra))
    seen = {c.name for c in found}
    return [*found, *_problem_components(bad, themes_dir, content_dir, "theme", seen)]


def list_components(site: SiteContext) -> list[Component]:
    root = site.root or site.path
    core = _core_component(site, root)
    wp_config = _known_file(site, posixpath.join(root, "wp-config.php"))
    candidates = content_dir_candidates(site, root, wp_config)
    roots = [f"{c}/{sub}" for c in candidates for sub in ("plugins", "mu-plugins", "themes")]
    files = site.host.read_glob(
        roots, ["*.php", "style.css"], max_depth=2, max_bytes=HEADER_READ_BYTES
    )
    content_dir = next(
        (c for c in candidates if any(p.startswith(c + "/") for p in files)), candidates[0]
    )
    core.extra["content_dir"] = content_dir
    bad = _bad_files(files, files.problems)
    return [
        core,
        *_plugins(files, bad, content_dir),
        *_mu_plugins(files, bad, content_dir),
        *_themes(files, bad, content_dir),
    ]

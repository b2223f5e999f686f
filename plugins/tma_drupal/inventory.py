"""List a Drupal site's projects (core, contrib modules, themes, profiles) from its files.

One `read_glob` round trip reads every `*.info.yml` (Drupal 8+) or `*.info` (Drupal 7) under the
docroot's extension directories, plus `vendor/composer/installed.json` when there is no
composer.lock; files already read during detection come from `site.files`.

Precedence of versions, most authoritative first: composer.lock (what `composer install`
deploys), vendor/composer/installed.json, then the info file's drupal.org packaging lines.
A Composer version is mapped to the drupal.org one through the package's `extra.drupal.version`,
else the info file when they agree, else both readings (`8.x-1.2` or `1.2.0`) are kept as
candidates for evaluation to resolve against the feed.

A composer.lock or installed.json that exists but cannot be read or parsed makes the site an
error naming the file (it is the inventory). An info file that cannot be read (`FileSet.problems`)
or parsed (infofiles.py) makes its extension a component with `problem` set: reported `unknown`
with the reason, the other extensions still checked.

Components are drupal.org projects: submodules sharing a `project:` are one component. An
extension without `project:` is custom (not on drupal.org).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import GlobRequest
from tma_agent.models import Component, ComponentKind
from tma_agent.versions import composer_to_drupal_candidates, drupal_to_composer
from tma_drupal.detect import (
    COMPOSER_LOCK,
    DOCROOT_CANDIDATES,
    CoreFacts,
    core_facts,
    detect_paths,
    strict_composer_packages,
)
from tma_drupal.infofiles import InfoFile, ParsedInfoFiles, unreadable_info_file

__all__ = ["INSTALLED_JSON", "inventory", "likely_globs"]

INSTALLED_JSON = "vendor/composer/installed.json"
#: Deep enough for modules/contrib/<project>/modules/<submodule>/<submodule>.info.yml.
_SCAN_DEPTH = 6
_EXTENSION_DIRS_D8 = ("modules", "themes", "profiles")
_EXTENSION_DIRS_D7 = ("profiles",)
_SITE_EXTENSION_DIRS = (
    "sites/all/modules",
    "sites/all/themes",
    "sites/default/modules",
    "sites/default/themes",
)
_COMPOSER_KINDS: dict[str, ComponentKind] = {
    "drupal-module": "module",
    "drupal-theme": "theme",
    "drupal-profile": "profile",
}
#: Extensions there are never installed projects (test fixtures, front-end build trees).
_IGNORED_SEGMENTS = ("/tests/", "/node_modules/", "/vendor/")


def likely_globs() -> list[GlobRequest]:
    """What `_scan` reads on any layout (docroots as detection tries them, Drupal 7 or 8+), for
    the runner to read in the detection round trip; installed.json (no lock) is not in it."""
    dirs = sorted({*_EXTENSION_DIRS_D8, *_EXTENSION_DIRS_D7, *_SITE_EXTENSION_DIRS})
    roots = tuple(posixpath.join(d, e) for d in DOCROOT_CANDIDATES for e in dirs)
    return [GlobRequest(roots, ("*.info", "*.info.yml"), _SCAN_DEPTH)]


def inventory(site: SiteContext) -> list[Component]:
    files_here = _detection_files(site)
    facts = core_facts(files_here)
    if facts is None:
        raise SiteTreeError(f"{site.host.name}:{site.path} is not a Drupal tree")
    docroot = posixpath.normpath(posixpath.join(site.path, facts.docroot))
    if not facts.version:
        origin = posixpath.join(site.path, facts.origin)
        raise SiteTreeError(f"{site.host.name}:{origin}: cannot read the Drupal core version")

    lock = _composer_file(site, COMPOSER_LOCK, files_here.get(COMPOSER_LOCK))
    composer_origin = COMPOSER_LOCK
    scanned, problems = _scan(site, docroot, facts, want_installed_json=not lock)
    if not lock:
        installed_json = posixpath.join(site.path, INSTALLED_JSON)
        problems.pop(installed_json, None)
        lock = _composer_file(site, INSTALLED_JSON, scanned.pop(installed_json, None))
        composer_origin = INSTALLED_JSON
    core_prefix = "7.x" if facts.drupal7 else "8.x"
    core = Component(
        "drupal",
        "core",
        facts.version,
        origin=facts.origin,
        extra={"project": "drupal", "drupal7": facts.drupal7},
    )
    projects = _projects_from_info(site, docroot, scanned, problems, drupal7=facts.drupal7)
    _apply_composer(projects, lock, core_prefix, composer_origin, drupal7=facts.drupal7)
    return [core, *sorted(projects.values(), key=lambda c: (c.kind, c.name))]


def _detection_files(site: SiteContext) -> dict[str, str | None]:
    """The detection markers relative to the site path, from what the runner already read."""
    wanted = {rel: posixpath.join(site.path, rel) for rel in detect_paths()}
    missing = [path for path in wanted.values() if path not in site.files]
    if missing:  # only when called without the runner's detection pass
        site.remember(site.host.read_many(missing))
    return {rel: site.files.get(path) for rel, path in wanted.items()}


def _composer_file(site: SiteContext, relative: str, content: str | None) -> dict[str, Any]:
    """The packages of composer.lock / installed.json; a file there but unreadable or
    unparsable is the site's error (it lists what is installed)."""
    where = f"{site.host.name}:{posixpath.join(site.path, relative)}"
    problem = site.file_problem(posixpath.join(site.path, relative))
    if problem is not None:
        raise SiteTreeError(f"{where}: {problem}")
    return strict_composer_packages(content, where) if content is not None else {}


def _scan(
    site: SiteContext, docroot: str, facts: CoreFacts, *, want_installed_json: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """Every info file (and installed.json) read, and those found but not read -> reason."""
    dirs = (_EXTENSION_DIRS_D7 if facts.drupal7 else _EXTENSION_DIRS_D8) + _SITE_EXTENSION_DIRS
    roots = [posixpath.join(docroot, d) for d in dirs]
    names = ["*.info"] if facts.drupal7 else ["*.info.yml"]
    if want_installed_json:
        roots.append(posixpath.join(site.path, posixpath.dirname(INSTALLED_JSON)))
        names.append(posixpath.basename(INSTALLED_JSON))
    found = site.host.read_glob(roots, names, max_depth=_SCAN_DEPTH)
    site.remember(found)
    return dict(found), dict(found.problems)


def _projects_from_info(
    site: SiteContext,
    docroot: str,
    scanned: Mapping[str, str],
    problems: Mapping[str, str],
    *,
    drupal7: bool,
) -> dict[str, Component]:
    groups: dict[str, list[InfoFile]] = {}
    parsed = site.run.memo(("drupal.info_files",), ParsedInfoFiles)
    inside = docroot.rstrip("/") + "/"
    for path in sorted({*scanned, *problems}):
        relative = _relative(path, inside, docroot)
        if any(segment in f"/{relative}" for segment in _IGNORED_SEGMENTS):
            continue
        suffix = ".info" if drupal7 else ".info.yml"
        # A problem path not named like an info file is a directory the host would not enter
        # (a symlink leaving the site): an extension named after it, its info file unseen.
        if not path.endswith(suffix) and path not in problems:
            continue
        if path in problems:
            info = unreadable_info_file(relative, problems[path], drupal7=drupal7)
        else:
            info = parsed.parse(relative, scanned[path], drupal7=drupal7)
        if info.error:
            site.log.warning("drupal: bad info file", file=path, error=info.error)
        if info.project == "drupal":
            continue  # core's own extensions (Drupal 7 profiles) belong to core
        groups.setdefault(info.project or info.machine_name, []).append(info)
    site_relative = posixpath.relpath(docroot, site.path)
    return {key: _component_from_group(key, infos, site_relative) for key, infos in groups.items()}


def _relative(path: str, inside: str, docroot: str) -> str:
    """posixpath.relpath(path, docroot), without its cost for the usual case: a normalized
    path under the docroot (as `find` prints them under normalized roots)."""
    rest = path[len(inside) :] if path.startswith(inside) else ""
    if rest and posixpath.normpath(rest) == rest and not rest.startswith("../"):
        return rest
    return posixpath.relpath(path, docroot)


def _component_from_group(key: str, infos: list[InfoFile], docroot: str) -> Component:
    """One component per project: the extension named like the project speaks for it."""
    main = next((i for i in infos if i.machine_name == key), infos[0])
    extra: dict[str, Any] = {"machine_name": main.machine_name}
    if main.project:
        extra["project"] = main.project
    if main.datestamp:
        extra["datestamp"] = main.datestamp
    problem = None
    if main.error:
        extra["error"] = main.error
        problem = f"{posixpath.normpath(posixpath.join(docroot, main.origin))}: {main.error}"
    submodules = sorted(i.machine_name for i in infos if i is not main)
    if submodules:
        extra["submodules"] = submodules
    # A custom extension keeps the version it states, but without a project it has no feed.
    return Component(key, main.kind, main.version, origin=main.origin, extra=extra, problem=problem)


def _apply_composer(
    projects: dict[str, Component],
    packages: Mapping[str, Mapping[str, Any]],
    core_prefix: str,
    origin: str,
    *,
    drupal7: bool,
) -> None:
    for name, package in sorted(packages.items()):
        kind = _COMPOSER_KINDS.get(str(package.get("type", "")))
        version = package.get("version")
        if not name.startswith("drupal/") or kind is None or not isinstance(version, str):
            continue
        short_name = name.split("/", 1)[1]
        drupal_extra = (package.get("extra") or {}).get("drupal") or {}
        component = projects.get(short_name)
        if component is None:
            component = Component(short_name, kind, None, origin=origin)
            projects[short_name] = component
        component.extra["project"] = short_name
        component.extra["composer_version"] = version
        # composer.lock states the version the bad info file hid: the lock speaks for it.
        component.extra.pop("error", None)
        component.problem = None
        component.origin = origin
        if isinstance(drupal_extra, dict) and isinstance(drupal_extra.get("version"), str):
            component.installed = drupal_extra["version"]
            if str(drupal_extra.get("datestamp", "")).isdigit():
                component.extra["datestamp"] = int(drupal_extra["datestamp"])
            continue
        candidates = composer_to_drupal_candidates(version, core_prefix=core_prefix)
        if component.installed and _composer_form(component.installed) == candidates[0]:
            continue  # the info file already names this version the drupal.org way
        if drupal7:
            candidates.reverse()  # Drupal 7 contrib is always `7.x-` numbered
        component.installed = candidates[0]
        if len(candidates) > 1:
            component.extra["version_candidates"] = candidates


def _composer_form(drupal_version: str) -> str | None:
    try:
        return drupal_to_composer(drupal_version)
    except ValueError:
        return None

"""List what a PrestaShop site runs: core and every module on disk, in ONE round trip.

Core comes from the files the runner read for detection (`site.files`). Modules come from one
`read_glob` of `modules/` two levels deep, reading every `config.xml` and `*.php` there, each
cut at `MAIN_FILE_MAX_BYTES` (a module's constructor sits near the top of its main file).

What counts as a module is what PrestaShop itself lists (`Module::getModulesDirOnDisk()`): a
directory `modules/<name>/` holding `<name>.php`, `<name>` made of letters, digits, `_`, `-`.
Its version, first found wins:
1. `$this->version = '2.0.3';` in the main file: the truth PrestaShop loads;
2. `<version>` of `config.xml`, the cache PrestaShop writes from the main file. It goes stale
   when files are deployed without visiting the back office (PrestaShop then reloads the main
   file, as we do), so it only speaks when the main file sets the version another way
   (`$this->version = self::VERSION;`) or past the read cap.
A module with neither is listed with no version and evaluated `unknown`. A malformed
config.xml is not a site error: when the main file states the version it is only logged (naming
the file); otherwise the module gets `problem` set (reported `unknown` with the reason), and the
other modules go on. So does a main file the host found but did not read (`FileSet.problems`). Parsing uses defusedxml
(no DTD, no entities); PHP is matched with regexes, never executed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError
from tma_agent.models import Component
from tma_prestashop.detect import APP_KERNEL, DEFINES, SETTINGS, core_facts, strip_php_comments
from tma_prestashop.lines import line_name, major_line, try_version

__all__ = [
    "MAIN_FILE_MAX_BYTES",
    "MODULE_NAME",
    "list_components",
    "main_file_version",
    "module_version",
]

MAIN_FILE_MAX_BYTES = 32 * 1024
MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_THIS_VERSION = re.compile(r"""\$this->version\s*=\s*(['"])([^'"\s]+)\1\s*;""")


def main_file_version(text: str) -> str | None:
    """The literal `$this->version = '...';` of a module's main file, if any."""
    match = _THIS_VERSION.search(strip_php_comments(text))
    return match.group(2) if match else None


def module_version(main: str | None, config: str | None) -> str | None:
    """The version PrestaShop loads, from the texts of a module's main file and config.xml
    (the same order as the inventory: the main file's literal first); None when neither says
    (a config.xml that does not parse says nothing)."""
    found = main_file_version(main) if main is not None else None
    if found or config is None:
        return found
    try:
        return _text(_parse_config_xml(config), "version")
    except ValueError:
        return None


def _parse_config_xml(text: str) -> Element:
    try:
        root = safe_xml.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ValueError(f"refused unsafe XML ({type(exc).__name__})") from None
    except safe_xml.ParseError as exc:
        raise ValueError(f"invalid XML ({exc})") from None
    if root.tag != "module":
        raise ValueError(f"root element is <{root.tag}>, not <module>")
    return root


def _text(element: Element, tag: str) -> str | None:
    value = element.findtext(tag)
    return value.strip() if value and value.strip() else None


def _module(site: SiteContext, name: str, main: str, config: str | None, root: str) -> Component:
    main_path = f"modules/{name}/{name}.php"
    config_path = f"modules/{name}/config.xml"
    main_version = main_file_version(main)
    extra: dict[str, object] = {"main_version": main_version}
    config_version = None
    if config is not None:
        try:
            xml = _parse_config_xml(config)
        except ValueError as exc:
            where = f"{site.host.name}:{posixpath.join(root, config_path)}"
            site.log.warning(
                "prestashop: ignoring malformed config.xml", file=where, error=str(exc)
            )
            extra["config_error"] = f"{where}: {exc}"
            extra["config_reason"] = str(exc)
        else:
            config_version = _text(xml, "version")
            extra["display_name"] = _text(xml, "displayName")
    extra["config_version"] = config_version
    if main_version:
        if config_version and try_version(config_version) != try_version(main_version):
            site.log.info(
                "prestashop: config.xml is stale",
                module=name,
                config=config_version,
                main=main_version,
            )
        return Component(name, "module", main_version, main_path, extra)
    if config_version:
        return Component(name, "module", config_version, config_path, extra)
    if "config_error" in extra:
        problem = f"{config_path}: {extra['config_reason']}"
        return Component(name, "module", None, config_path, extra, problem=problem)
    site.log.warning("prestashop: no module version found", module=name, file=main_path)
    return Component(name, "module", None, main_path, extra)


def _modules(
    site: SiteContext, root: str, files: Mapping[str, str], problems: Mapping[str, str]
) -> list[Component]:
    prefix = posixpath.join(root, "modules") + "/"
    layout: dict[str, dict[str, str]] = {}
    unread: dict[str, str] = {}
    for path in {*files, *problems}:
        parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
        if not 1 <= len(parts) <= 2 or not MODULE_NAME.match(parts[0]):
            continue
        if path in problems:
            # `modules/<name>` itself: a directory the host would not enter (a leaving symlink).
            if len(parts) == 1 or parts[1] == f"{parts[0]}.php":
                unread[parts[0]] = problems[path]
        elif len(parts) == 1:
            continue
        else:
            layout.setdefault(parts[0], {})[parts[1]] = files[path]
    modules = []
    for name in sorted({*layout, *unread}):
        main_path = f"modules/{name}/{name}.php"
        if name in unread:
            leaving = f"modules/{name}" if f"{prefix}{name}" in problems else main_path
            problem = f"{leaving}: {unread[name]}"
            modules.append(Component(name, "module", None, main_path, problem=problem))
            continue
        entries = layout[name]
        main = entries.get(f"{name}.php")
        if main is None:
            continue  # PrestaShop ignores a directory without its main file
        modules.append(_module(site, name, main, entries.get("config.xml"), root))
    return modules


def _core(site: SiteContext, root: str) -> Component:
    # Detection already read these files (site.files); a root found otherwise costs one read.
    wanted = {rel: posixpath.join(root, rel) for rel in (APP_KERNEL, SETTINGS, DEFINES)}
    missing = [path for path in wanted.values() if path not in site.files]
    if missing:
        site.remember(site.host.read_many(missing))
    facts = core_facts({rel: site.files.get(path) for rel, path in wanted.items()})
    if facts is None:
        raise SiteTreeError(f"{site.host.name}:{root}: no PrestaShop version found")
    where = f"{site.host.name}:{posixpath.join(root, facts.origin)}"
    if facts.version is None:
        raise SiteTreeError(f"{where}: no PrestaShop version found")
    version = try_version(facts.version)
    if version is None:
        raise SiteTreeError(f"{where}: unreadable PrestaShop version {facts.version!r}")
    extra = {"major": line_name(major_line(version))}
    return Component("prestashop", "core", facts.version, facts.origin, extra)


def list_components(site: SiteContext) -> list[Component]:
    root = site.root or site.path
    core = _core(site, root)
    files = site.host.read_glob(
        [posixpath.join(root, "modules")],
        ["config.xml", "*.php"],
        max_depth=2,
        max_bytes=MAIN_FILE_MAX_BYTES,
    )
    return [core, *_modules(site, root, files, files.problems)]

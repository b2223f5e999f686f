"""Read what an npm project asks for (package.json) and has installed (its lockfile), as data.

Lockfiles, all three formats npm writes (npm-shrinkwrap.json has the same format):
- v1 (npm 5-6): a nested `dependencies` tree, each entry `{version, resolved, dev, requires,
  dependencies}`; a nested entry is installed in its parent's own node_modules;
- v2 (npm 7-8): the v1 tree plus a flat `packages` map keyed by install path
  (`node_modules/a/node_modules/b`); `packages` is read, the tree is only there for old npms;
- v3 (npm 9+): `packages` only.
The name is the part after the last `node_modules/` (`@angular/core` keeps its scope), or the
entry's `name` for an alias (`"my-react": "npm:react@^18"`). A v1 alias writes its version as
`npm:react@18.2.0`.

A package is from the registry when its version is a semver and its `resolved` (if any) is an
http(s) tarball; git, `file:` and linked (workspace) packages are not: the registry knows nothing
true about them, so they get neither metadata nor advisories.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tma_agent._json import JSONError, parse_json
from tma_agent.errors import SiteTreeError
from tma_agent.versions import NpmVersion

__all__ = [
    "SUPPORTED_LOCKFILE_VERSIONS",
    "LockedPackage",
    "Manifest",
    "parse_lockfile",
    "parse_manifest",
    "split_alias",
]

SUPPORTED_LOCKFILE_VERSIONS = (1, 2, 3)
_MANIFEST_SECTIONS = ("dependencies", "optionalDependencies", "devDependencies")


@dataclass(frozen=True)
class Manifest:
    """package.json: each direct dependency (key as written) with its spec and dev-only flag."""

    name: str | None
    #: key -> (spec, dev_only); `optionalDependencies` count as production dependencies.
    dependencies: Mapping[str, tuple[str, bool]]


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    #: Install path (`node_modules/a/node_modules/b`), the key of lockfile v2/v3 `packages`.
    path: str
    dev: bool
    from_registry: bool


def _load_object(text: str, where: str) -> dict[str, Any]:
    try:
        data = parse_json(text)
    except JSONError as exc:
        raise SiteTreeError(f"{where}: {exc}") from None
    if not isinstance(data, dict):
        raise SiteTreeError(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def split_alias(spec: str) -> tuple[str, str] | None:
    """`npm:react@^18` -> (`react`, `^18`); `npm:@scope/x@1` -> (`@scope/x`, `1`); else None."""
    target = spec.removeprefix("npm:")
    if target == spec or not target:
        return None
    name, at, rest = target[1:].partition("@")  # [1:]: a scope's own `@` is not the separator
    return (target[0] + name, rest if at else "")


def parse_manifest(text: str, where: str) -> Manifest:
    data = _load_object(text, where)
    specs: dict[str, tuple[str, bool]] = {}
    for section in _MANIFEST_SECTIONS:
        entries = data.get(section) or {}
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise SiteTreeError(f"{where}: `{section}` is not an object of version specs")
        for key, spec in entries.items():
            # npm installs a package listed twice as a production dependency.
            if key not in specs or section != "devDependencies":
                specs[key] = (spec, section == "devDependencies")
    name = data.get("name")
    return Manifest(name if isinstance(name, str) else None, specs)


def _from_registry(version: str, resolved: object) -> bool:
    try:
        NpmVersion(version)
    except ValueError:
        return False
    return resolved is None or (
        isinstance(resolved, str) and resolved.startswith(("https://", "http://"))
    )


def _entry(where: str, label: str, entry: object) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise SiteTreeError(f"{where}: {label} is not an object")
    version = entry.get("version")
    if version is not None and not isinstance(version, str):
        raise SiteTreeError(f"{where}: {label} has a non-string version")
    return entry


def _packages(data: Mapping[str, Any], where: str) -> Iterator[LockedPackage]:
    packages = data.get("packages")
    if not isinstance(packages, dict):
        raise SiteTreeError(f"{where}: `packages` is missing or not an object")
    for path, raw in packages.items():
        entry = _entry(where, f"packages[{path!r}]", raw)
        if "node_modules/" not in path or entry.get("link") or entry.get("version") is None:
            continue  # the root, workspace folders, links to them, uninstalled optionals
        name = entry.get("name")
        if not isinstance(name, str):
            name = path.rpartition("node_modules/")[2]
        version, resolved = entry["version"], entry.get("resolved")
        yield LockedPackage(
            name, version, path, bool(entry.get("dev")), _from_registry(version, resolved)
        )


def _tree(root: object, where: str) -> Iterator[LockedPackage]:
    """The v1 `dependencies` tree, depth first in file order; walked with an explicit stack so
    a hostile lockfile nested thousands deep costs no recursion."""
    pending: list[tuple[str, object]] = [("", root)]
    while pending:
        parent, tree = pending.pop()
        if not isinstance(tree, dict):
            raise SiteTreeError(
                f"{where}: `dependencies` under {parent or 'the root'!r} is not an object"
            )
        children: list[tuple[str, object]] = []
        for key, raw in tree.items():
            path = f"{parent}node_modules/{key}"
            entry = _entry(where, f"dependencies entry {path!r}", raw)
            version = entry.get("version")
            if version is not None:
                name = key
                alias = split_alias(version)
                if alias is not None:
                    name, version = alias
                dev, resolved = bool(entry.get("dev")), entry.get("resolved")
                yield LockedPackage(name, version, path, dev, _from_registry(version, resolved))
            if "dependencies" in entry:
                children.append((path + "/", entry["dependencies"]))
        pending.extend(reversed(children))


def parse_lockfile(text: str, where: str) -> list[LockedPackage]:
    """Every installed package of a v1, v2 or v3 lockfile; SiteTreeError naming `where` when
    the file is not one."""
    data = _load_object(text, where)
    version = data.get("lockfileVersion")
    if version not in SUPPORTED_LOCKFILE_VERSIONS or isinstance(version, bool):
        supported = ", ".join(map(str, SUPPORTED_LOCKFILE_VERSIONS))
        raise SiteTreeError(
            f"{where}: lockfileVersion {version!r} is not supported (known: {supported})"
        )
    if version == 1 or (version == 2 and "packages" not in data):
        return list(_tree(data.get("dependencies") or {}, where))
    return list(_packages(data, where))

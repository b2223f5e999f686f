"""npm projects in the layout npm writes, for tests, the demo fleet and benchmarks.

`build_npm_site(root, ...)` writes package.json and a v1, v2 or v3 lockfile (or
npm-shrinkwrap.json) placing packages as npm's hoisting does: a transitive package goes to the
top-level `node_modules/` unless another version already sits there, then under the package
that requires it. The real `npm ls --package-lock-only` accepts what it writes (tests/test_npm.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tma_npm.hooks import DEFAULT_REGISTRY_URL

__all__ = ["Transitive", "build_npm_site", "integrity_of", "tarball_url"]

#: (required_by, name, installed): `name` at `installed`, required by package `required_by`.
Transitive = tuple[str, str, str]


class _Node:
    def __init__(self, name: str, version: str, path: str) -> None:
        self.name, self.version, self.path = name, version, path
        self.requires: dict[str, str] = {}


def tarball_url(registry: str, name: str, version: str) -> str:
    return f"{registry}/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"


def integrity_of(name: str, version: str) -> str:
    digest = hashlib.sha512(f"{name}@{version}".encode()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _resolve(nodes: Mapping[str, _Node], from_path: str, name: str) -> _Node | None:
    """Node's module resolution: the nearest `node_modules/<name>` walking up from a package."""
    base = from_path
    while True:
        found = nodes.get(f"{base}/node_modules/{name}" if base else f"node_modules/{name}")
        if found is not None or not base:
            return found
        base = base.rpartition("/node_modules/")[0]


def _place(nodes: dict[str, _Node], transitive: Sequence[Transitive]) -> None:
    for required_by, name, version in transitive:
        parent = next((n for n in nodes.values() if n.name == required_by), None)
        if parent is None:
            raise ValueError(f"{required_by!r} (requiring {name}) is not placed yet")
        parent.requires[name] = version
        seen = _resolve(nodes, parent.path, name)
        if seen is not None and seen.version == version:
            continue
        top = f"node_modules/{name}"
        path = top if top not in nodes else f"{parent.path}/node_modules/{name}"
        if path in nodes:
            raise ValueError(f"two versions of {name} required under {parent.path}")
        nodes[path] = _Node(name, version, path)


def _production_paths(nodes: Mapping[str, _Node], roots: Sequence[str]) -> set[str]:
    reached: set[str] = set()
    queue = [f"node_modules/{name}" for name in roots]
    while queue:
        path = queue.pop()
        if path in reached or path not in nodes:
            continue
        reached.add(path)
        for child in nodes[path].requires:
            target = _resolve(nodes, path, child)
            if target is not None:
                queue.append(target.path)
    return reached


def _entry(node: _Node, registry: str, dev: bool, *, v1: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": node.version,
        "resolved": tarball_url(registry, node.name, node.version),
        "integrity": integrity_of(node.name, node.version),
    }
    if dev:
        entry["dev"] = True
    if node.requires:
        entry["requires" if v1 else "dependencies"] = dict(sorted(node.requires.items()))
    return entry


def _v1_tree(
    nodes: Mapping[str, _Node], prod: set[str], registry: str, parent: str = ""
) -> dict[str, Any]:
    prefix = f"{parent}/node_modules/" if parent else "node_modules/"
    tree: dict[str, Any] = {}
    for path in sorted(nodes):
        rest = path[len(prefix) :] if path.startswith(prefix) else None
        if rest is None or "/node_modules/" in rest:
            continue
        entry = _entry(nodes[path], registry, path not in prod, v1=True)
        nested = _v1_tree(nodes, prod, registry, path)
        if nested:
            entry["dependencies"] = nested
        tree[rest] = entry
    return tree


def build_npm_site(
    root: str | Path,
    *,
    dependencies: Mapping[str, tuple[str, str]] | None = None,
    dev_dependencies: Mapping[str, tuple[str, str]] | None = None,
    transitive: Sequence[Transitive] = (),
    lockfile_version: int = 3,
    name: str = "front-end",
    lockfile: str = "package-lock.json",
    registry_url: str = DEFAULT_REGISTRY_URL,
) -> Path:
    """Write `root/package.json` and `root/<lockfile>`. `dependencies` and `dev_dependencies`
    map a name to (range in package.json, installed version)."""
    prod, dev = dict(dependencies or {}), dict(dev_dependencies or {})
    nodes: dict[str, _Node] = {}
    for dep, (_, version) in sorted({**dev, **prod}.items()):
        nodes[f"node_modules/{dep}"] = _Node(dep, version, f"node_modules/{dep}")
    _place(nodes, transitive)
    reached = _production_paths(nodes, sorted(prod))
    manifest: dict[str, Any] = {"name": name, "version": "1.0.0", "private": True}
    if prod:
        manifest["dependencies"] = {k: spec for k, (spec, _) in sorted(prod.items())}
    if dev:
        manifest["devDependencies"] = {k: spec for k, (spec, _) in sorted(dev.items())}
    lock: dict[str, Any] = {"name": name, "version": "1.0.0", "lockfileVersion": lockfile_version}
    lock["requires"] = True
    if lockfile_version >= 2:
        root_entry = {k: v for k, v in manifest.items() if k != "private"}
        packages = {"": root_entry}
        for path in sorted(nodes):
            packages[path] = _entry(nodes[path], registry_url, path not in reached, v1=False)
        lock["packages"] = packages
    if lockfile_version <= 2:
        lock["dependencies"] = _v1_tree(nodes, reached, registry_url)
    target = Path(root)
    target.mkdir(parents=True, exist_ok=True)
    (target / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (target / lockfile).write_text(json.dumps(lock, indent=2) + "\n")
    return target

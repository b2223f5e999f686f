"""List an npm project's installed packages, direct and transitive, from its lockfile.

One round trip: package.json comes from `site.files` (read during detection), the lockfiles
are read together. One component per distinct installed name@version, so nested duplicates
(`node_modules/a/node_modules/b` at another version than the hoisted `node_modules/b`) are
separate components. `extra` keeps:
- `direct`: the copy at `node_modules/<key>` for a key of package.json's `dependencies`,
  `optionalDependencies` or `devDependencies` (a direct dependency always sits there);
- `range`: the spec package.json asks for (an alias's target range for `npm:` aliases, with
  the key as written in `alias`);
- `dev`: dev-only (listed in devDependencies only, or, when transitive, every copy flagged
  `dev` by the lockfile);
- `paths`: every install path of that name@version; `from_registry` (lockfile.py).
A dependency package.json lists but the lockfile lacks is listed with `installed=None` and
`extra["missing"]`: the lockfile is out of step with package.json.
"""

from __future__ import annotations

import posixpath

from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError
from tma_agent.models import Component
from tma_npm.detect import LOCKFILES, MANIFEST, project_files, require_lockfile
from tma_npm.lockfile import LockedPackage, Manifest, parse_lockfile, parse_manifest, split_alias

__all__ = ["build_components", "list_components"]


def list_components(site: SiteContext) -> list[Component]:
    project = site.root or site.path
    found = project_files(site, project)

    def where(name: str) -> str:
        return f"{site.host.name}:{posixpath.join(project, name)}"

    # package.json and the lockfile are the whole inventory: one there but not read (unreadable,
    # too big) is the site's error, never a lockfile skipped for the next one.
    for name in (MANIFEST, *LOCKFILES):
        problem = site.file_problem(posixpath.join(project, name))
        if problem is not None:
            raise SiteTreeError(f"{where(name)}: {problem}")
    manifest_text = found[MANIFEST]
    if manifest_text is None:
        raise SiteTreeError(f"{where(MANIFEST)}: cannot read it")
    require_lockfile(site, project, found)
    lock_name = next(name for name in LOCKFILES if found[name] is not None)
    manifest = parse_manifest(manifest_text, where(MANIFEST))
    locked = parse_lockfile(found[lock_name] or "", where(lock_name))
    return build_components(manifest, locked, lock_name)


def build_components(
    manifest: Manifest, locked: list[LockedPackage], origin: str
) -> list[Component]:
    at_path = {package.path: package for package in locked}
    copies: dict[tuple[str, str], list[LockedPackage]] = {}
    for copy in locked:
        copies.setdefault((copy.name, copy.version), []).append(copy)

    direct: dict[tuple[str, str], tuple[str, str, bool]] = {}
    missing: list[Component] = []
    for key, (spec, dev_only) in sorted(manifest.dependencies.items()):
        alias = split_alias(spec)
        wanted = alias[1] if alias else spec
        package = at_path.get(f"node_modules/{key}")
        if package is None:
            facts = {"direct": True, "dev": dev_only, "range": wanted, "missing": True}
            name = alias[0] if alias else key
            missing.append(Component(name, "package", None, MANIFEST, facts))
            continue
        direct[(package.name, package.version)] = (key, wanted, dev_only)

    found: list[Component] = []
    for (name, version), packages in copies.items():
        declared = direct.get((name, version))
        extra: dict[str, object] = {
            "direct": declared is not None,
            "dev": declared[2] if declared else all(p.dev for p in packages),
            "range": declared[1] if declared else None,
            "paths": sorted(p.path for p in packages),
            "from_registry": any(p.from_registry for p in packages),
        }
        if declared is not None and declared[0] != name:
            extra["alias"] = declared[0]
        found.append(Component(name, "package", version, origin, extra))
    found.sort(key=lambda c: (not c.extra["direct"], c.name, c.installed or ""))
    return [*missing, *found]

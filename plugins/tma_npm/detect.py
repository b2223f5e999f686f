"""Tell an npm front end (React, Angular, Vue...) from the files of the detection round trip.

A project is npm when its directory holds `package.json` and a lockfile (`package-lock.json`, or
`npm-shrinkwrap.json`, which npm prefers when both exist). The directory is the site path, or
`sites[].options.npm_dir` (relative to the site path) when the front end lives in a sub-folder
of a larger repository. Detection reads only `package.json` (every site of the fleet pays for
what detection reads, and a lockfile can weigh megabytes); the inventory reads the lockfiles in
its one round trip, and a package.json without a lockfile is an error saying so.

The hook runs last (`trylast`): a Drupal or Symfony site that keeps a package.json for its theme
build is still a Drupal or Symfony site. Configure `stack: npm` to check the front end of such a
repository instead.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError
from tma_agent.models import Detection
from tma_npm.settings import NpmOptions

__all__ = [
    "LOCKFILES",
    "MANIFEST",
    "STACK",
    "detect_npm",
    "detect_paths",
    "project_dir",
    "project_files",
    "require_lockfile",
]

STACK = "npm"
MANIFEST = "package.json"
#: In npm's order of preference.
LOCKFILES = ("npm-shrinkwrap.json", "package-lock.json")
_PROJECT_FILES = (MANIFEST, *LOCKFILES)


def detect_paths() -> list[str]:
    return [MANIFEST]


def project_dir(site: SiteContext) -> str:
    """The npm project's directory: the site path or `options.npm_dir` inside it."""
    relative = site.options_as(NpmOptions).npm_dir
    if not relative:
        return site.path
    return posixpath.normpath(posixpath.join(site.path, relative))


def project_files(site: SiteContext, project: str) -> dict[str, str | None]:
    """package.json and the lockfiles of `project` (file name -> content or None), from
    `site.files` when the detection round trip read them, else read now in one trip."""
    paths = {name: posixpath.join(project, name) for name in _PROJECT_FILES}
    unread = [path for path in paths.values() if path not in site.files]
    if unread:
        site.remember(site.host.read_many(unread))
    return {name: site.files.get(path) for name, path in paths.items()}


def detect_npm(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    if site.stack not in (None, STACK):
        return None
    # Only a site that names the option is read typed here: a site whose stack is detected may
    # carry another stack's options, which are not npm's to reject.
    if site.options.get("npm_dir"):
        project = project_dir(site)
        manifest = project_files(site, project)[MANIFEST]
    else:
        project, manifest = site.path, files.get(MANIFEST)
    # A package.json there but not read still makes the project npm's: the inventory names it.
    found = manifest is not None or site.file_problem(posixpath.join(project, MANIFEST))
    return Detection(STACK, project) if found else None


def require_lockfile(site: SiteContext, project: str, found: Mapping[str, str | None]) -> None:
    """A package.json never installed with a lockfile: say so rather than guess versions."""
    if all(found[name] is None for name in LOCKFILES):
        raise SiteTreeError(
            f"{site.host.name}:{project}: package.json has no package-lock.json beside it "
            "(commit the lockfile npm writes: the installed versions are read from it)"
        )

"""Release-history feeds in drupal.org's format, written by us, for tests, demos and benches.

Feeds follow `https://updates.drupal.org/release-history/<project>/current` (see FORMATS.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.versions import parse_drupal

__all__ = [
    "CONTRIB_RELEASES",
    "D10_CORE_RELEASES",
    "DATESTAMP",
    "drupal7_histories",
    "drupal10_histories",
    "error_xml",
    "release",
    "release_history_xml",
    "serve_release_histories",
]

#: A fixed packaging date keeps builds reproducible (2023-11-14).
DATESTAMP = 1700000000


def release(version: str, *terms: str, **fields: Any) -> dict[str, Any]:
    """A release dict for `release_history_xml`: `release("8.x-1.3", "Security update")`."""
    return {"version": version, "terms": list(terms or ("Bug fixes",)), **fields}


def release_history_xml(
    short_name: str,
    *,
    title: str | None = None,
    type: str = "project_module",
    supported_branches: str | Sequence[str] | None = "8.x-1.",
    project_status: str = "published",
    releases: Sequence[Mapping[str, Any]] = (),
    api_version: str | None = None,
    recommended_major: int | None = None,
    supported_majors: Sequence[int] | None = None,
) -> str:
    """A release-history document. Releases go newest first, as drupal.org sorts them; each is
    a dict with `version` and optionally `name`, `status`, `release_link`, `download_link`,
    `date`, `terms` (Release type values), `security_covered`, `security` (its text),
    `core_compatibility`, `files`. `api_version="7.x"` adds the Drupal 7 fields."""
    project = Element("project", {"xmlns:dc": "http://purl.org/dc/elements/1.1/"})
    _sub(project, "title", title or short_name.replace("_", " ").title())
    _sub(project, "short_name", short_name)
    _sub(project, "dc:creator", "tma-agent tests")
    _sub(project, "type", type)
    if api_version:
        _sub(project, "api_version", api_version)
    if recommended_major is not None:
        _sub(project, "recommended_major", str(recommended_major))
    if supported_majors is not None:
        _sub(project, "supported_majors", ",".join(str(m) for m in supported_majors))
    if supported_branches is not None:
        branches = supported_branches
        _sub(
            project,
            "supported_branches",
            branches if isinstance(branches, str) else ",".join(branches),
        )
    _sub(project, "project_status", project_status)
    _sub(project, "link", f"https://www.drupal.org/project/{short_name}")
    container = SubElement(project, "releases")
    for index, entry in enumerate(releases):
        _release_element(container, short_name, entry, index, drupal7=api_version == "7.x")
    indent(project, space=" ")
    body = tostring(project, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _release_element(
    parent: Element, short_name: str, entry: Mapping[str, Any], index: int, *, drupal7: bool
) -> None:
    version = str(entry["version"])
    element = SubElement(parent, "release")
    _sub(element, "name", entry.get("name", f"{short_name} {version}"))
    _sub(element, "version", version)
    if drupal7:
        parsed = parse_drupal(version)
        _sub(element, "version_major", str(parsed.major))
        if parsed.patch is not None:
            _sub(element, "version_patch", str(parsed.patch))
        if parsed.extra:
            _sub(element, "version_extra", parsed.extra)
    _sub(element, "status", entry.get("status", "published"))
    link = f"https://www.drupal.org/project/{short_name}/releases/{version}"
    _sub(element, "release_link", entry.get("release_link", link))
    download = f"https://ftp.drupal.org/files/projects/{short_name}-{version}.tar.gz"
    _sub(element, "download_link", entry.get("download_link", download))
    # Newest first, a day apart, unless the test says otherwise.
    _sub(element, "date", str(entry.get("date", DATESTAMP - index * 86400)))
    if "core_compatibility" in entry:
        _sub(element, "core_compatibility", entry["core_compatibility"])
    terms = SubElement(element, "terms")
    for value in entry.get("terms", ()):
        term = SubElement(terms, "term")
        _sub(term, "name", "Release type")
        _sub(term, "value", value)
    covered = entry.get("security_covered", "-" not in version.split(".x-", 1)[-1])
    text = entry.get(
        "security", "Covered by Drupal's security advisory policy" if covered else "Not covered"
    )
    SubElement(element, "security", {"covered": "1"} if covered else {}).text = text
    for file_entry in entry.get("files", ()):
        file_element = SubElement(SubElement(element, "files"), "file")
        for key, value in file_entry.items():
            _sub(file_element, key, str(value))


def _sub(parent: Element, tag: str, text: str) -> Element:
    child = SubElement(parent, tag)
    child.text = text
    return child


def error_xml(short_name: str) -> str:
    """What drupal.org answers for a project it does not know."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<error>No release history was found for the requested project ({short_name}).</error>\n"
    )


def serve_release_histories(
    server: FeedServer,
    feeds: Mapping[str, str | Reply],
    *,
    api: str = "current",
    prefix: str = "/release-history",
) -> str:
    """Route `{prefix}/{project}/{api}` to each feed; returns the base URL for `drupal`."""
    for project, feed in feeds.items():
        server.routes[f"{prefix}/{project}/{api}"] = (
            feed
            if isinstance(feed, Reply)
            else Reply(feed, headers={"Content-Type": "application/xml; charset=utf-8"})
        )
    return server.url + prefix


# --- The feeds of a fleet ---------------------------------------------------------------------
# Shared by tests, the benches and their fixtures so that "a Drupal 10 site with updates" means
# the same releases everywhere; pass what a test needs to differ.

#: Drupal 10 core as drupal.org lists it for the default tree (10.2.3): a security release on
#: its branch, a feature release on the next.
D10_CORE_RELEASES = (
    release("10.3.1", "New features"),
    release("10.2.4", "Security update"),
    release("10.2.3"),
)
#: Every contrib module of `drupal10_histories`: the default tree's token (8.x-1.13) is
#: current, its pathauto (8.x-1.12) has a bug-fix release.
CONTRIB_RELEASES = (release("8.x-1.13"), release("8.x-1.12"))


def drupal10_histories(
    modules: Iterable[str] | Mapping[str, str] = ("pathauto", "token"),
    *,
    core: Sequence[Mapping[str, Any]] = D10_CORE_RELEASES,
    core_branches: str = "10.2.,10.3.",
    module_releases: Sequence[Mapping[str, Any]] = CONTRIB_RELEASES,
) -> dict[str, str]:
    """Project -> feed, for `serve_release_histories`: core, and each of `modules` (branch
    8.x-1.) with `module_releases`, or, given name -> version, with that one release (the
    site is current)."""
    feeds = {
        "drupal": release_history_xml(
            "drupal", type="project_core", supported_branches=core_branches, releases=core
        )
    }
    for name in modules:
        releases = [release(modules[name])] if isinstance(modules, Mapping) else module_releases
        feeds[name] = release_history_xml(name, releases=releases)
    return feeds


def drupal7_histories(
    modules: Mapping[str, str] | None = None,
    *,
    core: Sequence[Mapping[str, Any]] = (release("7.98"),),
) -> dict[str, str]:
    """Project -> feed of a Drupal 7 site (serve with `api="7.x"`): core on branch 7. and each
    module (default: the default tree's views 7.x-3.29 and ctools 7.x-1.21) with its one
    release, supported on its branch."""
    versions = {"views": "7.x-3.29", "ctools": "7.x-1.21"} if modules is None else modules
    feeds = {
        "drupal": release_history_xml(
            "drupal", type="project_core", api_version="7.x", supported_branches="7.", releases=core
        )
    }
    for name, version in versions.items():
        branch = version.rpartition(".")[0] + "."
        feeds[name] = release_history_xml(
            name, api_version="7.x", supported_branches=branch, releases=[release(version)]
        )
    return feeds

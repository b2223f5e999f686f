"""npm stack: projects in the layout npm writes (checked by the real npm CLI), a local HTTP
server speaking the npm registry's formats, the real runner and plugin manager."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pluggy
import pytest
from tma_npm.evaluate import pick_recommended
from tma_npm.lockfile import parse_lockfile
from tma_npm.registry import ABBREVIATED_ACCEPT, BULK_ADVISORY_PATH, Packument
from tma_npm.testing.answers import bulk_advisory, packument, packument_path, serve_npm_registry
from tma_npm.testing.trees import build_npm_site
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.config import SourceSettings
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import LocalHost
from tma_agent.models import Component, Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.runner import check_site
from tma_agent.sources import Fetcher
from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.testing.sites import check_path, site_context

#: A React + Angular front end with dev tools, a nested duplicate (js-tokens 4 hoisted, 3 under
#: vite) and a second lodash (3.x under vite, 4.x direct).
DEPENDENCIES = {
    "react": ("^18.2.0", "18.2.0"),
    "@angular/core": ("~17.0.0", "17.0.3"),
    "lodash": ("^4.17.0", "4.17.20"),
}
DEV_DEPENDENCIES = {"vite": ("^5.0.0", "5.0.2")}
TRANSITIVE = [
    ("react", "loose-envify", "1.4.0"),
    ("loose-envify", "js-tokens", "4.0.0"),
    ("vite", "js-tokens", "3.0.2"),
    ("@angular/core", "tslib", "2.6.2"),
    ("vite", "lodash", "3.10.1"),
]
PACKUMENTS = {
    "react": packument("react", ["18.2.0", "18.3.0", "18.3.1", "19.0.0"]),
    "@angular/core": packument("@angular/core", ["17.0.3", "17.0.9", "17.1.0", "18.0.0"]),
    "lodash": packument("lodash", ["3.10.1", "4.17.20", "4.17.21"], full=True),
    "vite": packument("vite", ["5.0.2"]),
    "js-tokens": packument("js-tokens", ["3.0.2", "3.0.3", "4.0.0"]),
}


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


@pytest.fixture
def front_end(tmp_path: Path) -> Path:
    return build_npm_site(
        tmp_path / "front",
        dependencies=DEPENDENCIES,
        dev_dependencies=DEV_DEPENDENCIES,
        transitive=TRANSITIVE,
    )


def run_check(
    pm: pluggy.PluginManager,
    path: Path,
    registry: str,
    fetcher: Fetcher,
    *,
    stack: str | None = "npm",
    site_id: str = "site",
    options: dict[str, Any] | None = None,
) -> tuple[SiteReport, LocalHost]:
    host = LocalHost()
    report = check_path(
        path,
        fetcher=fetcher,
        source_urls={"npm": registry, "wordpress": registry},
        stack=stack,
        site_id=site_id,
        options=options,
        host=host,
        pm=pm,
    )
    return report, host


def by_name(report: SiteReport) -> dict[str, Finding]:
    return {f"{f.name}@{f.installed}": f for f in report.components}


def inventory(pm: pluggy.PluginManager, path: Path) -> list[Component]:
    site = site_context(LocalHost(), str(path), fetcher=Fetcher(), source_urls={}, stack="npm")
    site.root = str(path)
    components: list[Component] = pm.hook.tma_inventory(site=site)
    return components


def facts(components: list[Component]) -> set[tuple[str, str | None, bool, bool]]:
    return {(c.name, c.installed, c.extra["direct"], c.extra["dev"]) for c in components}


# --- Registration, inventory, detection -------------------------------------------------------


def test_registers_stack_and_source(pm: pluggy.PluginManager) -> None:
    assert registered_stacks(pm)["npm"].title == "npm front end (React, Angular, Vue...)"
    assert registered_sources(pm)["npm"].default_url.startswith("https://registry.")


@pytest.mark.parametrize("lockfile_version", [1, 2, 3])
def test_inventory_reads_every_lockfile_version_alike(
    pm: pluggy.PluginManager, tmp_path: Path, lockfile_version: int
) -> None:
    build_npm_site(
        tmp_path,
        dependencies=DEPENDENCIES,
        dev_dependencies=DEV_DEPENDENCIES,
        transitive=TRANSITIVE,
        lockfile_version=lockfile_version,
    )
    components = inventory(pm, tmp_path)
    assert facts(components) == {
        ("@angular/core", "17.0.3", True, False),
        ("lodash", "4.17.20", True, False),
        ("react", "18.2.0", True, False),
        ("vite", "5.0.2", True, True),
        ("js-tokens", "3.0.2", False, True),
        ("js-tokens", "4.0.0", False, False),
        ("lodash", "3.10.1", False, True),
        ("loose-envify", "1.4.0", False, False),
        ("tslib", "2.6.2", False, False),
    }
    found = {f"{c.name}@{c.installed}": c for c in components}
    assert found["js-tokens@3.0.2"].extra["paths"] == ["node_modules/vite/node_modules/js-tokens"]
    assert found["react@18.2.0"].extra["range"] == "^18.2.0"
    assert found["tslib@2.6.2"].extra["range"] is None
    assert all(c.kind == "package" and c.extra["from_registry"] for c in components)
    assert {c.origin for c in components} == {"package-lock.json"}


def _npm_ls_packages(tree: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for name, entry in tree.get("dependencies", {}).items():
        found.add((name, entry["version"]))
        found |= _npm_ls_packages(entry)
    return found


def test_real_npm_accepts_the_built_lockfiles(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "npm_config_cache": str(tmp_path / "npm-cache"),
        "npm_config_offline": "true",
        "npm_config_update_notifier": "false",
        "npm_config_registry": "http://127.0.0.1:9/",
    }
    for version in (1, 2, 3):
        project = build_npm_site(
            tmp_path / f"v{version}",
            dependencies=DEPENDENCIES,
            dev_dependencies=DEV_DEPENDENCIES,
            transitive=TRANSITIVE,
            lockfile_version=version,
        )
        listed = subprocess.run(
            ["npm", "ls", "--json", "--all", "--package-lock-only"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        tree = json.loads(listed.stdout)
        assert "problems" not in tree
        ours = {(c.name, c.installed or "") for c in inventory(pm, project)}
        assert _npm_ls_packages(tree) == ours


def test_aliases_and_non_registry_packages(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    manifest = {
        "dependencies": {"my-react": "npm:react@^18.0.0", "ui": "git+https://git.example/ui.git"},
        "devDependencies": {"ghost": "^1.0.0"},
    }
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app"},
            "node_modules/my-react": {"name": "react", "version": "18.2.0"},
            "node_modules/ui": {"version": "2.0.0", "resolved": "git+https://git.example/ui.git"},
            "packages/local": {"version": "0.1.0"},
            "node_modules/local": {"resolved": "packages/local", "link": True},
        },
    }
    (tmp_path / "package.json").write_text(json.dumps(manifest))
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    found = {c.name: c for c in inventory(pm, tmp_path)}
    assert set(found) == {"react", "ui", "ghost"}
    assert (found["react"].extra["alias"], found["react"].extra["range"]) == ("my-react", "^18.0.0")
    assert found["ui"].extra["from_registry"] is False
    assert found["ghost"].installed is None and found["ghost"].extra["missing"]
    # npm 6 wrote an alias's version as `npm:<name>@<version>`.
    v1 = {"lockfileVersion": 1, "dependencies": {"my-react": {"version": "npm:react@18.2.0"}}}
    (package,) = parse_lockfile(json.dumps(v1), "lock")
    assert (package.name, package.version, package.path) == (
        "react",
        "18.2.0",
        "node_modules/my-react",
    )


def test_detection_at_the_path_and_under_npm_dir(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    build_npm_site(tmp_path / "plain", dependencies={"vite": ("^5.0.0", "5.0.2")})
    report, host = run_check(pm, tmp_path / "plain", registry, fetcher, stack=None)
    assert (report.stack, report.status) == ("npm", "ok"), report.error
    # The runner's detection read carries package.json; the inventory reads the lockfile.
    assert host.round_trips == 2

    build_npm_site(tmp_path / "repo" / "frontend", dependencies={"vite": ("^5.0.0", "5.0.2")})
    options = {"npm_dir": "frontend"}
    report, host = run_check(pm, tmp_path / "repo", registry, fetcher, stack=None, options=options)
    assert (report.stack, report.status) == ("npm", "ok"), report.error
    assert host.round_trips == 2
    assert [f.name for f in report.components] == ["vite"]

    report, _ = run_check(pm, tmp_path / "repo", registry, fetcher, options={"npm_dir": "../x"})
    assert report.status == "error"
    assert "options.npm_dir: must be a relative path" in (report.error or "")


def test_no_lockfile_and_cms_sites(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    registry = serve_npm_registry(feed_server)
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "package.json").write_text('{"dependencies": {}}')
    for stack in (None, "npm"):
        report, _ = run_check(pm, tmp_path / "bare", registry, fetcher, stack=stack)
        assert report.status == "error"
        assert "package.json has no package-lock.json" in (report.error or "")

    # A WordPress site building its theme with npm is still a WordPress site.
    build_wordpress(tmp_path / "wp")
    build_npm_site(tmp_path / "wp", dependencies={"vite": ("^5.0.0", "5.0.2")})
    report, _ = run_check(pm, tmp_path / "wp", registry, fetcher, stack=None)
    assert report.stack == "wordpress"


# --- Updates ----------------------------------------------------------------------------------


def test_update_kinds_against_the_package_json_range(
    pm: pluggy.PluginManager,
    front_end: Path,
    feed_server: FeedServer,
    fetcher: Fetcher,
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    report, host = run_check(pm, front_end, registry, fetcher)
    assert report.status == "updates", report.error
    found = by_name(report)
    # Transitive packages without advisories stay out of the report.
    assert set(found) == {"@angular/core@17.0.3", "lodash@4.17.20", "react@18.2.0", "vite@5.0.2"}
    react = found["react@18.2.0"]
    assert (react.latest, react.recommended, react.update) == ("19.0.0", "18.3.1", "feature")
    assert react.source == f"{registry}/react"
    angular = found["@angular/core@17.0.3"]
    assert (angular.latest, angular.recommended, angular.update) == ("18.0.0", "17.0.9", "feature")
    assert angular.source == f"{registry}/@angular%2Fcore"
    lodash = found["lodash@4.17.20"]
    assert (lodash.latest, lodash.recommended, lodash.update) == ("4.17.21", "4.17.21", "bugfix")
    assert lodash.released == "2024-01-15"  # full packument: `time` of 4.17.21
    assert react.released is None  # abbreviated packument: no `time`
    vite = found["vite@5.0.2"]
    assert (vite.latest, vite.recommended, vite.update) == ("5.0.2", "5.0.2", "none")
    assert all(f.advisories == [] for f in report.components)
    assert host.round_trips == 2
    # Metadata only for direct dependencies, abbreviated, each once.
    asked = {r.path for r in feed_server.requests if r.method == "GET"}
    assert asked == {packument_path(n) for n in DEPENDENCIES} | {packument_path("vite")}
    gets = [r for r in feed_server.requests if r.method == "GET"]
    assert all(r.headers["Accept"] == ABBREVIATED_ACCEPT for r in gets)


def test_minor_update_in_range_deprecation_and_private_packages(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    packuments = {
        "axios": packument("axios", ["1.5.0", "1.6.0"]),
        "request": packument("request", ["2.88.0", "2.88.2"], deprecated={"2.88.2": "gone"}),
    }
    registry = serve_npm_registry(feed_server, packuments=packuments)
    build_npm_site(
        tmp_path,
        dependencies={
            "axios": ("^1.5.0", "1.5.0"),
            "request": ("^2.88.0", "2.88.0"),
            "@agency/ui": ("^1.0.0", "1.0.0"),
        },
    )
    report, _ = run_check(pm, tmp_path, registry, fetcher)
    found = by_name(report)
    assert (found["axios@1.5.0"].recommended, found["axios@1.5.0"].update) == ("1.6.0", "feature")
    assert found["request@2.88.0"].update == "unsupported"
    private = found["@agency/ui@1.0.0"]
    assert (private.update, private.source, private.latest) == ("unknown", "unknown", None)


def test_recommended_follows_npm_pick_manifest() -> None:
    versions = {v: {} for v in ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0", "3.0.0-rc.1"]}
    versions["1.2.0"] = {"deprecated": "broken build"}
    tags = {"latest": "2.0.0", "next": "3.0.0-rc.1", "broken": "not a version"}
    doc = Packument("u", "2.0.0", versions, {}, tags)
    assert pick_recommended(doc, "^2.0.0", "2.0.0") == "2.0.0"  # `latest` wins when in range
    assert pick_recommended(doc, "^1.0.0", "1.0.0") == "1.1.0"  # deprecated 1.2.0 skipped
    assert pick_recommended(doc, "next", "2.0.0") == "3.0.0-rc.1"  # a dist-tag spec
    assert pick_recommended(doc, "^1.0.0", "1.2.0") == "1.2.0"  # never below installed
    assert pick_recommended(doc, "file:../lib", "1.0.0") == "1.0.0"
    assert pick_recommended(doc, "broken", "1.0.0") == "1.0.0"


# --- Advisories -------------------------------------------------------------------------------


def test_security_fix_insecure_and_transitive_advisories(
    pm: pluggy.PluginManager, front_end: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    advisories = {
        "lodash": [
            bulk_advisory(1523, "<4.17.21", severity="critical", cve="CVE-2021-23337"),
            bulk_advisory(1600, "<1.0.0"),  # hits no installed version
        ],
        "react": [bulk_advisory(2001, ">=18.0.0", title="No fixed release")],
        "js-tokens": [bulk_advisory(3001, "<3.0.3", severity="moderate")],
    }
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS, advisories=advisories)
    report, host = run_check(pm, front_end, registry, fetcher)
    found = by_name(report)
    lodash = found["lodash@4.17.20"]
    assert (lodash.update, lodash.recommended, lodash.released) == (
        "security",
        "4.17.21",
        "2024-01-15",
    )
    (advisory,) = lodash.advisories
    assert (advisory.id, advisory.cve, advisory.severity) == ("1523", "CVE-2021-23337", "critical")
    assert advisory.url == "https://github.com/advisories/GHSA-test-1523"
    react = found["react@18.2.0"]
    assert (react.update, react.recommended, react.latest) == ("insecure", None, "19.0.0")
    assert react.advisories[0].title == "No fixed release"
    # The vulnerable transitive copy appears (its hoisted sibling does not), fix outside any range.
    tokens = found["js-tokens@3.0.2"]
    assert (tokens.update, tokens.recommended, tokens.latest) == ("security", "3.0.3", "4.0.0")
    assert "js-tokens@4.0.0" not in found
    # The advisory hits vite's own lodash 3 too: the first unaffected release is 4.17.21.
    old_lodash = found["lodash@3.10.1"]
    assert (old_lodash.update, old_lodash.recommended) == ("security", "4.17.21")
    assert [a.id for a in old_lodash.advisories] == ["1523"]
    assert host.round_trips == 2
    # One bulk query with every installed version, direct and transitive.
    (bulk,) = [r for r in feed_server.requests if r.path == BULK_ADVISORY_PATH]
    assert bulk.method == "POST" and bulk.headers["Content-Type"] == "application/json"
    sent = json.loads(bulk.body)
    assert sent["js-tokens"] == ["3.0.2", "4.0.0"]
    assert sent["lodash"] == ["3.10.1", "4.17.20"]
    assert set(sent) == {
        "react",
        "@angular/core",
        "lodash",
        "vite",
        "loose-envify",
        "js-tokens",
        "tslib",
    }
    assert feed_server.hits[packument_path("js-tokens")] == 1
    assert feed_server.hits[packument_path("tslib")] == 0


def test_fix_is_the_newest_unaffected_in_range_else_the_lowest_fixed(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    packuments = {
        "minimist": packument("minimist", ["1.2.3", "1.2.5", "1.2.6", "2.0.0"]),
        "ws": packument("ws", ["7.4.0", "7.5.0", "8.0.0", "8.1.0"]),
    }
    advisories = {
        "minimist": [bulk_advisory(1, "<1.2.5")],
        "ws": [bulk_advisory(2, "<8.0.0")],
    }
    registry = serve_npm_registry(feed_server, packuments=packuments, advisories=advisories)
    build_npm_site(
        tmp_path,
        dependencies={
            "minimist": ("^1.2.0", "1.2.3"),
            "ws": ("^7.4.0", "7.4.0"),
        },
    )
    found = by_name(run_check(pm, tmp_path, registry, fetcher)[0])
    verdicts = {name: (f.update, f.recommended) for name, f in found.items()}
    assert verdicts == {
        # What `npm update` installs once the advisory is out of the way, not 1.2.5.
        "minimist@1.2.3": ("security", "1.2.6"),
        # No fix inside ^7.4.0: the lowest fixed release, not the newest 8.1.0.
        "ws@7.4.0": ("security", "8.0.0"),
    }


def test_one_request_per_url_per_run_across_sites(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    layout: dict[str, Any] = {"dependencies": DEPENDENCIES, "transitive": TRANSITIVE[:2]}
    build_npm_site(tmp_path / "one", **layout)
    build_npm_site(tmp_path / "two", lockfile_version=1, **layout)
    build_npm_site(tmp_path / "three", dependencies={"react": ("^18.0.0", "18.3.0")})
    for name in ("one", "two", "three"):
        report, host = run_check(pm, tmp_path / name, registry, fetcher, site_id=name)
        assert report.status == "updates", report.error
        assert host.round_trips <= 2
    assert all(feed_server.hits[packument_path(n)] == 1 for n in DEPENDENCIES)
    assert feed_server.hits[BULK_ADVISORY_PATH] == 2  # sites one and two ask the same


def test_token_is_sent_as_bearer(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    build_npm_site(tmp_path, dependencies={"vite": ("^5.0.0", "5.0.2")})
    site = site_context(
        LocalHost(), str(tmp_path), fetcher=fetcher, source_urls={"npm": registry}, stack="npm"
    )
    site.sources = {"npm": SourceSettings(token="s3cret")}
    report = check_site(site, pm)
    assert report is not None and report.status == "ok", report and report.error
    assert {r.headers.get("Authorization") for r in feed_server.requests} == {"Bearer s3cret"}


# --- Broken inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lock", "reason"),
    [
        ("{not json", "invalid JSON"),
        ('{"lockfileVersion": 4, "packages": {}}', "lockfileVersion 4 is not supported"),
        ('{"packages": {}}', "lockfileVersion None is not supported"),
        ('{"lockfileVersion": 3, "packages": []}', "`packages` is missing or not an object"),
        ('{"lockfileVersion": 3, "packages": {"node_modules/a": 1}}', "is not an object"),
        ('{"lockfileVersion": 1, "dependencies": {"a": {"version": 1}}}', "non-string version"),
    ],
)
def test_malformed_lockfile_is_a_site_error_naming_it(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    feed_server: FeedServer,
    fetcher: Fetcher,
    lock: str,
    reason: str,
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    build_npm_site(tmp_path / "broken", dependencies={"vite": ("^5.0.0", "5.0.2")})
    (tmp_path / "broken" / "package-lock.json").write_text(lock)
    build_npm_site(tmp_path / "fine", dependencies={"vite": ("^5.0.0", "5.0.2")})
    broken, _ = run_check(pm, tmp_path / "broken", registry, fetcher, site_id="broken")
    fine, _ = run_check(pm, tmp_path / "fine", registry, fetcher, site_id="fine")
    assert broken.status == "error"
    assert f"{tmp_path / 'broken' / 'package-lock.json'}" in (broken.error or "")
    assert reason in (broken.error or "")
    assert fine.status == "ok", fine.error


def test_malformed_package_json_names_it(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    build_npm_site(tmp_path, dependencies={"vite": ("^5.0.0", "5.0.2")})
    (tmp_path / "package.json").write_text('{"dependencies": ["vite"]}')
    with pytest.raises(SiteTreeError, match=r"package\.json: `dependencies` is not an object"):
        inventory(pm, tmp_path)


@pytest.mark.parametrize(
    ("path", "reply", "reason"),
    [
        ("/vite", Reply("<html>oops</html>"), "invalid JSON"),
        ("/vite", Reply(json.dumps({"dist-tags": {}})), "`versions` is missing"),
        ("/vite", Reply("down", status=503), "HTTP 503"),
        (BULK_ADVISORY_PATH, Reply("[]"), "expected a JSON object"),
        (BULK_ADVISORY_PATH, Reply(json.dumps({"vite": {"id": 1}})), "not a list"),
        (
            BULK_ADVISORY_PATH,
            Reply(json.dumps({"vite": [{"id": 7, "vulnerable_versions": ">=1.x.2"}]})),
            "advisory 7: not an npm range",
        ),
    ],
)
def test_malformed_registry_answer_is_a_source_error_naming_the_url(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    feed_server: FeedServer,
    fetcher: Fetcher,
    path: str,
    reply: Reply,
    reason: str,
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    feed_server.routes[path] = reply
    build_npm_site(
        tmp_path, dependencies={"vite": ("^5.0.0", "5.0.2"), "lodash": ("^4.17.0", "4.17.20")}
    )
    report, _ = run_check(pm, tmp_path, registry, fetcher)
    assert report.status == "partial"
    assert f"{registry}{path}" in (report.error or "")
    [error] = report.source_errors
    assert (error.source, error.url) == ("npm", f"{registry}{path}")
    assert reason in error.error
    found = {f.name: f for f in report.components}
    # lodash's metadata answered: its verdict survives.
    assert found["lodash"].update == "bugfix" and found["lodash"].recommended == "4.17.21"
    if path == BULK_ADVISORY_PATH:
        assert all(f.advisories_unavailable for f in report.components)
        assert found["vite"].update != "unknown"
    else:
        assert found["vite"].update == "unknown"
        assert not any(f.advisories_unavailable for f in report.components)


def test_mirror_without_the_bulk_advisory_endpoint_keeps_the_releases(
    pm: pluggy.PluginManager, front_end: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    # Many registry proxies do not implement the bulk advisory POST.
    feed_server.routes[BULK_ADVISORY_PATH] = Reply("Method Not Allowed", status=405)
    report, _ = run_check(pm, front_end, registry, fetcher)
    assert report.status == "partial"
    assert [e.to_dict() for e in report.source_errors] == [
        {"source": "npm", "url": registry + BULK_ADVISORY_PATH, "error": "HTTP 405"}
    ]
    assert {f.name for f in report.components} >= set(DEPENDENCIES)
    assert all(f.advisories_unavailable for f in report.components)
    assert {f.update for f in report.components} - {"unknown"}


def test_every_package_failing_is_a_site_error(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    registry = serve_npm_registry(feed_server, packuments=PACKUMENTS)
    feed_server.routes["/vite"] = Reply("down", status=503)
    build_npm_site(tmp_path, dependencies={"vite": ("^5.0.0", "5.0.2")})
    report, _ = run_check(pm, tmp_path, registry, fetcher)
    assert report.status == "error"
    assert (report.error or "").startswith("nothing could be evaluated: source npm failed")
    assert [e.url for e in report.source_errors] == [f"{registry}/vite"]


# --- Fetcher.post_json ------------------------------------------------------------------------


def test_post_json_sends_once_per_body(feed_server: FeedServer) -> None:
    def echo(request: Request) -> Reply:
        return Reply(request.body, headers={"Content-Type": request.headers["Content-Type"]})

    feed_server.routes["/echo"] = echo
    with Fetcher(timeout=2.0) as fetcher:
        first = fetcher.post_json(f"{feed_server.url}/echo", {"b": [1], "a": "x"})
        again = fetcher.post_json(f"{feed_server.url}/echo", {"a": "x", "b": [1]})
        other = fetcher.post_json(f"{feed_server.url}/echo", {"a": "y"})
    assert first.json() == {"a": "x", "b": [1]} == again.json()
    assert first.headers["content-type"] == "application/json"
    assert other.json() == {"a": "y"}
    assert feed_server.hits["/echo"] == 2

"""WordPress security data: the Wordfence scanner feed and WPScan v3 served locally in their
real formats, real trees (Debian's package and built ones), the real runner and CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from structlog.testing import capture_logs
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import (
    WORDFENCE_PATH,
    WPSCAN_PREFIX,
    serve_wordfence,
    serve_wpscan,
    wordfence_range,
    wordfence_record,
    wordfence_software,
    wpscan_vulnerability,
)
from tma_wordpress.testing.trees import build_wordpress, copy_debian_wordpress
from tma_wordpress.vulnerabilities import VersionRange, Vulnerability, plan_update
from tma_wordpress.wordfence import WORDFENCE

from tma_agent.config import Config
from tma_agent.models import Advisory, Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources
from tma_agent.run_scope import RunScope
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.cli import run_tma
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.versions import Version

CORE_RELEASES = ["6.7.1", "6.6.2", "6.1.9"]
PLUGIN_LATEST = {"akismet": "5.3.5", "hello": "1.7.2", "classic-editor": "1.6.7"}
THEME_LATEST = {"twentytwentythree": "1.6", "twentytwentytwo": "1.3"}
TOKEN = "wpscan-secret-0123456789abcdef"

RECORDS = [
    wordfence_record(
        "wf-core",
        "WordPress Core <= 6.1.9 - Stored XSS",
        [
            wordfence_software(
                "wordpress",
                [wordfence_range("6.1", "6.1.9"), wordfence_range("6.2", "6.7.0")],
                type="core",
                patched_versions=["6.1.10", "6.7.1"],
            )
        ],
        cve="CVE-2024-0001",
        rating="High",
    ),
    wordfence_record(
        "wf-akismet",
        "Akismet <= 5.0.2 - CSRF",
        [
            wordfence_software(
                "akismet", [wordfence_range("*", "5.0.2")], patched_versions=["5.0.3"]
            )
        ],
        cve="CVE-2024-0002",
    ),
    wordfence_record(
        "wf-akismet-note",
        "Akismet - informational note",
        [wordfence_software("akismet", [wordfence_range()])],
        informational=True,
    ),
    wordfence_record(
        "wf-contact",
        "Contact Form Extra 1.0 - 1.9.4 and 2.0.0 - 2.0.1 - SQL Injection",
        [
            wordfence_software(
                "contact-form-extra",
                [wordfence_range("1.0", "1.9.4"), wordfence_range("2.0.0", "2.0.1")],
                patched_versions=["2.0.2", "1.9.5"],
            )
        ],
        cve="CVE-2024-0003",
        rating="Critical",
    ),
    wordfence_record(
        "wf-gallery",
        "Old Gallery <= * - Unpatched RCE",
        [wordfence_software("old-gallery", [wordfence_range()])],
        rating="Critical",
    ),
    wordfence_record(
        "wf-classic-old",
        "Classic Editor <= 1.6.1 - XSS",
        [
            wordfence_software(
                "classic-editor", [wordfence_range("*", "1.6.1")], patched_versions=["1.6.2"]
            )
        ],
    ),
    wordfence_record(
        "wf-classic-new",
        "Classic Editor 1.6.5 - 1.6.7 - unpatched",
        [wordfence_software("classic-editor", [wordfence_range("1.6.5", "1.6.7")])],
    ),
    wordfence_record(
        "wf-t23",
        "Twenty Twenty-Three 1.0 - 1.2 - XSS",
        [
            wordfence_software(
                "twentytwentythree",
                [wordfence_range("1.0", "1.2")],
                type="theme",
                patched_versions=["1.2.1"],
            )
        ],
    ),
    wordfence_record(
        "wf-t22-edges",
        "Twenty Twenty-Two exclusive bounds",
        [
            wordfence_software(
                "twentytwentytwo",
                [
                    wordfence_range("1.0", "1.3", to_inclusive=False),
                    wordfence_range("1.3", "1.5", from_inclusive=False),
                ],
                type="theme",
                patched_versions=["1.6"],
            )
        ],
    ),
]


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


@pytest.fixture(scope="module")
def debian_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_debian_wordpress(tmp_path_factory.mktemp("debian") / "wordpress")


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=5.0, backoff=0.001) as shared:
        yield shared


@pytest.fixture
def urls(feed_server: FeedServer) -> dict[str, str]:
    api = serve_wordpress_api(
        feed_server, core_releases=CORE_RELEASES, plugins=PLUGIN_LATEST, themes=THEME_LATEST
    )
    return {"wordpress": api, "wordfence": serve_wordfence(feed_server, RECORDS)}


def built_site(root: Path) -> Path:
    return build_wordpress(
        root,
        core="6.1.9",
        plugins={
            "akismet": "5.0.2",
            "hello.php": "1.7.2",
            "contact-form-extra": "1.9.0",
            "old-gallery": "3.2",
            "classic-editor": "1.6.0",
        },
        themes={"twentytwentythree": "1.0", "twentytwentytwo": "1.3"},
        update_uri={"old-gallery": "https://updates.example.com/old-gallery"},
    )


def site(site_id: str, path: Path, **options: Any) -> dict[str, Any]:
    return {
        "id": site_id,
        "client": "acme",
        "environments": {"production": {"host": "local", "path": str(path)}},
        "options": options,
    }


def run(
    pm: pluggy.PluginManager,
    fetcher: Fetcher,
    sites: list[dict[str, Any]],
    sources: dict[str, dict[str, Any]],
    *,
    concurrency: int = 4,
    scopes: list[RunScope] | None = None,
) -> dict[str, SiteReport]:
    config = Config.model_validate(
        {"sources": sources, "clients": [{"id": "acme", "name": "ACME"}], "sites": sites}
    )
    check = CheckRun(config, pm, fetcher=fetcher)
    if scopes is not None:
        scopes.append(check.scope)
    reports = check.run(config.sites, concurrency=concurrency)
    return {r.site: r for r in reports}


def wordfence_builds(scope: RunScope) -> dict[str, int]:
    """Feed URL -> how many times the run parsed it."""
    return {key[1]: n for key, n in scope.computed.items() if key[0] == WORDFENCE}


def by_name(report: SiteReport) -> dict[str, Finding]:
    return {f"{f.kind}:{f.name}": f for f in report.components}


def sources_of(urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: {"url": url} for name, url in urls.items()}


# --- Wordfence --------------------------------------------------------------------------------


def test_registers_both_sources_with_real_defaults(pm: pluggy.PluginManager) -> None:
    sources = registered_sources(pm)
    assert sources["wordfence"].default_url.endswith("/api/intelligence/v2/vulnerabilities/scanner")
    assert sources["wpscan"].default_url.endswith("/api/v3")


def test_wordfence_classifies_core_plugins_and_themes(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    debian_copy: Path,
    urls: dict[str, str],
    fetcher: Fetcher,
) -> None:
    sites = [site("built", built_site(tmp_path / "wp")), site("debian", debian_copy)]
    reports = run(pm, fetcher, sites, sources_of(urls))
    assert reports["built"].status == "updates", reports["built"].error
    found = by_name(reports["built"])

    # Core: the upgrade offer 6.7.1 is patched, so it wins over the smaller 6.1.10.
    core = found["core:wordpress"]
    assert (core.update, core.recommended, core.latest) == ("security", "6.7.1", "6.7.1")
    assert core.advisories == [
        Advisory(
            "wf-core",
            "CVE-2024-0001",
            "high",
            "https://www.wordfence.com/threat-intel/vulnerabilities/id/wf-core?source=api-scan",
            "WordPress Core <= 6.1.9 - Stored XSS",
        )
    ]
    # Inclusive upper bound hits 5.0.2; the informational record is left out.
    akismet = found["plugin:akismet"]
    assert (akismet.update, akismet.recommended) == ("security", "5.3.5")
    assert [a.id for a in akismet.advisories] == ["wf-akismet"]
    # Not on wordpress.org: smallest patched version above 1.9.0 in any branch.
    contact = found["plugin:contact-form-extra"]
    assert (contact.update, contact.recommended, contact.latest) == ("security", "1.9.5", None)
    assert contact.advisories[0].severity == "critical" and contact.source == "unknown"
    # Update URI elsewhere + open range, no patch: insecure with nothing to recommend.
    gallery = found["plugin:old-gallery"]
    assert (gallery.update, gallery.recommended) == ("insecure", None)
    assert [a.id for a in gallery.advisories] == ["wf-gallery"]
    # The offer 1.6.7 is hit by a later unpatched issue: the clean 1.6.2 is recommended.
    classic = found["plugin:classic-editor"]
    assert (classic.update, classic.recommended) == ("security", "1.6.2")
    assert [a.id for a in classic.advisories] == ["wf-classic-old"]
    t23 = found["theme:twentytwentythree"]
    assert (t23.update, t23.recommended) == ("security", "1.6")
    # 1.3 sits on both exclusive bounds: not affected.
    t22 = found["theme:twentytwentytwo"]
    assert (t22.update, t22.advisories) == ("none", [])
    hello = found["plugin:hello"]
    assert (hello.update, hello.advisories) == ("none", [])

    debian = reports["debian"]
    assert debian.status == "updates", debian.error
    debian_core = by_name(debian)["core:wordpress"]
    assert debian_core.installed == "6.1.9"
    assert [a.cve for a in debian_core.advisories] == ["CVE-2024-0001"]
    assert debian_core.update == "security"


def test_feed_fetched_and_parsed_once_for_many_sites_then_revalidated(
    pm: pluggy.PluginManager, tmp_path: Path, urls: dict[str, str], feed_server: FeedServer
) -> None:
    tree = built_site(tmp_path / "wp")
    sites = [site(f"clone-{i}", tree) for i in range(12)]
    cache = tmp_path / "http-cache"
    scopes: list[RunScope] = []
    with Fetcher(cache_dir=cache, timeout=5.0) as first:
        reports = run(pm, first, sites, sources_of(urls), concurrency=8, scopes=scopes)
    assert {r.status for r in reports.values()} == {"updates"}
    assert feed_server.hits[WORDFENCE_PATH] == 1
    assert wordfence_builds(scopes[0]) == {urls["wordfence"]: 1}
    first_findings = [f.to_dict() for f in reports["clone-0"].components]

    with Fetcher(cache_dir=cache, timeout=5.0) as second:
        again = run(pm, second, sites[:3], sources_of(urls), scopes=scopes)
        assert sum(second.revalidated.values()) >= 1
    asked = [r for r in feed_server.requests if r.path == WORDFENCE_PATH]
    assert len(asked) == 2
    sent = {k.lower(): v for k, v in asked[1].headers.items()}
    assert sent.get("if-none-match", "").startswith('"')
    assert wordfence_builds(scopes[1]) == {urls["wordfence"]: 1}  # once per run
    assert [f.to_dict() for f in again["clone-2"].components] == first_findings


def test_wordfence_token_goes_in_bearer_header(
    pm: pluggy.PluginManager, tmp_path: Path, urls: dict[str, str], feed_server: FeedServer
) -> None:
    sources = sources_of(urls)
    sources["wordfence"]["token"] = "wf-key-42"
    with Fetcher(timeout=5.0) as fetcher:
        report = run(pm, fetcher, [site("s", built_site(tmp_path / "wp"))], sources)["s"]
    assert report.status == "updates", report.error
    asked = next(r for r in feed_server.requests if r.path == WORDFENCE_PATH)
    assert {k.lower(): v for k, v in asked.headers.items()}["authorization"] == "Bearer wf-key-42"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html>maintenance</html>", "invalid JSON"),
        (json.dumps(["not", "an", "object"]), "expected a JSON object"),
        (json.dumps({"x1": {"title": "no software"}}), "has no `software` list"),
        (
            json.dumps(
                {"x2": {"software": [{"type": "plugin", "slug": "a", "affected_versions": 3}]}}
            ),
            "`affected_versions` is not an object",
        ),
    ],
)
def test_malformed_feed_keeps_the_updates_and_names_the_url(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    urls: dict[str, str],
    feed_server: FeedServer,
    body: str,
    reason: str,
) -> None:
    feed_server.routes[WORDFENCE_PATH] = Reply(body)
    tree = built_site(tmp_path / "wp")
    sites = [site("a", tree), site("b", tree), site("no-feeds", tree, vulnerability_sources=[])]
    scopes: list[RunScope] = []
    with Fetcher(timeout=5.0) as fetcher:
        reports = run(pm, fetcher, sites, sources_of(urls), scopes=scopes)
    for name in ("a", "b"):
        report = reports[name]
        assert report.status == "partial"
        assert urls["wordfence"] in (report.error or "")
        [error] = report.source_errors
        assert (error.source, error.url) == ("wordfence", urls["wordfence"])
        assert reason in error.error
        # The update checks answered; no component may look clean without its security data.
        assert any(f.update not in ("unknown", "none") for f in report.components)
        checked = [f for f in report.components if f.source != "mu-plugin"]
        assert checked and all(f.advisories_unavailable for f in checked)
    assert feed_server.hits[WORDFENCE_PATH] == 1  # the failure is kept for the run too
    assert wordfence_builds(scopes[0]) == {urls["wordfence"]: 1}  # and not parsed again
    # Others go on: this site does not use the feed.
    assert reports["no-feeds"].status == "updates"
    assert all(not f.advisories for f in reports["no-feeds"].components)


def test_site_option_selects_feeds_and_typos_are_errors(
    pm: pluggy.PluginManager, tmp_path: Path, urls: dict[str, str], feed_server: FeedServer
) -> None:
    tree = built_site(tmp_path / "wp")
    sites = [
        site("none", tree, vulnerability_sources=[]),
        site("typo", tree, vulnerability_sources=["wordfense"]),
        site("no-token", tree, vulnerability_sources=["wpscan"]),
    ]
    with Fetcher(timeout=5.0) as fetcher:
        reports = run(pm, fetcher, sites, sources_of(urls))
    assert feed_server.hits[WORDFENCE_PATH] == 0
    assert by_name(reports["none"])["plugin:old-gallery"].update == "unknown"
    assert reports["typo"].status == "error" and "'wordfense'" in (reports["typo"].error or "")
    assert "sources.wpscan.token is not set" in (reports["no-token"].error or "")


# --- WPScan -----------------------------------------------------------------------------------

WPSCAN_PLUGINS = {
    "akismet": [
        # The same CVE as Wordfence's record: reported once.
        wpscan_vulnerability("ws-akismet", "Akismet CSRF", fixed_in="5.0.3", cve=["2024-0002"]),
        wpscan_vulnerability(
            "ws-akismet-2", "Akismet XSS", fixed_in="5.1", introduced_in="5.0", cve=["2024-0010"]
        ),
        wpscan_vulnerability("ws-akismet-old", "Old", fixed_in="4.0", cve=["2019-1"]),
    ],
}
WPSCAN_CORES = {
    "6.1.9": [
        wpscan_vulnerability(
            "ws-core", "WP < 6.1.10 - Unauth", fixed_in="6.1.10", cve=["2024-0100"], severity="high"
        )
    ]
}


def wpscan_config(tmp_path: Path, urls: dict[str, str], sites: list[dict[str, Any]]) -> Path:
    config = {
        "state_dir": str(tmp_path / "state"),
        # A literal token (not $env): log masking does not know it, so a leak would show.
        "sources": {**sources_of(urls), "wpscan": {"url": urls["wpscan"], "token": TOKEN}},
        "clients": [{"id": "acme", "name": "ACME"}],
        "sites": sites,
    }
    path = tmp_path / "tma.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


JSON_CHECK = ("--log-format", "json", "check", "--format", "json")


def test_wpscan_with_token_end_to_end_never_logs_the_token(
    tmp_path: Path, urls: dict[str, str], feed_server: FeedServer
) -> None:
    urls["wpscan"] = serve_wpscan(
        feed_server, token=TOKEN, plugins=WPSCAN_PLUGINS, cores=WPSCAN_CORES
    )
    tree = build_wordpress(
        tmp_path / "wp",
        plugins={"akismet": "5.0.2", "no-data-here": "1.0"},
        themes={"twentytwentytwo": "1.3"},
    )
    config = wpscan_config(tmp_path, urls, [site("one", tree), site("two", tree)])
    result = run_tma("-vv", *JSON_CHECK, config=config)
    assert result.returncode == 0, result.stderr
    reports = {r["site"]: r for r in json.loads(result.stdout)["sites"]}
    assert reports["one"]["status"] == "updates", reports["one"]["error"]
    found = {c["name"]: c for c in reports["one"]["components"]}
    akismet = found["akismet"]
    assert sorted(a["cve"] for a in akismet["advisories"]) == ["CVE-2024-0002", "CVE-2024-0010"]
    assert (akismet["update"], akismet["recommended"]) == ("security", "5.3.5")
    core = found["wordpress"]
    assert sorted(a["id"] for a in core["advisories"]) == ["wf-core", "ws-core"]
    assert core["advisories"][1]["severity"] == "high"
    assert found["no-data-here"]["advisories"] == []  # WPScan 404: no data, no error
    assert found["twentytwentytwo"]["advisories"] == []
    assert reports["two"]["components"] == reports["one"]["components"]

    wpscan_requests = [r for r in feed_server.requests if r.path.startswith(WPSCAN_PREFIX)]
    paths = sorted(r.path for r in wpscan_requests)
    assert paths == sorted(
        f"{WPSCAN_PREFIX}/{p}"
        for p in (
            "plugins/akismet",
            "plugins/no-data-here",
            "themes/twentytwentytwo",
            "wordpresses/619",
        )
    )  # one request per slug for both sites
    for request in wpscan_requests:
        sent = {k.lower(): v for k, v in request.headers.items()}
        assert sent["authorization"] == f"Token token={TOKEN}"
    assert "http.fetch" in result.stderr  # debug logging was really on
    assert TOKEN not in result.stderr and TOKEN not in result.stdout


def test_wpscan_rejected_token_is_a_source_error_without_the_token(
    pm: pluggy.PluginManager, tmp_path: Path, urls: dict[str, str], feed_server: FeedServer
) -> None:
    urls["wpscan"] = serve_wpscan(feed_server, token="the-right-one", cores=WPSCAN_CORES)
    sources = {**sources_of(urls), "wpscan": {"url": urls["wpscan"], "token": TOKEN}}
    tree = build_wordpress(tmp_path / "wp", plugins={"akismet": "5.0.2"})
    with capture_logs() as logs, Fetcher(timeout=5.0) as fetcher:
        report = run(pm, fetcher, [site("s", tree)], sources)["s"]
    assert report.status == "partial"
    assert f"{urls['wpscan']}/wordpresses/619" in (report.error or "")
    assert "HTTP 401" in (report.error or "")
    assert TOKEN not in (report.error or "")
    # Asked once: a rejected token is not tried again for every plugin.
    [error] = report.source_errors
    assert (error.source, error.error) == ("wpscan", "HTTP 401")
    assert sum(r.path.startswith(WPSCAN_PREFIX) for r in feed_server.requests) == 1
    checked = [f for f in report.components if f.source != "mu-plugin"]
    assert checked and all(f.advisories_unavailable for f in checked)
    assert TOKEN not in repr(report.to_dict())
    assert logs and TOKEN not in repr(logs)


# --- Classification rules ---------------------------------------------------------------------


def vuln(
    vuln_id: str, low: str | None, high: str | None, patched: tuple[str, ...]
) -> Vulnerability:
    bounds = VersionRange(
        Version(low) if low else None, True, Version(high) if high else None, True
    )
    return Vulnerability(Advisory(vuln_id), (bounds,), patched, bool(patched))


def test_plan_update_mixed_fixed_and_unfixed_is_insecure_with_a_target() -> None:
    fixed, unfixed = vuln("a", None, "2.0", ("2.1",)), vuln("b", None, None, ())
    known = [fixed, unfixed]
    assert plan_update(Version("1.5"), "3.0", known, known) == ("insecure", "3.0")
    assert plan_update(Version("1.5"), None, known, known) == ("insecure", "2.1")
    assert plan_update(Version("1.5"), "3.0", [unfixed], known) == ("insecure", None)
    # The offer is not patched (still in range): the smallest patched version wins.
    assert plan_update(Version("1.5"), "1.9", [fixed], known) == ("security", "2.1")

"""Drupal 8+ sites get Packagist's security advisories: real trees on disk, release-history
feeds and the advisories API served in their real formats on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from tma_drupal.testing.feeds import (
    drupal10_histories,
    release,
    release_history_xml,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal7, build_drupal10

from tma_agent.config import load_config
from tma_agent.models import Advisory, Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources
from tma_agent.run_scope import RunScope
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route, packagist_advisory
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sites import check_path

PM = get_plugin_manager()
ADVISORIES_PATH = "/api/security-advisories/"

FEEDS = {
    **drupal10_histories(
        core=[release("10.3.0", "New features"), release("10.2.4"), release("10.2.3")]
    ),
    "webform": release_history_xml(
        "webform",
        supported_branches="6.2.",
        releases=[
            release("6.2.2", "Security update"),
            release("6.2.1", "Bug fixes"),
            release("6.2.0"),
        ],
    ),
    "insecure_mod": release_history_xml(
        "insecure_mod", releases=[release("8.x-2.1"), release("8.x-2.0")], project_status="insecure"
    ),
}
CORE_SA = packagist_advisory(
    "PKSA-core-2024-0001",
    "drupal/core",
    ">=8.0.0,<10.1.8|>=10.2.0,<10.2.4",
    cve="CVE-2024-0001",
    severity="moderate",
    title="Drupal core - Moderately critical - Denial of service",
    link="https://www.drupal.org/sa-core-2024-001",
)
TOKEN_SA = packagist_advisory(
    "PKSA-token-0001",
    "drupal/token",
    ">=1.0.0,<1.13.0",
    link="https://www.drupal.org/sa-contrib-2024-010",
)
ADVISORIES = {
    "drupal/core": [CORE_SA],
    "drupal/token": [TOKEN_SA],
    # Fixed before the installed 8.x-1.12 (1.12.0): must not match.
    "drupal/pathauto": [packagist_advisory("PKSA-path-0001", "drupal/pathauto", "<1.11.0")],
    "drupal/webform": [
        packagist_advisory("PKSA-web-0001", "drupal/webform", ">=6.2.0,<6.2.2"),
        packagist_advisory("PKSA-web-junk", "drupal/webform", "totally ~~ broken"),
    ],
    "drupal/insecure_mod": [packagist_advisory("PKSA-ins-0001", "drupal/insecure_mod", "<2.1.0")],
}
MODULES = {
    "pathauto": "8.x-1.12",
    "token": "8.x-1.12",
    "webform": "6.2.1",
    "insecure_mod": "8.x-2.0",
}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        feeds.routes[ADVISORIES_PATH] = advisories_route(ADVISORIES)
        yield feeds


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=2.0, retries=1) as shared:
        yield shared


def check(
    path: Path,
    server: FeedServer,
    fetcher: Fetcher,
    *,
    packagist: bool = True,
    run: RunScope | None = None,
) -> SiteReport:
    base = serve_release_histories(server, FEEDS)
    urls = {"drupal": base, **({"packagist": server.url} if packagist else {})}
    return check_path(path, fetcher=fetcher, source_urls=urls, pm=PM, run=run)


def by_name(report: SiteReport) -> dict[str, Finding]:
    assert report.status != "error", report.error
    return {finding.name: finding for finding in report.components}


def asked(server: FeedServer) -> list[list[str]]:
    return [
        [v for k, v in parse_qsl(r.body.decode()) if k == "packages[]"]
        for r in server.requests
        if r.path == ADVISORIES_PATH
    ]


def test_advisories_attached_and_update_raised(
    tmp_path: Path, server: FeedServer, fetcher: Fetcher
) -> None:
    tree = build_drupal10(tmp_path / "site", core="10.2.3", modules=MODULES)
    findings = by_name(check(tree.project_root, server, fetcher))
    core = findings["drupal"]
    # The feed said feature; Packagist says 10.2.3 is affected: security, and the update
    # module's recommended release stays the recommendation.
    assert core.update == "security" and core.recommended == "10.3.0"
    assert core.advisories == [
        Advisory(
            id="PKSA-core-2024-0001",
            cve="CVE-2024-0001",
            severity="moderate",
            url="https://www.drupal.org/sa-core-2024-001",
            title="Drupal core - Moderately critical - Denial of service",
        )
    ]
    # Legacy 8.x-1.12 is Composer 1.12.0, inside >=1.0.0,<1.13.0.
    token = findings["token"]
    assert (token.installed, token.update, token.recommended) == (
        "8.x-1.12",
        "security",
        "8.x-1.13",
    )
    assert [a.id for a in token.advisories] == ["PKSA-token-0001"]
    assert findings["pathauto"].update == "bugfix" and findings["pathauto"].advisories == []
    # Already security from the feed: stays so, the Packagist advisory joins the feed's own;
    # an unparsable affectedVersions is skipped, not fatal.
    webform = findings["webform"]
    assert webform.update == "security"
    assert "PKSA-web-0001" in [a.id for a in webform.advisories]
    assert "PKSA-web-junk" not in [a.id for a in webform.advisories]
    # Insecure stays insecure (worse than security), with the advisory attached.
    insecure = findings["insecure_mod"]
    assert insecure.update == "insecure" and [a.id for a in insecure.advisories] == [
        "PKSA-ins-0001"
    ]
    assert findings["agency_tweaks"].update == "unknown"  # custom code is never asked about
    assert asked(server) == [
        sorted(
            [
                "drupal/core",
                "drupal/insecure_mod",
                "drupal/pathauto",
                "drupal/token",
                "drupal/webform",
            ]
        )
    ]


def test_one_batched_request_shared_by_the_sites_of_a_run(
    tmp_path: Path, server: FeedServer, fetcher: Fetcher
) -> None:
    first = build_drupal10(tmp_path / "one", modules={"token": "8.x-1.12"})
    second = build_drupal10(tmp_path / "two", modules={"token": "8.x-1.13"})
    third = build_drupal10(
        tmp_path / "three", modules={"token": "8.x-1.13", "pathauto": "8.x-1.12"}
    )
    run = RunScope()
    assert (
        by_name(check(first.project_root, server, fetcher, run=run))["token"].update == "security"
    )
    assert by_name(check(second.project_root, server, fetcher, run=run))["token"].update == "none"
    third_report = check(third.project_root, server, fetcher, run=run)
    assert by_name(third_report)["pathauto"].update == "bugfix"
    # drupal/core and drupal/token once for all three sites; pathauto only when first needed.
    assert asked(server) == [["drupal/core", "drupal/token"], ["drupal/pathauto"]]


def test_failing_advisories_api_keeps_the_release_verdicts(
    tmp_path: Path, server: FeedServer, fetcher: Fetcher
) -> None:
    tree = build_drupal10(tmp_path / "site")
    server.routes[ADVISORIES_PATH] = Reply('{"advisories": {"drupal/core": "oops"}}')
    report = check(tree.project_root, server, fetcher)
    assert report.status == "partial"
    assert report.error is not None and server.url + ADVISORIES_PATH in report.error
    assert [(e.source, e.url) for e in report.source_errors] == [
        ("packagist", server.url + ADVISORIES_PATH)
    ]
    core = next(f for f in report.components if f.kind == "core")
    assert core.update != "unknown" and core.advisories_unavailable
    server.routes[ADVISORIES_PATH] = Reply("down", status=503)
    other = build_drupal10(tmp_path / "other", modules={"pathauto": "8.x-1.12"})
    report = check(other.project_root, server, fetcher)
    assert report.status == "partial"
    assert "HTTP 503" in report.source_errors[0].error
    pathauto = next(f for f in report.components if f.name == "pathauto")
    assert pathauto.update == "bugfix" and pathauto.advisories_unavailable
    custom = [f for f in report.components if f.source == "unknown"]
    assert custom and not any(f.advisories_unavailable for f in custom)


def test_drupal7_and_unregistered_source_ask_nothing(
    tmp_path: Path, server: FeedServer, fetcher: Fetcher
) -> None:
    d7 = build_drupal7(tmp_path / "d7")
    serve_release_histories(
        server,
        {
            "drupal": release_history_xml(
                "drupal", type="project_core", supported_branches="7.", releases=[release("7.98")]
            ),
            "views": release_history_xml(
                "views", supported_branches="7.x-3.", releases=[release("7.x-3.29")]
            ),
            "ctools": release_history_xml(
                "ctools", supported_branches="7.x-1.", releases=[release("7.x-1.21")]
            ),
        },
        api="7.x",
    )
    assert by_name(check(d7.project_root, server, fetcher))["drupal"].installed == "7.98"
    d10 = build_drupal10(tmp_path / "d10", modules={"token": "8.x-1.12"})
    findings = by_name(check(d10.project_root, server, fetcher, packagist=False))
    assert findings["token"].update == "bugfix" and findings["token"].advisories == []
    assert server.hits[ADVISORIES_PATH] == 0


def test_registered_source_and_config_override_through_the_runner(
    tmp_path: Path, server: FeedServer
) -> None:
    assert registered_sources(PM)["packagist"].default_url == "https://packagist.org"
    tree = build_drupal10(tmp_path / "site", modules={"token": "8.x-1.12"})
    config_path = tmp_path / "tma.yaml"
    config_path.write_text(
        json.dumps(
            {
                "state_dir": str(tmp_path / "state"),
                "sources": {
                    "drupal": {"url": serve_release_histories(server, FEEDS)},
                    "packagist": {"url": server.url},
                },
                "clients": [{"id": "c", "name": "C"}],
                "sites": [
                    {
                        "id": "s",
                        "client": "c",
                        "environments": {"production": {"path": str(tree.project_root)}},
                    }
                ],
            }
        )
    )
    config = load_config(config_path)
    with Fetcher(timeout=2.0, retries=1) as fetcher:
        (report,) = CheckRun(config, PM, fetcher=fetcher).run(config.sites)
    token = by_name(report)["token"]
    assert token.update == "security" and [a.id for a in token.advisories] == ["PKSA-token-0001"]
    assert report.has_security_findings
    assert server.hits[ADVISORIES_PATH] == 1

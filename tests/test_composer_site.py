"""The Composer-project stack end to end: Symfony and Laravel trees in their real layouts, a
Composer v2 repository and Packagist's advisories API served on 127.0.0.1, the real runner,
and the real `composer` CLI reading the same trees and the same repository."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs
from tma_composer.detect import detect_composer
from tma_composer.testing.trees import (
    SYMFONY_LOCKED,
    SYMFONY_REQUIRE,
    build_composer_site,
    build_laravel,
    build_symfony,
)
from tma_drupal.testing.trees import build_drupal10
from tma_magento.testing.trees import build_magento

from tma_agent.config import ComposerRepository, SourceSettings
from tma_agent.hosts import Host, LocalHost
from tma_agent.models import Component, Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.runner import check_site
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import run_composer
from tma_agent.testing.composer_trees import (
    advisory,
    composer_using,
    release,
    serve_advisories_api,
    serve_composer_repository,
)
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sites import check_path, run_fleet, site_context, write_fleet_config

PM = get_plugin_manager()
T_6_4_8 = "2024-05-31T12:00:00+00:00"


def releases(name: str, *versions: str, **fields: Any) -> list[dict[str, Any]]:
    return [release(name, v, time=T_6_4_8 if v == "v6.4.8" else None, **fields) for v in versions]


#: What the repository knows: newest first, as Packagist lists versions.
CATALOG = {
    "symfony/framework-bundle": releases(
        "symfony/framework-bundle", "v7.1.0-BETA1", "v7.0.3", "v6.4.8", "v6.4.3", "v6.3.12"
    ),
    "symfony/console": releases("symfony/console", "v7.0.3", "v6.4.3"),
    "symfony/runtime": releases("symfony/runtime", "v6.4.3", "v6.4.2"),
    "symfony/http-kernel": releases("symfony/http-kernel", "v7.0.3", "v6.4.8", "v6.4.4", "v6.4.3"),
    "doctrine/orm": releases("doctrine/orm", "3.0.0", "2.19.0", "2.18.1", "2.17.2"),
    "doctrine/dbal": releases("doctrine/dbal", "4.0.0", "3.8.3", "3.8.0"),
    "phpunit/phpunit": releases("phpunit/phpunit", "11.0.0", "10.5.10", "10.5.9"),
    "sebastian/diff": releases("sebastian/diff", "5.1.0"),
    "laravel/framework": releases("laravel/framework", "v11.0.0", "v10.48.2", "v10.43.0"),
}
ADVISORIES = {
    "symfony/http-kernel": [
        advisory(
            "PKSA-h7xq-2b4p-ny4c",
            "symfony/http-kernel",
            ">=6.4.0,<6.4.4|>=7.0.0,<7.0.3",
            cve="CVE-2024-50345",
            severity="medium",
            title="Open redirect in HttpKernel",
        )
    ],
    "psr/log": [advisory("PKSA-0000-psr0-0001", "psr/log", "<1.0.0")],  # not the installed one
}


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=2.0, retries=1) as shared:
        yield shared


@pytest.fixture
def upstream(feed_server: FeedServer) -> dict[str, str]:
    api = serve_advisories_api(feed_server, ADVISORIES, prefix="/packagist")
    repo = serve_composer_repository(
        feed_server,
        "/repo",
        CATALOG,
        advisories_api=api + "/api/security-advisories/",
    )
    return {"composer": repo, "packagist": api}


def check(
    path: Path,
    upstream: Mapping[str, str],
    fetcher: Fetcher,
    *,
    stack: str | None = None,
    options: Mapping[str, Any] | None = None,
    host: Host | None = None,
) -> SiteReport:
    return check_path(
        path, fetcher=fetcher, source_urls=upstream, stack=stack, options=options, host=host, pm=PM
    )


def by_name(report: SiteReport) -> dict[str, Finding]:
    assert report.status != "error", report.error
    return {f.name: f for f in report.components}


def row(finding: Finding) -> tuple[str | None, ...]:
    return (finding.installed, finding.latest, finding.recommended, finding.update)


def inventory(path: Path, stack: str | None = None) -> tuple[str | None, list[Component]]:
    """Detection and inventory as the runner does them, without upstream data."""
    host = LocalHost()
    with Fetcher() as unused:  # detection and inventory fetch nothing
        site = site_context(host, str(path), fetcher=unused, source_urls={}, stack=stack)
    rel = sorted({p for paths in PM.hook.tma_detect_paths() for p in paths})
    contents = host.read_many([f"{path}/{r}" for r in rel])
    site.files.update(contents)
    detection = PM.hook.tma_detect_stack(
        site=site, files={r: contents.get(f"{path}/{r}") for r in rel}
    )
    if detection is None:
        return None, []
    site.stack, site.root = detection.stack, detection.root
    components = PM.hook.tma_inventory(site=site)
    if detection.stack == "composer":
        assert host.round_trips == 1  # the inventory used what detection read
    return detection.stack, components


def test_registers_stack_and_sources() -> None:
    assert registered_stacks(PM)["composer"].title.startswith("Composer project")
    sources = registered_sources(PM)
    assert sources["composer"].default_url == "https://repo.packagist.org"
    assert sources["packagist"].default_url == "https://packagist.org"


def test_symfony_site(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    root = build_symfony(
        tmp_path / "shop",
        require={**SYMFONY_REQUIRE, "acme/private-bundle": "^1.0"},
        locked={**SYMFONY_LOCKED, "acme/private-bundle": "1.0.0"},
    )
    host = LocalHost()
    report = check(root, upstream, fetcher, host=host)
    assert report.stack == "composer" and report.status == "updates"
    found = by_name(report)
    metadata = upstream["composer"] + "/p2/"
    assert row(found["symfony/framework-bundle"]) == ("v6.4.3", "v7.0.3", "v6.4.8", "bugfix")
    assert found["symfony/framework-bundle"].released == "2024-05-31"
    assert found["symfony/framework-bundle"].source == metadata + "symfony/framework-bundle.json"
    # Nothing newer within 6.4.*: the next version is outside the constraint.
    assert row(found["symfony/console"]) == ("v6.4.3", "v7.0.3", "v7.0.3", "feature")
    assert row(found["symfony/runtime"]) == ("v6.4.3", "v6.4.3", "v6.4.3", "none")
    assert row(found["doctrine/orm"]) == ("2.17.2", "3.0.0", "2.19.0", "feature")
    assert row(found["phpunit/phpunit"]) == ("10.5.9", "11.0.0", "10.5.10", "bugfix")
    # Transitive and affected: the smallest fixed release of its major, advisory attached.
    kernel = found["symfony/http-kernel"]
    assert row(kernel) == ("v6.4.3", "v7.0.3", "v6.4.4", "security")
    assert [(a.id, a.cve, a.severity) for a in kernel.advisories] == [
        ("PKSA-h7xq-2b4p-ny4c", "CVE-2024-50345", "medium")
    ]
    # Transitive, unaffected: advisories only, no metadata fetched.
    for name in ("doctrine/dbal", "psr/log", "sebastian/diff"):
        assert row(found[name])[1:] == (None, None, "none"), name
        assert found[name].source == upstream["packagist"] + "/api/security-advisories/"
    assert feed_server.hits["/repo/p2/doctrine/dbal.json"] == 0
    # In no repository: unknown, never "up to date".
    private = found["acme/private-bundle"]
    assert (private.update, private.source, private.latest) == ("unknown", "unknown", None)
    assert len(found) == len(SYMFONY_LOCKED) + 3  # every locked package, dev ones included
    assert host.round_trips == 1
    # One advisories request for every package of the site.
    assert feed_server.hits["/packagist/api/security-advisories/"] == 1
    asked = [r for r in feed_server.requests if r.path.endswith("/security-advisories/")]
    assert asked[0].body.decode().count("packages%5B%5D=") == len(found)


def test_latest_and_recommended_agree_with_composer_outdated(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    root = build_symfony(tmp_path / "shop")
    found = by_name(check(root, upstream, fetcher))
    outdated = json.loads(
        composer_using(
            root, [upstream["composer"]], "outdated", "--locked", "--direct", "--format=json"
        )
    )["locked"]
    same_major = json.loads(
        composer_using(
            root,
            [upstream["composer"]],
            "outdated",
            "--locked",
            "--direct",
            "--minor-only",
            "--format=json",
        )
    )["locked"]
    checked = 0
    for entry in outdated:
        finding = found[entry["name"]]
        assert finding.installed == entry["version"]
        assert (finding.latest or finding.installed) == entry["latest"], entry["name"]
        checked += 1
    for entry in same_major:
        # Each direct constraint here is as wide as its major, so recommended is that latest.
        if entry["latest"] != "[none matched]" and entry["name"] != "symfony/console":
            assert found[entry["name"]].recommended == entry["latest"], entry["name"]
            checked += 1
    assert checked >= 7


def test_advisories_agree_with_composer_audit(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    root = build_symfony(tmp_path / "shop")
    found = by_name(check(root, upstream, fetcher))
    audit = json.loads(
        composer_using(root, [upstream["composer"]], "audit", "--locked", "--format=json")
    )
    theirs = {(name, a["advisoryId"]) for name, items in audit["advisories"].items() for a in items}
    ours = {(f.name, a.id) for f in found.values() for a in f.advisories}
    assert ours == theirs == {("symfony/http-kernel", "PKSA-h7xq-2b4p-ny4c")}


def test_transitive_metadata_on_request(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    root = build_symfony(tmp_path / "shop")
    found = by_name(check(root, upstream, fetcher, options={"composer_transitive": True}))
    # A transitive package stays in its major: the constraints of its dependents are unknown.
    assert row(found["doctrine/dbal"]) == ("3.8.0", "4.0.0", "3.8.3", "bugfix")
    assert row(found["sebastian/diff"]) == ("5.1.0", "5.1.0", "5.1.0", "none")
    assert (found["psr/log"].update, found["psr/log"].source) == ("unknown", "unknown")
    assert feed_server.hits["/repo/p2/doctrine/dbal.json"] == 1


def test_transitive_option_must_be_a_boolean(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    root = build_symfony(tmp_path / "shop")
    report = check(root, upstream, fetcher, options={"composer_transitive": "yes"})
    assert report.status == "error"
    assert "options.composer_transitive: must be true or false" in (report.error or "")


def test_abandoned_packages_are_unsupported(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    catalog = {
        "swiftmailer/swiftmailer": releases("swiftmailer/swiftmailer", "v6.3.0", "v6.2.7"),
        # The lock predates the abandonment: the repository's word counts too.
        "acme/old-sdk": releases("acme/old-sdk", "2.1.0", "2.0.0", abandoned=True),
        "acme/fine": releases("acme/fine", "1.1.0", "1.0.0"),
    }
    repo = serve_composer_repository(feed_server, "/repo", catalog)
    api = serve_advisories_api(feed_server, {})
    root = build_composer_site(
        tmp_path / "app",
        require={"swiftmailer/swiftmailer": "^6.2", "acme/old-sdk": "^2.0", "acme/fine": "^1.0"},
        locked={"swiftmailer/swiftmailer": "v6.2.7", "acme/old-sdk": "2.0.0", "acme/fine": "1.0.0"},
        abandoned={"swiftmailer/swiftmailer": "symfony/mailer"},
    )
    with capture_logs() as logs:
        found = by_name(check(root, {"composer": repo, "packagist": api}, fetcher))
    assert row(found["swiftmailer/swiftmailer"]) == ("v6.2.7", "v6.3.0", "v6.3.0", "unsupported")
    # Finding has no field for the replacement: the log says what to move to.
    abandoned = {e["package"]: e["use"] for e in logs if e["event"] == "composer: abandoned"}
    assert abandoned == {"swiftmailer/swiftmailer": "symfony/mailer", "acme/old-sdk": True}
    assert row(found["acme/old-sdk"]) == ("2.0.0", "2.1.0", "2.1.0", "unsupported")
    assert row(found["acme/fine"]) == ("1.0.0", "1.1.0", "1.1.0", "feature")


def test_affected_without_a_fix_in_its_major_is_insecure(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    catalog = {"acme/parser": releases("acme/parser", "3.0.0", "2.9.1", "2.9.0")}
    repo = serve_composer_repository(feed_server, "/repo", catalog)
    api = serve_advisories_api(
        feed_server, {"acme/parser": [advisory("PKSA-aaaa-bbbb-cccc", "acme/parser", "<3.0.0")]}
    )
    root = build_composer_site(
        tmp_path / "app", require={"acme/parser": "^2.9"}, locked={"acme/parser": "2.9.0"}
    )
    (finding,) = check(root, {"composer": repo, "packagist": api}, fetcher).components
    assert row(finding) == ("2.9.0", "3.0.0", None, "insecure")
    assert [a.id for a in finding.advisories] == ["PKSA-aaaa-bbbb-cccc"]


def test_inventory_flags_direct_transitive_dev_and_framework(tmp_path: Path) -> None:
    root = build_symfony(tmp_path / "shop")
    stack, components = inventory(root)
    assert stack == "composer"
    by = {c.name: c for c in components}
    locked = json.loads(run_composer(root, "show", "--locked", "--format=json", "--no-plugins"))
    assert {(p["name"], p["version"], p["direct-dependency"]) for p in locked["locked"]} == {
        (c.name, c.installed, c.extra["direct"]) for c in components
    }
    assert {n for n, c in by.items() if c.extra["dev"]} == {"phpunit/phpunit", "sebastian/diff"}
    assert by["symfony/framework-bundle"].extra["framework"] == "symfony"
    assert by["doctrine/orm"].extra["constraint"] == "^2.17"
    assert {c.kind for c in components} == {"package"}
    assert [c.extra["direct"] for c in components] == sorted(
        (c.extra["direct"] for c in components), reverse=True
    )
    # The tree is real: composer finds the lock in step with composer.json.
    assert "Lock file errors" not in run_composer(
        root, "validate", "--no-check-publish", "--no-plugins"
    )


def test_detection_versions_and_frameworks(tmp_path: Path, fetcher: Fetcher) -> None:
    symfony = build_symfony(tmp_path / "sf")
    laravel = build_laravel(tmp_path / "lv")
    site = site_context(LocalHost(), str(laravel), fetcher=fetcher, source_urls={})
    files = {n: (laravel / n).read_text() for n in ("composer.json", "composer.lock")}
    detection = detect_composer(site, files)
    assert detection is not None and detection.version == "v10.43.0"
    assert detection.root == str(laravel)
    assert inventory(symfony)[0] == "composer"
    by = {c.name: c for c in inventory(laravel)[1]}
    assert by["laravel/framework"].extra["framework"] == "laravel"


def test_other_stacks_trees_are_left_to_them(tmp_path: Path, fetcher: Fetcher) -> None:
    drupal = build_drupal10(tmp_path / "drupal").project_root
    recommended = {"name": "drupal/recommended-project", "require": {"drupal/core": "^10.2"}}
    (drupal / "composer.json").write_text(json.dumps(recommended))
    magento = build_magento(tmp_path / "magento").root
    wordpress = build_composer_site(
        tmp_path / "wp",
        require={"composer/installers": "^2.2"},
        locked={"composer/installers": "v2.2.0"},
        files={"wp-includes/version.php": "<?php\n$wp_version = '6.4.3';\n"},
    )
    presta = build_composer_site(
        tmp_path / "ps",
        name="prestashop/prestashop",
        require={"symfony/symfony": "~4.4"},
        locked={"symfony/symfony": "v4.4.50"},
    )
    for root, owner in ((drupal, "drupal"), (magento, "magento"), (wordpress, "wordpress")):
        assert inventory(root)[0] == owner
        files = {
            n: (root / n).read_text() if (root / n).exists() else None
            for n in (
                "composer.json",
                "composer.lock",
                "wp-includes/version.php",
                "app/etc/env.php",
            )
        }
        site = site_context(LocalHost(), str(root), fetcher=fetcher, source_urls={})
        assert detect_composer(site, files) is None, owner
    assert inventory(presta)[0] is None  # PrestaShop's own composer.json: not a generic project
    # Configured as a Composer project, a Drupal tree is checked as one.
    stack, components = inventory(drupal, stack="composer")
    assert stack == "composer" and "drupal/core" in {c.name for c in components}


def test_lockless_and_broken_projects(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    root = build_symfony(tmp_path / "shop")
    (root / "composer.lock").unlink()
    report = check(root, upstream, fetcher)
    assert report.status == "error" and "not a site of any known stack" in (report.error or "")
    report = check(root, upstream, fetcher, stack="composer")
    assert report.status == "error"
    assert (report.error or "").startswith(f"local:{root}/composer.lock: missing")
    (root / "composer.lock").write_text('{"packages": [{"name": "a/b"}]')
    report = check(root, upstream, fetcher)
    assert report.status == "error" and report.stack == "composer"
    assert (report.error or "").startswith(f"local:{root}/composer.lock: invalid JSON")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply('{"packages": {"doctrine/orm": 3}}'), "is not a list of versions"),
        (Reply("down", status=500), "HTTP 500"),
        (Reply("{}", delay=3.0), "timed out"),
    ],
    ids=["garbage", "http-500", "timeout"],
)
def test_failing_metadata_leaves_that_package_unknown(
    tmp_path: Path,
    upstream: dict[str, str],
    fetcher: Fetcher,
    feed_server: FeedServer,
    reply: Reply,
    reason: str,
) -> None:
    feed_server.routes["/repo/p2/doctrine/orm.json"] = reply
    report = check(build_symfony(tmp_path / "shop"), upstream, fetcher)
    assert report.status == "partial"
    url = f"{upstream['composer']}/p2/doctrine/orm.json"
    [error] = report.source_errors
    assert (error.source, error.url) == ("composer", url)
    assert reason in error.error
    found = {f.name: f for f in report.components}
    assert found["doctrine/orm"].update == "unknown"
    assert row(found["phpunit/phpunit"]) == ("10.5.9", "11.0.0", "10.5.10", "bugfix")
    assert found["symfony/http-kernel"].update == "security"


@pytest.mark.parametrize(
    "reply",
    [Reply("down", status=500), Reply("<html>", status=200), Reply("{}", delay=3.0)],
    ids=["http-500", "garbage", "timeout"],
)
def test_failing_advisories_keep_the_releases(
    tmp_path: Path,
    upstream: dict[str, str],
    fetcher: Fetcher,
    feed_server: FeedServer,
    reply: Reply,
) -> None:
    feed_server.routes["/packagist/api/security-advisories/"] = reply
    report = check(build_symfony(tmp_path / "shop"), upstream, fetcher)
    assert report.status == "partial"
    api = upstream["packagist"] + "/api/security-advisories/"
    assert [(e.source, e.url) for e in report.source_errors] == [("packagist", api)]
    found = {f.name: f for f in report.components}
    assert row(found["phpunit/phpunit"]) == ("10.5.9", "11.0.0", "10.5.10", "bugfix")
    assert all(f.advisories_unavailable for f in report.components)
    # Checked against advisories only, which were not read: never `none`.
    assert found["psr/log"].update == "unknown"


def test_repository_answering_404_for_everything_is_a_source_error(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    wrong = {**upstream, "composer": feed_server.url + "/nowhere"}
    report = check(build_symfony(tmp_path / "shop"), wrong, fetcher)
    assert report.status not in ("ok", "updates")
    [error] = report.source_errors
    assert error.source == "composer"
    assert error.url.startswith(feed_server.url + "/nowhere/p2/")
    assert "HTTP 404 for all" in error.error
    # The advisories still answered: the affected transitive package is still flagged.
    found = {f.name: f for f in report.components}
    assert found["symfony/http-kernel"].update == "insecure"
    assert report.status == "partial"


def test_fleet_asks_each_url_once(
    tmp_path: Path, upstream: dict[str, str], feed_server: FeedServer
) -> None:
    for name in ("one", "two", "three"):
        build_symfony(tmp_path / name)
    build_laravel(tmp_path / "lara")
    names = ("one", "two", "three", "lara")
    sources = {
        "composer": {"url": upstream["composer"]},
        "packagist": {"url": upstream["packagist"]},
    }
    config = write_fleet_config(tmp_path, sources, {n: tmp_path / n for n in names})
    with Fetcher(timeout=2.0) as fetcher:
        reports, run = run_fleet(config, fetcher=fetcher, pm=PM)
    assert {r.status for r in reports.values()} == {"updates"}
    assert row(by_name(reports["lara"])["laravel/framework"]) == (
        "v10.43.0",
        "v11.0.0",
        "v10.48.2",
        "feature",
    )
    assert set(fetcher.sent.values()) == {1}
    assert all(count == 1 for path_, count in feed_server.hits.items() if "/p2/" in path_)
    assert feed_server.hits["/repo/packages.json"] == 1
    # The Symfony sites share their packages: Laravel's are the only ones asked again.
    assert feed_server.hits["/packagist/api/security-advisories/"] == 2
    assert all(trips <= 2 for trips in run.round_trips.values()) and len(run.round_trips) == 4


def test_repositories_from_config_in_order(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    mirror = serve_composer_repository(
        feed_server, "/mirror", {"doctrine/orm": releases("doctrine/orm", "2.17.3", "2.17.2")}
    )
    root = build_symfony(tmp_path / "shop")
    site = site_context(LocalHost(), str(root), fetcher=fetcher, source_urls=upstream)
    site.sources = {
        "composer": SourceSettings(
            repositories=[
                ComposerRepository(url=mirror),
                ComposerRepository(url=upstream["composer"]),
            ]
        )
    }
    report = check_site(site, PM)
    assert report is not None
    found = by_name(report)
    assert row(found["doctrine/orm"]) == ("2.17.2", "2.17.3", "2.17.3", "bugfix")
    assert found["doctrine/orm"].source == mirror + "/p2/doctrine/orm.json"
    assert found["symfony/console"].source.startswith(upstream["composer"])

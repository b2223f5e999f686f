"""The Drupal plugin end to end: real trees on disk, real feeds over HTTP on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as safe_xml
import pytest
from tma_drupal.releases import parse_release_history
from tma_drupal.status import classify
from tma_drupal.testing.feeds import (
    error_xml,
    release,
    release_history_xml,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal7, build_drupal10

from tma_agent.hosts import LocalHost
from tma_agent.models import Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.sources import Fetcher
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sites import check_path, site_context

PM = get_plugin_manager()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    # One try and a short timeout: error tests must not wait on retries and backoff.
    with Fetcher(timeout=2.0, retries=1) as shared:
        yield shared


def check(
    path: Path,
    base: str,
    fetcher: Fetcher,
    *,
    stack: str | None = None,
    host: LocalHost | None = None,
    site_id: str = "test-site",
) -> SiteReport:
    return check_path(
        path,
        fetcher=fetcher,
        source_urls={"drupal": base},
        stack=stack,
        site_id=site_id,
        host=host,
        pm=PM,
    )


def by_name(report: SiteReport) -> dict[str, Finding]:
    assert report.status != "error", report.error
    return {finding.name: finding for finding in report.components}


def feed(name: str, *releases: dict[str, Any], branches: str | None = "8.x-1.", **kw: Any) -> str:
    return release_history_xml(name, supported_branches=branches, releases=releases, **kw)


CORE_FEED = feed(
    "drupal",
    release("11.0.1", "Bug fixes"),
    release("11.0.0", "New features"),
    release("10.3.1", "Bug fixes"),
    release("10.3.0", "New features", "Bug fixes"),
    release("10.2.4", "Security update", security="SA-CORE-2024-001 fixed"),
    release("10.2.3", "Bug fixes"),
    branches="10.2.,10.3.,11.0.",
    type="project_core",
)

#: project -> (installed drupal.org version, feed, expected update, recommended, latest)
STATUS_CASES: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "sec_mod": (
        "8.x-1.2",
        feed(
            "sec_mod",
            release("8.x-1.4", "Bug fixes"),
            release("8.x-1.3", "Security update"),
            release("8.x-1.2"),
        ),
        "security",
        "8.x-1.4",
        "8.x-1.4",
    ),
    "insecure_rel": (
        "8.x-1.0",
        feed(
            "insecure_rel",
            release("8.x-1.1", "Security update"),
            release("8.x-1.0", "Bug fixes", "Insecure"),
        ),
        "insecure",
        "8.x-1.1",
        "8.x-1.1",
    ),
    "insecure_proj": (
        "2.0.0",
        feed("insecure_proj", release("2.0.0"), branches="2.0.", project_status="insecure"),
        "insecure",
        None,
        "2.0.0",
    ),
    "revoked_rel": (
        "8.x-1.1",
        feed("revoked_rel", release("8.x-1.2"), release("8.x-1.1", status="unpublished")),
        "revoked",
        "8.x-1.2",
        "8.x-1.2",
    ),
    "revoked_proj": (
        "8.x-1.1",
        feed("revoked_proj", release("8.x-1.1"), project_status="revoked"),
        "revoked",
        None,
        "8.x-1.1",
    ),
    "unpublished_proj": (
        "8.x-1.1",
        feed("unpublished_proj", release("8.x-1.1"), project_status="unpublished"),
        "revoked",
        None,
        "8.x-1.1",
    ),
    "unsup_branch": (
        "8.x-1.5",
        feed(
            "unsup_branch",
            release("8.x-2.1"),
            release("8.x-2.0", "New features"),
            release("8.x-1.5"),
            branches="8.x-2.",
        ),
        "unsupported",
        "8.x-2.1",
        "8.x-2.1",
    ),
    "unsup_proj": (
        "8.x-1.5",
        feed("unsup_proj", release("8.x-1.5"), project_status="unsupported"),
        "unsupported",
        None,
        "8.x-1.5",
    ),
    "bugfix_mod": (
        "2.0.1",
        feed(
            "bugfix_mod",
            release("2.0.3", "Bug fixes"),
            release("2.0.2", "Bug fixes"),
            release("2.0.1"),
            branches="2.0.",
        ),
        "bugfix",
        "2.0.3",
        "2.0.3",
    ),
    "feature_mod": (
        "2.0.1",
        feed(
            "feature_mod",
            release("2.1.0", "New features", "Bug fixes"),
            release("2.0.2", "Bug fixes"),
            release("2.0.1"),
            branches="2.0.,2.1.",
        ),
        "feature",
        "2.1.0",
        "2.1.0",
    ),
    "current_mod": (
        "8.x-1.13",
        feed("current_mod", release("8.x-1.13"), release("8.x-1.12")),
        "none",
        "8.x-1.13",
        "8.x-1.13",
    ),
    # Installed on the old major while a new major exists: recommended stays on 1.x.
    "majors_mod": (
        "8.x-1.2",
        feed(
            "majors_mod",
            release("2.0.1", "Bug fixes"),
            release("2.0.0", "New features"),
            release("8.x-1.3", "Bug fixes"),
            release("8.x-1.2"),
            branches="8.x-1.,2.0.",
        ),
        "bugfix",
        "8.x-1.3",
        "2.0.1",
    ),
    # The newest pre-release installed counts as current.
    "beta_mod": (
        "8.x-2.0-beta2",
        feed(
            "beta_mod",
            release("8.x-2.0-beta2", "New features"),
            release("8.x-2.0-beta1", "New features"),
            release("8.x-1.5"),
            branches="8.x-1.,8.x-2.",
        ),
        "none",
        "8.x-2.0-beta2",
        "8.x-1.5",
    ),
}


@pytest.fixture
def status_site(tmp_path: Path, feed_server: FeedServer) -> tuple[Path, str]:
    modules = {name: case[0] for name, case in STATUS_CASES.items()}
    modules["not_on_drupal_org"] = "8.x-1.0"
    modules["gone_404"] = "8.x-1.0"
    tree = build_drupal10(tmp_path / "site", core="10.2.3", modules=modules)
    feeds: dict[str, str | Reply] = {name: case[1] for name, case in STATUS_CASES.items()}
    feeds["drupal"] = CORE_FEED
    feeds["not_on_drupal_org"] = error_xml("not_on_drupal_org")
    feeds["gone_404"] = Reply(error_xml("gone_404"), status=404)
    base = serve_release_histories(feed_server, feeds)
    return tree.project_root, base


def test_every_status_end_to_end(status_site: tuple[Path, str], fetcher: Fetcher) -> None:
    path, base = status_site
    host = LocalHost()
    report = check(path, base, fetcher, host=host)
    findings = by_name(report)
    assert report.status == "updates"
    for name, (installed, _, update, recommended, latest) in STATUS_CASES.items():
        finding = findings[name]
        assert (finding.installed, finding.update) == (installed, update), name
        assert (finding.recommended, finding.latest) == (recommended, latest), name
        assert finding.source == f"{base}/{name}/current"
    assert [a.id for a in findings["sec_mod"].advisories] == ["8.x-1.3"]
    assert str(findings["sec_mod"].advisories[0].url).endswith("/sec_mod/releases/8.x-1.3")
    assert [a.id for a in findings["insecure_rel"].advisories] == ["8.x-1.1"]
    for unknown in ("not_on_drupal_org", "gone_404", "agency_tweaks"):
        assert (findings[unknown].update, findings[unknown].source) == ("unknown", "unknown")
    assert findings["agency_tweaks"].installed is None
    # A whole check of a Drupal 10 site: one read for detection, one glob for the inventory.
    assert host.round_trips <= 2


def test_core_finding_and_stable_order(status_site: tuple[Path, str], fetcher: Fetcher) -> None:
    path, base = status_site
    report = check(path, base, fetcher)
    core = report.components[0]
    assert (core.name, core.kind, core.installed) == ("drupal", "core", "10.2.3")
    assert (core.update, core.recommended, core.latest) == ("security", "10.3.1", "11.0.1")
    assert [a.id for a in core.advisories] == ["SA-CORE-2024-001"]
    rest = [(f.kind, f.name) for f in report.components[1:]]
    assert rest == sorted(rest)
    assert report.to_dict() == check(path, base, fetcher).to_dict()


def test_detects_docroot_in_path_or_web(tmp_path: Path) -> None:
    for web_dir in (True, False):
        tree = build_drupal10(tmp_path / f"web-{web_dir}", web_dir=web_dir)
        with Fetcher() as unused:
            site = site_context(LocalHost(), str(tree.project_root), fetcher=unused, source_urls={})
            wanted = sorted({p for paths in PM.hook.tma_detect_paths() for p in paths})
            contents = site.host.read_many([f"{site.path}/{p}" for p in wanted])
            files = {p: contents[f"{site.path}/{p}"] for p in wanted}
            detection = PM.hook.tma_detect_stack(site=site, files=files)
        assert detection is not None
        assert (detection.stack, detection.root) == ("drupal", str(tree.docroot))
        assert detection.version == "10.2.3"


def test_not_drupal(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "plain" / "includes").mkdir(parents=True)
    (tmp_path / "plain" / "includes" / "bootstrap.inc").write_text("<?php // another app\n")
    report = check(tmp_path / "plain", "http://127.0.0.1:9", fetcher, stack="drupal")
    assert report.status == "error"
    assert "not a drupal site" in (report.error or "")
    unknown = check(tmp_path / "plain", "http://127.0.0.1:9", fetcher)
    assert unknown.status == "error" and "not a site of any known stack" in (unknown.error or "")
    tree = build_drupal10(tmp_path / "d10")
    other = check(tree.project_root, "http://127.0.0.1:9", fetcher, stack="wordpress")
    assert other.status == "error"  # the Drupal plugin stays silent for another stack


def test_drupal7_core_and_contrib(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    tree = build_drupal7(
        tmp_path / "d7",
        core="7.98",
        modules={"views": "7.x-3.20", "ctools": "7.x-1.21"},
        themes={"adminimal_theme": "7.x-1.26"},
        submodules={"views": ["views_ui"]},
    )
    d7 = {"api_version": "7.x"}
    base = serve_release_histories(
        feed_server,
        {
            "drupal": feed(
                "drupal",
                release("7.101", "Security update"),
                release("7.100", "Bug fixes"),
                release("7.98"),
                branches="7.",
                type="project_core",
                **d7,
            ),
            # Older D7 feed style: supported_majors instead of supported_branches.
            "views": feed(
                "views",
                release("7.x-3.29", "Bug fixes"),
                release("7.x-3.20"),
                branches=None,
                supported_majors=[3],
                recommended_major=3,
                **d7,
            ),
            "ctools": feed("ctools", release("7.x-1.21"), branches="7.x-1.", **d7),
            "adminimal_theme": feed(
                "adminimal_theme",
                release("7.x-1.26"),
                branches="7.x-1.",
                type="project_theme",
                **d7,
            ),
        },
        api="7.x",
    )
    host = LocalHost()
    findings = by_name(check(tree.project_root, base, fetcher, host=host))
    assert host.round_trips <= 2
    assert list(findings) == ["drupal", "agency_tweaks", "ctools", "views", "adminimal_theme"]
    core = findings["drupal"]
    assert (core.installed, core.update, core.recommended) == ("7.98", "security", "7.101")
    assert [a.id for a in core.advisories] == ["7.101"]
    views = findings["views"]
    assert (views.installed, views.update, views.recommended) == ("7.x-3.20", "bugfix", "7.x-3.29")
    assert findings["ctools"].update == "none"
    assert (findings["adminimal_theme"].kind, findings["adminimal_theme"].update) == (
        "theme",
        "none",
    )
    assert findings["agency_tweaks"].update == "unknown"
    assert core.source.endswith("/drupal/7.x") and views.source.endswith("/views/7.x")


def _pathauto_feed() -> str:
    return feed(
        "pathauto", release("8.x-1.12"), release("8.x-1.11"), release("8.x-1.10", "Bug fixes")
    )


def test_composer_lock_wins_over_info_yml(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    base = serve_release_histories(
        feed_server,
        {
            "drupal": CORE_FEED,
            "pathauto": _pathauto_feed(),
            "blazy": feed("blazy", release("2.0.0"), branches="2.0."),
        },
    )
    variants: dict[str, dict[str, Any]] = {
        "extra": {},
        # Without packages.drupal.org's extra.drupal.version, `1.12.0` is resolved by the feed.
        "no-extra": {"composer_drupal_extra": False},
    }
    for label, options in variants.items():
        tree = build_drupal10(
            tmp_path / label,
            modules={"pathauto": "8.x-1.12", "blazy": "2.0.0"},
            info_versions={"pathauto": "8.x-1.11"},
            submodules={"pathauto": ["pathauto_extra"]},
            **options,
        )
        findings = by_name(check(tree.project_root, base, fetcher))
        assert findings["pathauto"].installed == "8.x-1.12", label
        assert findings["pathauto"].update == "none", label
        assert findings["blazy"].installed == "2.0.0", label
        assert "pathauto_extra" not in findings and "pathauto_test" not in findings


def test_installed_json_then_info_yml(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    base = serve_release_histories(feed_server, {"drupal": CORE_FEED, "pathauto": _pathauto_feed()})
    tree = build_drupal10(
        tmp_path / "no-lock",
        modules={"pathauto": "8.x-1.12"},
        info_versions={"pathauto": "8.x-1.11"},
    )
    (tree.project_root / "composer.lock").unlink()
    host = LocalHost()
    findings = by_name(check(tree.project_root, base, fetcher, host=host))
    assert findings["pathauto"].installed == "8.x-1.12"
    assert host.round_trips <= 2
    shutil.rmtree(tree.project_root / "vendor")
    findings = by_name(check(tree.project_root, base, fetcher))
    assert (findings["pathauto"].installed, findings["pathauto"].update) == ("8.x-1.11", "bugfix")
    assert findings["drupal"].installed == "10.2.3"  # from core/lib/Drupal.php


def test_unreadable_info_file_is_one_unknown_component(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    base = serve_release_histories(feed_server, {"drupal": CORE_FEED, "pathauto": _pathauto_feed()})
    tree = build_drupal10(
        tmp_path / "s", modules={"pathauto": "8.x-1.12"}, custom_modules=(), composer=False
    )
    broken = tree.docroot / "modules/contrib/broken/broken.info.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("name: [unclosed\nversion: '8.x-1.0'\n")
    findings = by_name(check(tree.project_root, base, fetcher))
    assert (findings["broken"].update, findings["broken"].source) == ("unknown", "unknown")
    assert findings["pathauto"].update == "none"


def test_unreadable_core_version_names_the_file(tmp_path: Path, fetcher: Fetcher) -> None:
    tree = build_drupal10(tmp_path / "s", composer=False)
    drupal_php = tree.docroot / "core/lib/Drupal.php"
    drupal_php.write_text("<?php\nclass Drupal {}\n")
    report = check(tree.project_root, "http://127.0.0.1:9", fetcher)
    assert report.status == "error"
    assert str(drupal_php) in (report.error or "")


BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
    "<project><title>&lol2;</title></project>\n"
)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("this is not XML <"), "invalid XML"),
        (Reply("<html><body>maintenance</body></html>"), "root element <html>"),
        (Reply("oops", status=500), "HTTP 500"),
        (Reply("not found", status=404), "HTTP 404"),
        (Reply(BOMB), "unsafe XML"),
        (Reply(_pathauto_feed(), delay=4.0), "timed out"),
    ],
    ids=["garbage", "wrong-root", "http-500", "plain-404", "xml-bomb", "timeout"],
)
def test_bad_feed_leaves_the_other_projects_and_names_the_url(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher, reply: Reply, reason: str
) -> None:
    base = serve_release_histories(feed_server, {"drupal": CORE_FEED, "pathauto": reply})
    tree = build_drupal10(tmp_path / "s", modules={"pathauto": "8.x-1.12"})
    report = check(tree.project_root, base, fetcher)
    assert report.status == "partial"
    assert report.error is not None and "\n" not in report.error
    assert f"{base}/pathauto/current" in report.error
    [error] = report.source_errors
    assert (error.source, error.url) == ("drupal", f"{base}/pathauto/current")
    assert reason in error.error
    findings = {f.name: f for f in report.components}
    # Core's feed answered: its verdict survives the pathauto failure.
    assert findings["drupal"].source == f"{base}/drupal/current"
    assert findings["drupal"].update != "unknown"
    assert not findings["drupal"].advisories_unavailable
    assert findings["pathauto"].update == "unknown"
    assert findings["pathauto"].advisories_unavailable


def test_every_feed_failing_is_a_site_error(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    broken = Reply("oops", status=500)
    base = serve_release_histories(feed_server, {"drupal": broken, "pathauto": broken})
    tree = build_drupal10(tmp_path / "s", modules={"pathauto": "8.x-1.12"})
    report = check(tree.project_root, base, fetcher)
    assert report.status == "error"
    assert report.error is not None and report.error.startswith("nothing could be evaluated")
    assert {e.url for e in report.source_errors} == {
        f"{base}/drupal/current",
        f"{base}/pathauto/current",
    }
    assert all(f.update == "unknown" for f in report.components)


def test_one_fetch_per_feed_for_many_sites(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    base = serve_release_histories(
        feed_server,
        {
            "drupal": CORE_FEED,
            "pathauto": _pathauto_feed(),
            "token": feed("token", release("8.x-1.13")),
        },
    )
    for index in range(5):
        tree = build_drupal10(tmp_path / f"s{index}", web_dir=bool(index % 2))
        assert check(tree.project_root, base, fetcher, site_id=f"s{index}").status != "error"
    assert feed_server.hits == {
        "/release-history/drupal/current": 1,
        "/release-history/pathauto/current": 1,
        "/release-history/token/current": 1,
    }


def test_registration() -> None:
    assert registered_stacks(PM)["drupal"].title == "Drupal"
    source = registered_sources(PM)["drupal"]
    assert source.default_url == "https://updates.drupal.org/release-history"


# --- classification corner cases straight from parsed feeds ---------------------------------------


def _classify(installed: str, xml: str, datestamp: int | None = None) -> tuple[str, str | None]:
    history = parse_release_history("http://feed", safe_xml.fromstring(xml))
    verdict = classify(installed, history, datestamp=datestamp)
    return verdict.update, verdict.recommended


def test_release_typed_unsupported() -> None:
    xml = feed("m", release("8.x-1.3"), release("8.x-1.2", "Bug fixes", "Unsupported"))
    assert _classify("8.x-1.2", xml) == ("unsupported", "8.x-1.3")


def test_pre_release_installed_behind_a_stable_one() -> None:
    xml = feed(
        "m",
        release("8.x-1.0", "Bug fixes"),
        release("8.x-1.0-rc1", "New features"),
        release("8.x-0.9"),
    )
    assert _classify("8.x-1.0-rc1", xml, None) == ("bugfix", "8.x-1.0")


def test_recommended_skips_newer_pre_releases() -> None:
    xml = feed(
        "m",
        release("8.x-1.4-beta1", "New features"),
        release("8.x-1.3", "Bug fixes"),
        release("8.x-1.2"),
    )
    assert _classify("8.x-1.2", xml) == ("bugfix", "8.x-1.3")
    # Core recommends the newest release when nothing stable was seen before the installed one.
    assert _classify("8.x-1.4-beta1", xml) == ("none", "8.x-1.4-beta1")


def test_insecure_newer_release_is_never_recommended() -> None:
    xml = feed("m", release("8.x-1.3", "Bug fixes", "Insecure"), release("8.x-1.2"))
    assert _classify("8.x-1.2", xml) == ("none", "8.x-1.2")


def test_dev_snapshot_uses_datestamp() -> None:
    # drupal.org lists a major's dev snapshot after its releases.
    xml = feed(
        "m",
        release("8.x-1.3", "Security update", date=1500),
        release("8.x-1.2", date=1000),
        release("8.x-1.x-dev", date=2000),
    )
    assert _classify("8.x-1.x-dev", xml, datestamp=2050)[0] == "none"
    assert _classify("8.x-1.x-dev", xml, datestamp=1200)[0] == "security"


def test_no_releases_is_unknown() -> None:
    assert _classify("8.x-1.2", feed("m"))[0] == "unknown"


def test_feed_values_are_data() -> None:
    hostile = {"version": "8.x-1.3; rm -rf /", "terms": ["$(reboot)"]}
    xml = feed("m", hostile, release("8.x-1.2"))
    assert _classify("8.x-1.2", xml) == ("none", "8.x-1.2")

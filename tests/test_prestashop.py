"""PrestaShop stack: real trees in the 1.6, 1.7, 8 and 9 layouts, the distribution API, module
index and advisories served by a local HTTP server or read from files, the real runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pluggy
import pytest
from tma_prestashop.detect import detect_prestashop
from tma_prestashop.inventory import main_file_version
from tma_prestashop.lines import major_line, minor_line, module_update_kind
from tma_prestashop.testing.answers import (
    DISTRIBUTION_PATH,
    advisory,
    module_release,
    modules_index,
    serve_distribution_api,
    serve_json,
    write_json,
)
from tma_prestashop.testing.trees import build_prestashop

from tma_agent.config import SourceSettings, load_config
from tma_agent.hosts import Host, LocalHost, SSHHost
from tma_agent.models import Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.run_scope import RunScope
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route, packagist_advisory
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sites import check_path, site_context
from tma_agent.testing.sshd import SSHServer
from tma_agent.versions import Version

CORE_RELEASES = [
    "9.0.1",
    ("9.1.0-beta.1", "beta"),
    "8.2.1",
    "8.2.0",
    "8.1.7",
    "8.1.6",
    "1.7.8.11",
    "1.7.8.10",
    "1.7.7.8",
]
INDEX = modules_index(
    {
        "ps_facetedsearch": [
            module_release("4.0.0", date="2024-10-01", ps_min="9.0.0"),
            module_release("3.16.1", date="2024-05-02", ps_min="1.7.8.0", ps_max="8.99.99"),
            "3.14.1",
        ],
        "ps_emailsubscription": ["2.8.0", "2.7.1", "2.7.0"],
        "ps_mainmenu": ["2.3.4"],
        "blockwishlist": ["3.0.1", "2.1.1", "2.1.0"],
        "ps_legacy": ["1.0.0"],
    }
)
ADVISORIES = [
    advisory("blockwishlist", ">= 2.0.0, < 2.1.1", cve="CVE-2022-31101", severity="high (8.8)"),
    advisory("ps_legacy", "<= 1.0.0", cve="CVE-2024-0001"),
    advisory("abandoned_module", "*", cve="CVE-2024-0002"),
    advisory("prestashop", ">= 8.0.0, < 8.0.4 || < 1.7.8.9", cve="CVE-2023-30839"),
]


PACKAGIST_PATH = "/api/security-advisories/"
PACKAGIST = {
    "prestashop/prestashop": [
        # The same flaw as the Friends-of-Presta entry (same CVE): reported once.
        packagist_advisory(
            "PKSA-aaaa",
            "prestashop/prestashop",
            ">=1.7.0.0,<1.7.8.9|>=8.0.0,<8.0.4",
            cve="CVE-2023-30839",
        ),
        packagist_advisory(
            "PKSA-bbbb", "prestashop/prestashop", ">=1.7.0.0,<1.7.8.10", cve="CVE-2024-2222"
        ),
    ]
}


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=2.0, backoff=0.001, max_retry_after=0.05) as shared:
        yield shared


@pytest.fixture
def api(feed_server: FeedServer) -> dict[str, str]:
    """Distribution API, module index and advisories served locally: the `sources.prestashop`
    settings as a dict."""
    return {
        "url": serve_distribution_api(feed_server, CORE_RELEASES),
        "modules": serve_json(feed_server, "/agency/modules.json", INDEX),
        "advisories": serve_json(feed_server, "/agency/advisories.json", ADVISORIES),
        "packagist": _serve_packagist(feed_server),
    }


def _serve_packagist(server: FeedServer) -> str:
    server.routes[PACKAGIST_PATH] = advisories_route(PACKAGIST)
    return server.url


def run_check(
    pm: pluggy.PluginManager,
    path: Path,
    sources: dict[str, str],
    fetcher: Fetcher,
    *,
    stack: str | None = "prestashop",
    site_id: str = "shop",
    host: Host | None = None,
    run: RunScope | None = None,
) -> tuple[SiteReport, Host]:
    host = host or LocalHost()
    # Without a `packagist` entry the site is checked without Packagist, as a hand-built
    # context is; the runner always registers it.
    urls = {"prestashop": sources["url"]}
    if "packagist" in sources:
        urls["packagist"] = sources["packagist"]
    settings = {k: v for k, v in sources.items() if k in ("modules", "advisories")}
    report = check_path(
        path,
        fetcher=fetcher,
        source_urls=urls,
        sources={"prestashop": SourceSettings(**settings)},
        stack=stack,
        site_id=site_id,
        host=host,
        pm=pm,
        run=run,
    )
    return report, host


def by_name(report: SiteReport) -> dict[str, Finding]:
    return {f.name: f for f in report.components}


def row(finding: Finding) -> tuple[str | None, str | None, str | None, str]:
    return finding.installed, finding.latest, finding.recommended, finding.update


# --- Registration, detection, version lines ---------------------------------------------------


def test_registers_stack_and_source(pm: pluggy.PluginManager) -> None:
    assert registered_stacks(pm)["prestashop"].title == "PrestaShop"
    assert registered_sources(pm)["prestashop"].default_url == "https://api.prestashop-project.org"


@pytest.mark.parametrize(
    ("core", "origin"),
    [
        ("1.6.1.24", "config/settings.inc.php"),
        ("1.7.8.11", "app/AppKernel.php"),
        ("8.1.7", "app/AppKernel.php"),
        ("9.0.1", "app/AppKernel.php"),
    ],
)
def test_detects_each_layout(
    pm: pluggy.PluginManager, tmp_path: Path, core: str, origin: str
) -> None:
    build_prestashop(tmp_path, core=core)
    legacy = core.startswith("1.6")
    assert (tmp_path / "app" / "AppKernel.php").exists() is not legacy
    host = LocalHost()
    site = site_context(host, str(tmp_path), fetcher=Fetcher(), source_urls={})
    # What the runner does: one read of every detect path, kept in site.files.
    paths = {rel: str(tmp_path / rel) for p in pm.hook.tma_detect_paths() for rel in p}
    site.files.update(host.read_many(list(paths.values())))
    detection = detect_prestashop(site, {rel: site.files[path] for rel, path in paths.items()})
    assert detection is not None
    assert (detection.stack, detection.root, detection.version) == (
        "prestashop",
        str(tmp_path),
        core,
    )
    site.root, site.stack = str(tmp_path), "prestashop"
    components = pm.hook.tma_inventory(site=site)
    assert (components[0].name, components[0].kind, components[0].installed) == (
        "prestashop",
        "core",
        core,
    )
    assert [c.name for c in components[1:]] == [
        "agency_tweaks",
        "ps_emailsubscription",
        "ps_facetedsearch",
    ]
    assert host.round_trips == 2
    core_component = components[0]
    assert core_component.origin == origin


def test_detection_rules(tmp_path: Path) -> None:
    site = site_context(LocalHost(), str(tmp_path), fetcher=Fetcher(), source_urls={})
    symfony = "<?php\nclass AppKernel extends Kernel\n{\n    const VERSION = '3.4.1';\n}\n"
    assert detect_prestashop(site, {"app/AppKernel.php": symfony}) is None
    # With config/defines.inc.php beside it, it is PrestaShop; AppKernel beats a stale settings.
    files = {
        "public/app/AppKernel.php": symfony,
        "public/config/defines.inc.php": "<?php\n",
        "public/config/settings.inc.php": "<?php define('_PS_VERSION_', '1.6.1.24');",
    }
    detection = detect_prestashop(site, files)
    assert detection is not None
    assert (detection.root, detection.version) == (str(tmp_path / "public"), "3.4.1")
    commented = (
        "<?php\n// define('_PS_VERSION_', '1.5.0.0');\n/* define('_PS_VERSION_', '1.4'); */\n"
    )
    assert detect_prestashop(site, {"config/settings.inc.php": commented}) is None
    site.stack = "wordpress"
    assert detect_prestashop(site, files) is None


def test_version_lines_and_module_update_kinds() -> None:
    assert major_line(Version("1.7.8.11")) == (1, 7)
    assert minor_line(Version("1.7.8.11")) == (1, 7, 8)
    assert major_line(Version("8.1.7")) == (8,)
    assert minor_line(Version("8.1.7")) == (8, 1)
    assert minor_line(Version("9")) == (9, 0)
    assert module_update_kind(Version("3.14.1"), Version("3.14.2")) == "bugfix"
    assert module_update_kind(Version("3.14.1"), Version("3.16.1")) == "feature"
    assert module_update_kind(Version("2.0"), Version("2.0.3")) == "bugfix"
    assert module_update_kind(Version("2.0.3"), Version("2.0.3")) == "none"
    text = "<?php\n// $this->version = '9.9.9';\n$this->version = \"2.0.3\";\n"
    assert main_file_version(text) == "2.0.3"
    assert main_file_version("<?php $this->version = self::VERSION;") is None


# --- Inventory -------------------------------------------------------------------------------


def test_config_xml_versus_main_file(
    pm: pluggy.PluginManager, tmp_path: Path, api: dict[str, str], fetcher: Fetcher
) -> None:
    build_prestashop(
        tmp_path,
        core="8.1.7",
        modules={
            "ps_facetedsearch": "3.14.1",
            "ps_emailsubscription": "2.7.0",
            "ps_mainmenu": "2.3.4",
        },
        custom_modules={"agency_tweaks": "1.2.0"},
        legacy_main_file_only=("ps_emailsubscription",),
        config_versions={"ps_facetedsearch": "3.10.0"},
        dynamic_version=("ps_mainmenu",),
    )
    # Not modules: a directory without its main file, and a stray file in modules/.
    (tmp_path / "modules" / "leftover").mkdir()
    (tmp_path / "modules" / "leftover" / "config.xml").write_text(
        "<module><version>1</version></module>"
    )
    report, host = run_check(pm, tmp_path, api, fetcher)
    assert report.status == "updates", report.error
    found = by_name(report)
    assert list(found) == [
        "prestashop",
        "agency_tweaks",
        "ps_emailsubscription",
        "ps_facetedsearch",
        "ps_mainmenu",
    ]
    # The main file wins over a stale config.xml; without config.xml it is the only witness;
    # a version set from a constant leaves config.xml to speak.
    assert found["ps_facetedsearch"].installed == "3.14.1"
    assert found["ps_emailsubscription"].installed == "2.7.0"
    assert found["ps_mainmenu"].installed == "2.3.4"
    assert found["ps_mainmenu"].update == "none"
    custom = found["agency_tweaks"]
    assert (custom.installed, custom.update, custom.source, custom.recommended) == (
        "1.2.0",
        "unknown",
        "unknown",
        None,
    )
    assert host.round_trips == 2


def test_malformed_config_xml_makes_only_that_module_unknown(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    api: dict[str, str],
    fetcher: Fetcher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = "<?xml version='1.0'?>\n<module><name>ps_mainmenu</name><version>2.3"
    entity = (
        '<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x "2.3.4">]>\n'
        "<module><version>&x;</version></module>"
    )
    build_prestashop(
        tmp_path,
        modules={"ps_mainmenu": "2.3.4", "ps_legacy": "1.0.0", "ps_emailsubscription": "2.7.0"},
        config_xml={"ps_mainmenu": broken, "ps_legacy": entity, "ps_emailsubscription": broken},
        dynamic_version=("ps_mainmenu", "ps_legacy"),
    )
    report, _ = run_check(pm, tmp_path, api, fetcher)
    assert report.status == "updates", report.error
    found = by_name(report)
    assert row(found["ps_mainmenu"]) == (None, None, None, "unknown")
    assert row(found["ps_legacy"]) == (None, None, None, "unknown")
    # The main file still tells the version of a module whose config.xml is broken.
    assert row(found["ps_emailsubscription"]) == ("2.7.0", "2.8.0", "2.8.0", "feature")
    logged = capsys.readouterr().out
    assert f"{tmp_path}/modules/ps_mainmenu/config.xml" in logged
    assert "malformed config.xml" in logged


# --- Core --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("core", "latest", "recommended", "update"),
    [
        ("8.1.6", "9.0.1", "8.2.1", "feature"),
        ("8.2.0", "9.0.1", "8.2.1", "bugfix"),
        ("8.2.1", "9.0.1", "8.2.1", "none"),
        ("1.7.8.10", "9.0.1", "1.7.8.11", "bugfix"),
        ("1.7.7.8", "9.0.1", "1.7.8.11", "feature"),
        ("9.0.1", "9.0.1", "9.0.1", "none"),  # 9.1.0-beta.1 is not stable
        ("1.6.1.24", "9.0.1", None, "unsupported"),
        ("10.0.0", "9.0.1", None, "unknown"),  # a line the API does not list
    ],
)
def test_core_verdicts(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    feed_server: FeedServer,
    fetcher: Fetcher,
    core: str,
    latest: str,
    recommended: str | None,
    update: str,
) -> None:
    url = serve_distribution_api(feed_server, CORE_RELEASES)
    build_prestashop(tmp_path, core=core, modules={}, custom_modules=())
    report, host = run_check(pm, tmp_path, {"url": url}, fetcher)
    assert report.error is None
    (finding,) = report.components
    assert row(finding) == (core, latest, recommended, update)
    assert finding.source == f"{url}{DISTRIBUTION_PATH}"
    assert finding.advisories == []
    assert host.round_trips == 2


def test_upgraded_shop_reads_app_kernel_not_stale_settings(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = serve_distribution_api(feed_server, CORE_RELEASES)
    build_prestashop(tmp_path / "public", core="1.7.8.10", stale_settings="1.6.1.24", modules={})
    report, host = run_check(pm, tmp_path, {"url": url}, fetcher, stack=None)
    assert report.stack == "prestashop"
    assert row(by_name(report)["prestashop"]) == ("1.7.8.10", "9.0.1", "1.7.8.11", "bugfix")
    assert host.round_trips == 2


# --- Modules: index over HTTP and from a file ------------------------------------------------


def _module_rows(report: SiteReport) -> dict[str, tuple[Any, ...]]:
    return {f.name: (*row(f), f.released) for f in report.components if f.kind == "module"}


EXPECTED_MODULES = {
    # 4.0.0 needs core 9: latest, not recommended, on an 8.1 shop.
    "ps_facetedsearch": ("3.14.1", "4.0.0", "3.16.1", "feature", "2024-05-02"),
    "ps_emailsubscription": ("2.7.0", "2.8.0", "2.8.0", "feature", "2024-05-02"),
    "ps_mainmenu": ("2.3.4", "2.3.4", "2.3.4", "none", None),
    "ps_unlisted": ("1.1.0", None, None, "unknown", None),
}


def test_module_updates_from_index_over_http(
    pm: pluggy.PluginManager, tmp_path: Path, api: dict[str, str], fetcher: Fetcher
) -> None:
    build_prestashop(
        tmp_path,
        core="8.1.7",
        modules={k: v[0] for k, v in EXPECTED_MODULES.items()},
        custom_modules=(),
    )
    report, _ = run_check(pm, tmp_path, api, fetcher)
    assert _module_rows(report) == EXPECTED_MODULES
    found = by_name(report)
    assert found["ps_facetedsearch"].source == api["modules"]
    assert found["ps_unlisted"].source == "unknown"


def test_module_updates_from_index_file_and_bugfix(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    index_file = write_json(tmp_path / "agency" / "modules.json", INDEX)
    sources = {
        "url": serve_distribution_api(feed_server, CORE_RELEASES),
        "modules": str(index_file),
    }
    build_prestashop(
        tmp_path / "shop",
        core="9.0.1",
        modules={"ps_facetedsearch": "3.16.1", "ps_emailsubscription": "2.7.0"},
    )
    report, _ = run_check(pm, tmp_path / "shop", sources, fetcher)
    rows = _module_rows(report)
    assert rows["ps_facetedsearch"] == ("3.16.1", "4.0.0", "4.0.0", "feature", "2024-10-01")
    assert rows["ps_emailsubscription"][2:4] == ("2.8.0", "feature")
    assert by_name(report)["ps_facetedsearch"].source == str(index_file)
    assert feed_server.hits["/agency/modules.json"] == 0


# --- Advisories --------------------------------------------------------------------------------


def test_module_and_core_advisories(
    pm: pluggy.PluginManager, tmp_path: Path, api: dict[str, str], fetcher: Fetcher
) -> None:
    build_prestashop(
        tmp_path,
        core="1.7.8.8",
        modules={
            "blockwishlist": "2.1.0",
            "ps_legacy": "1.0.0",
            "abandoned_module": "0.9.0",
            "ps_mainmenu": "2.3.4",
        },
        custom_modules=(),
    )
    report, _ = run_check(pm, tmp_path, api, fetcher)
    found = by_name(report)
    core = found["prestashop"]
    assert row(core) == ("1.7.8.8", "9.0.1", "1.7.8.11", "security")
    assert [(a.id, a.cve) for a in core.advisories] == [
        ("CVE-2023-30839", "CVE-2023-30839"),  # Friends of Presta; Packagist's twin dropped
        ("PKSA-bbbb", "CVE-2024-2222"),
    ]
    wishlist = found["blockwishlist"]
    # 3.0.1 is the newest release outside the affected range the shop's core admits.
    assert row(wishlist) == ("2.1.0", "3.0.1", "3.0.1", "security")
    (adv,) = wishlist.advisories
    assert (adv.id, adv.cve, adv.severity) == ("CVE-2022-31101", "CVE-2022-31101", "high")
    assert adv.url and adv.title
    legacy = found["ps_legacy"]  # every release listed is affected: no fix
    assert row(legacy) == ("1.0.0", "1.0.0", None, "insecure")
    assert [a.cve for a in legacy.advisories] == ["CVE-2024-0001"]
    gone = found["abandoned_module"]  # in no index, but an advisory speaks for it
    assert row(gone) == ("0.9.0", None, None, "insecure")
    assert gone.source == api["advisories"]
    assert found["ps_mainmenu"].advisories == []


def test_core_advisory_without_fix_in_line_is_insecure(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    advisories = write_json(
        tmp_path / "advisories.json",
        {"advisories": [advisory("prestashop", "< 1.7.0.0", cve="CVE-2020-0001")]},
    )
    sources = {
        "url": serve_distribution_api(feed_server, CORE_RELEASES),
        "advisories": str(advisories),
    }
    build_prestashop(tmp_path / "shop", core="1.6.1.24", modules={"ps_mainmenu": "2.3.4"})
    report, _ = run_check(pm, tmp_path / "shop", sources, fetcher)
    found = by_name(report)
    assert row(found["prestashop"]) == ("1.6.1.24", "9.0.1", None, "insecure")
    # No module index configured: modules are unknown, never up to date.
    assert row(found["ps_mainmenu"]) == ("2.3.4", None, None, "unknown")


def test_packagist_core_advisories(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    sources = {
        "url": serve_distribution_api(feed_server, CORE_RELEASES),
        "packagist": _serve_packagist(feed_server),
    }
    for core, expected in (
        ("1.7.8.9", ("1.7.8.9", "9.0.1", "1.7.8.11", "security")),
        ("1.7.8.10", ("1.7.8.10", "9.0.1", "1.7.8.11", "bugfix")),
        ("8.0.3", ("8.0.3", "9.0.1", "8.2.1", "security")),
    ):
        build_prestashop(tmp_path / core, core=core, modules={}, custom_modules=())
        report, _ = run_check(pm, tmp_path / core, sources, fetcher, site_id=core)
        assert row(by_name(report)["prestashop"]) == expected
    # One POST for the run, asking for the core package only: module names stay private.
    (post,) = [r for r in feed_server.requests if r.path == PACKAGIST_PATH]
    assert post.method == "POST"
    assert parse_qsl(post.body.decode()) == [("packages[]", "prestashop/prestashop")]


def test_failing_packagist_keeps_the_release_verdicts(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.routes[PACKAGIST_PATH] = Reply(json.dumps({"oops": 1}))
    sources = {
        "url": serve_distribution_api(feed_server, CORE_RELEASES),
        "packagist": feed_server.url,
    }
    build_prestashop(tmp_path)
    report, _ = run_check(pm, tmp_path, sources, fetcher)
    assert report.status == "partial"
    assert f"{feed_server.url}{PACKAGIST_PATH}" in (report.error or "")
    assert [(e.source, e.url) for e in report.source_errors] == [
        ("packagist", f"{feed_server.url}{PACKAGIST_PATH}")
    ]
    core = report.components[0]
    assert core.name == "prestashop" and core.update != "unknown"
    assert core.advisories_unavailable


# --- Broken sources ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("<html>maintenance</html>"), "invalid JSON"),
        (Reply("oops", status=503), "HTTP 503"),
        (Reply(json.dumps({"version": "8.1.7"})), "JSON array"),
        (Reply("[]"), "JSON array"),
        (Reply(json.dumps([{"version": "not a version", "stability": "stable"}])), "version"),
        (Reply(json.dumps([{"version": "8.1.7"}])), "stability"),
    ],
)
def test_malformed_distribution_answer_with_nothing_else_is_a_site_error(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, reply: Reply, reason: str
) -> None:
    feed_server.routes[DISTRIBUTION_PATH] = reply
    build_prestashop(tmp_path)
    with Fetcher(timeout=2.0, backoff=0.001, max_retry_after=0.05) as fetcher:
        report, _ = run_check(pm, tmp_path, {"url": feed_server.url}, fetcher)
    # No module index either: nothing could be evaluated.
    assert report.status == "error"
    assert f"{feed_server.url}{DISTRIBUTION_PATH}" in (report.error or "")
    assert reason in (report.error or "")
    assert "Traceback" not in (report.error or "")
    assert [(e.source, e.url) for e in report.source_errors] == [
        ("prestashop", f"{feed_server.url}{DISTRIBUTION_PATH}")
    ]


@pytest.mark.parametrize(
    ("kind", "content", "reason"),
    [
        ("modules", "{not json", "invalid JSON"),
        ("modules", json.dumps({"ps_mainmenu": ["1.0"]}), "`modules` object"),
        (
            "modules",
            json.dumps({"modules": {"x": {"versions": [{"version": "1", "date": "May"}]}}}),
            "ISO date",
        ),
        ("advisories", json.dumps([{"module": "x", "versions": "<= banana"}]), "advisory #0 (x)"),
        ("advisories", json.dumps({"module": "x"}), "JSON array"),
        ("modules", None, "cannot read file"),
    ],
)
def test_broken_index_or_advisories_file_is_a_source_error_naming_the_file(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    feed_server: FeedServer,
    fetcher: Fetcher,
    kind: str,
    content: str | None,
    reason: str,
) -> None:
    document = tmp_path / f"{kind}.json"
    if content is not None:
        document.write_text(content)
    sources = {"url": serve_distribution_api(feed_server, CORE_RELEASES), kind: str(document)}
    build_prestashop(tmp_path / "shop")
    report, _ = run_check(pm, tmp_path / "shop", sources, fetcher)
    # The distribution API answered: core keeps its verdict.
    assert report.status == "partial"
    [error] = report.source_errors
    assert (error.source, error.url) == ("prestashop", str(document))
    assert reason in error.error
    core = report.components[0]
    assert core.update != "unknown"
    assert core.advisories_unavailable is (kind == "advisories")


# --- A run over several sites ------------------------------------------------------------------


def test_one_request_per_url_and_one_file_read_per_run(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer
) -> None:
    url = serve_distribution_api(feed_server, CORE_RELEASES)
    modules_url = serve_json(feed_server, "/agency/modules.json", INDEX)
    advisories_file = write_json(tmp_path / "advisories.json", ADVISORIES)
    sources = {
        "url": url,
        "modules": modules_url,
        "advisories": str(advisories_file),
        "packagist": _serve_packagist(feed_server),
    }
    for name, core in (("a", "8.1.6"), ("b", "1.7.8.10"), ("c", "1.6.1.24")):
        build_prestashop(tmp_path / name, core=core, modules={"blockwishlist": "2.1.0"})
    scope = RunScope()
    with Fetcher(timeout=2.0) as fetcher:
        for name in ("a", "b", "c"):
            report, host = run_check(pm, tmp_path / name, sources, fetcher, site_id=name, run=scope)
            assert report.status == "updates", report.error
            assert host.round_trips <= 2
            assert by_name(report)["blockwishlist"].update == "security"
            # Read once per run: what the file says later does not reach this run.
            advisories_file.write_text("[]")
    assert feed_server.hits[DISTRIBUTION_PATH] == 1
    assert feed_server.hits["/agency/modules.json"] == 1
    assert feed_server.hits[PACKAGIST_PATH] == 1
    assert scope.computed[("prestashop", "advisories", str(advisories_file))] == 1
    with Fetcher(timeout=2.0) as next_run:
        report, _ = run_check(pm, tmp_path / "a", sources, next_run, site_id="a", run=RunScope())
    assert by_name(report)["blockwishlist"].update == "feature"  # 2.1.0 -> 3.0.1, no advisory


def test_same_findings_over_ssh_in_two_round_trips(
    pm: pluggy.PluginManager,
    sshd: SSHServer,
    ssh_host: SSHHost,
    api: dict[str, str],
    fetcher: Fetcher,
) -> None:
    shop = build_prestashop(
        sshd.make_shared_dir() / "shop",
        core="1.7.8.8",
        modules={"blockwishlist": "2.1.0", "ps_facetedsearch": "3.14.1"},
        legacy_main_file_only=("ps_facetedsearch",),
    )
    remote, host = run_check(pm, shop, api, fetcher, host=ssh_host, site_id="remote")
    local, _ = run_check(pm, shop, api, fetcher, site_id="local")
    assert remote.status == "updates", remote.error
    assert remote.components == local.components
    assert by_name(remote)["blockwishlist"].update == "security"
    assert host.round_trips == 2


def test_fleet_run_from_config_isolates_a_broken_site(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer
) -> None:
    url = serve_distribution_api(feed_server, CORE_RELEASES)
    index_file = write_json(tmp_path / "modules.json", INDEX)
    build_prestashop(
        tmp_path / "good", core="8.2.1", modules={"ps_mainmenu": "2.3.4"}, custom_modules=()
    )
    build_prestashop(tmp_path / "old", core="1.6.1.24", modules={})
    broken = build_prestashop(tmp_path / "broken")
    (broken / "app" / "AppKernel.php").write_text(
        "<?php\n/* PrestaShop */ class AppKernel { const VERSION = '@version@'; }\n"
    )
    config = {
        "state_dir": str(tmp_path / "state"),
        "sources": {
            "prestashop": {"url": url, "modules": str(index_file)},
            "packagist": {"url": _serve_packagist(feed_server)},
        },
        "clients": [{"id": "acme", "name": "ACME"}],
        "sites": [
            {"id": n, "client": "acme", "environments": {"production": {"path": str(tmp_path / n)}}}
            for n in ("good", "old", "broken")
        ],
    }
    path = tmp_path / "tma.yaml"
    path.write_text(json.dumps(config))
    with Fetcher(timeout=2.0) as fetcher:
        run = CheckRun(load_config(path), pm, fetcher=fetcher)
        reports = {r.site: r for r in run.run(load_config(path).sites, concurrency=3)}
    assert reports["good"].status == "ok", reports["good"].error
    assert row(by_name(reports["good"])["ps_mainmenu"]) == ("2.3.4", "2.3.4", "2.3.4", "none")
    assert reports["old"].status == "updates"
    assert by_name(reports["old"])["prestashop"].update == "unsupported"
    assert reports["broken"].status == "error"
    assert "app/AppKernel.php" in (reports["broken"].error or "")
    assert "@version@" in (reports["broken"].error or "")
    assert feed_server.hits[DISTRIBUTION_PATH] == 1
    assert feed_server.hits[PACKAGIST_PATH] == 1
    assert all(trips <= 2 for trips in run.round_trips.values())


def test_example_files_parse() -> None:
    from tma_prestashop.indexes import parse_advisories, parse_modules_index

    package = Path(__file__).parent.parent / "plugins" / "tma_prestashop"
    index = parse_modules_index(
        json.loads((package / "modules-index.example.json").read_text()), "x"
    )
    assert [r.version for r in index["ps_facetedsearch"]] == ["3.16.1", "3.14.1"]
    advisories = parse_advisories(
        json.loads((package / "advisories.example.json").read_text()), "x"
    )
    assert {a.module for a in advisories} == {"blockwishlist", "prestashop"}
    assert advisories[0].constraint.matches("2.1.0") and not advisories[0].constraint.matches(
        "2.1.1"
    )

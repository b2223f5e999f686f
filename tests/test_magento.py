"""The Magento stack end to end: Magento trees in the real layout, a public Composer mirror and a
Marketplace-style repository (basic auth) and Packagist's advisories API served on 127.0.0.1,
the real runner over local and SSH hosts, and the real `composer` and `php` reading the trees."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from tma_magento.testing.answers import product_releases
from tma_magento.testing.trees import build_magento

from tma_agent.config import ComposerRepository, RepositoryAuth, SourceSettings
from tma_agent.hosts import Host, LocalHost, SSHHost
from tma_agent.models import Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.runner import check_site
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import run_composer
from tma_agent.testing.composer_trees import (
    advisory,
    release,
    serve_advisories_api,
    serve_composer_repository,
)
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sites import check_path, run_fleet, site_context, write_fleet_config
from tma_agent.testing.sshd import SSHServer
from tma_agent.versions import ComposerVersion

PM = get_plugin_manager()
CE, EE, BASE = (
    "magento/product-community-edition",
    "magento/product-enterprise-edition",
    "magento/magento2-base",
)
LINE = ["2.4.9-beta1", "2.4.8", "2.4.7-p8", "2.4.7-p4", "2.4.7-p3", "2.4.7-p1", "2.4.7"]
TIMES = {"2.4.7-p8": "2025-10-14T08:00:00+00:00", "2.4.8": "2025-04-08T08:00:00+00:00"}
MARKET_AUTH = ("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210")
GIFT_WRAP, B2B = "acme-commerce/module-gift-wrap", "acme-commerce/module-b2b-quotes"
MODULES = {GIFT_WRAP: "2.3.1", B2B: "1.2.0"}
#: Filed under either product name, as Packagist does for Magento.
ADVISORIES = {
    BASE: [advisory("PKSA-base-2024-0001", BASE, ">=2.4.7-beta1,<2.4.7-p4", cve="CVE-2024-34102")],
    CE: [
        advisory(
            "PKSA-ce-2024-0002", CE, ">=2.4.0,<2.4.6-p6|>=2.4.7,<2.4.7-p4", severity="critical"
        )
    ],
}


def mirror_catalog() -> dict[str, list[dict[str, Any]]]:
    return {
        CE: product_releases(CE, LINE, times=TIMES),
        BASE: product_releases(BASE, LINE),
        GIFT_WRAP: [release(GIFT_WRAP, v, type="magento2-module") for v in ("2.4.0", "2.3.1")],
    }


def market_catalog() -> dict[str, list[dict[str, Any]]]:
    return {
        EE: product_releases(EE, LINE, times=TIMES),
        B2B: [release(B2B, v, type="magento2-module") for v in ("1.3.0", "1.2.1", "1.2.0")],
    }


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=2.0, retries=1) as shared:
        yield shared


@pytest.fixture
def upstream(feed_server: FeedServer) -> dict[str, str]:
    return {
        "mirror": serve_composer_repository(feed_server, "/mirror", mirror_catalog()),
        "market": serve_composer_repository(
            feed_server, "/market", market_catalog(), auth=MARKET_AUTH
        ),
        "packagist": serve_advisories_api(feed_server, ADVISORIES, prefix="/packagist"),
    }


def repositories(upstream: Mapping[str, str], *, auth: bool = True) -> SourceSettings:
    market_auth = RepositoryAuth(username=MARKET_AUTH[0], password=MARKET_AUTH[1])
    return SourceSettings(
        repositories=[
            ComposerRepository(url=upstream["mirror"]),
            ComposerRepository(url=upstream["market"], auth=market_auth if auth else None),
        ]
    )


def check(
    path: Path,
    upstream: Mapping[str, str],
    fetcher: Fetcher,
    *,
    host: Host | None = None,
    stack: str | None = None,
    auth: bool = True,
) -> SiteReport:
    return check_path(
        path,
        fetcher=fetcher,
        source_urls={"composer": upstream["mirror"], "packagist": upstream["packagist"]},
        sources={"composer": repositories(upstream, auth=auth)},
        stack=stack,
        host=host,
        pm=PM,
    )


def by_name(report: SiteReport) -> dict[str, Finding]:
    assert report.status != "error", report.error
    return {f.name: f for f in report.components}


def row(finding: Finding) -> tuple[str | None, ...]:
    return (finding.installed, finding.latest, finding.recommended, finding.update)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_registers_stack_and_sources() -> None:
    assert registered_stacks(PM)["magento"].title == "Magento 2 / Adobe Commerce / Mage-OS"
    assert registered_sources(PM)["composer"].default_url == "https://repo.packagist.org"
    assert registered_sources(PM)["packagist"].default_url == "https://packagist.org"


def test_patch_releases_order_like_composer_semver() -> None:
    versions = ["2.4.8", "2.4.7-p10", "2.4.7", "2.4.7-p3", "2.4.8-beta1", "2.4.7-p1", "2.4.6-p13"]
    ours = sorted(versions, key=ComposerVersion)
    script = (
        'require "/usr/share/php/Composer/Semver/autoload.php";'
        "echo json_encode(Composer\\Semver\\Semver::sort(json_decode($argv[1])));"
    )
    done = subprocess.run(
        ["php", "-r", script, json.dumps(versions)], capture_output=True, text=True, check=True
    )
    assert (
        ours
        == json.loads(done.stdout)
        == [
            "2.4.6-p13",
            "2.4.7",
            "2.4.7-p1",
            "2.4.7-p3",
            "2.4.7-p10",
            "2.4.8-beta1",
            "2.4.8",
        ]
    )


def test_core_stays_in_its_line_and_takes_advisories_of_both_product_names(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    tree = build_magento(tmp_path / "shop", modules=MODULES)
    host = LocalHost()
    report = check(tree.root, upstream, fetcher, host=host)
    assert report.stack == "magento" and report.status == "updates"
    assert report.components[0].name == CE and report.components[0].kind == "core"
    found = by_name(report)
    core = found[CE]
    # Both advisories affect 2.4.7-p3; 2.4.7-p4 is the smallest fix, the line's newest wins.
    assert row(core) == ("2.4.7-p3", "2.4.8", "2.4.7-p8", "security")
    assert {a.id for a in core.advisories} == {"PKSA-base-2024-0001", "PKSA-ce-2024-0002"}
    assert core.released == "2025-10-14"
    assert core.source == upstream["mirror"] + f"/p2/{CE}.json"
    assert BASE not in found  # folded into the core: same version, same advisories
    assert row(found[GIFT_WRAP]) == ("2.3.1", "2.4.0", "2.4.0", "feature")
    assert found[GIFT_WRAP].kind == "module"
    # Only in the Marketplace-style repository, reached with its keys.
    assert row(found[B2B]) == ("1.2.0", "1.3.0", "1.3.0", "feature")
    assert found[B2B].source == upstream["market"] + f"/p2/{B2B}.json"
    catalog = found["magento/module-catalog"]
    assert (catalog.kind, catalog.installed, catalog.update) == ("module", "104.0.7-p3", "none")
    auth = {r.path: r.headers.get("Authorization") for r in feed_server.requests}
    assert auth[f"/market/p2/{B2B}.json"] == basic(*MARKET_AUTH)
    assert auth["/market/packages.json"] == basic(*MARKET_AUTH)
    assert not any(value for path, value in auth.items() if path.startswith("/mirror/"))
    # The product names are always asked, with every locked package, in one request.
    (asked,) = [r for r in feed_server.requests if r.path.endswith("/security-advisories/")]
    form = asked.body.decode()
    assert f"packages%5B%5D={BASE.replace('/', '%2F')}" in form
    assert f"packages%5B%5D={CE.replace('/', '%2F')}" in form
    assert host.round_trips == 1


#: Shaped like the GitHub advisory database's CosmicSting record as Packagist's API serves it:
#: filed under the repository's and the project template's names, one range per release line,
#: the ranges closed by the last affected patch (OSV `last_affected`).
COSMIC_RANGES = ">=2.4.7-beta1,<=2.4.7|>=2.4.6,<=2.4.6-p5|>=2.4.5,<=2.4.5-p7|<=2.4.4-p8"
REAL_NAMES = {
    name: [
        advisory(
            f"PKSA-{suffix}-cosmic",
            name,
            COSMIC_RANGES,
            remote_id="GHSA-cosm-ic5t-ing1",
            cve="CVE-2024-34102",
            title="Magento Open Source allows Improper Restriction of XML External Entity Reference",
            severity="critical",
            source="GitHub",
        )
    ]
    for name, suffix in (
        ("magento/community-edition", "ce"),
        ("magento/project-community-edition", "project"),
    )
}


@pytest.mark.parametrize("edition", ["community", "enterprise"])
def test_cosmic_sting_filed_under_the_real_advisory_names(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher, edition: str
) -> None:
    product = CE if edition == "community" else EE
    line = ["2.4.7-p1", "2.4.7", "2.4.6-p6", "2.4.6-p5", "2.4.6-p3"]
    catalog = {product: product_releases(product, line), BASE: product_releases(BASE, line)}
    upstream = {
        "mirror": serve_composer_repository(feed_server, f"/{edition}", catalog),
        "market": serve_composer_repository(feed_server, f"/{edition}-market", {}),
        "packagist": serve_advisories_api(feed_server, REAL_NAMES, prefix=f"/{edition}-api"),
    }
    tree = build_magento(tmp_path / "shop", edition=edition, version="2.4.6-p3", modules={})
    report = check(tree.root, upstream, fetcher)
    core = by_name(report)[product]
    # Not `bugfix` to 2.4.6-p6: the store is open to CosmicSting, fixed in 2.4.6-p6.
    assert row(core) == ("2.4.6-p3", "2.4.7-p1", "2.4.6-p6", "security")
    assert {a.cve for a in core.advisories} == {"CVE-2024-34102"}
    assert report.status == "updates" and report.has_security_findings
    form = next(r for r in feed_server.requests if r.path.endswith("/security-advisories/"))
    for name in REAL_NAMES:
        assert f"packages%5B%5D={name.replace('/', '%2F')}" in form.body.decode()


def test_core_bugfix_in_line_then_feature_to_the_next_line(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    upstream = {**upstream, "packagist": serve_advisories_api(feed_server, {}, prefix="/none")}
    verdicts = {}
    for version in ("2.4.7-p1", "2.4.7-p8", "2.4.8"):
        tree = build_magento(tmp_path / version, version=version, modules={})
        verdicts[version] = row(by_name(check(tree.root, upstream, fetcher))[CE])
    assert verdicts == {
        "2.4.7-p1": ("2.4.7-p1", "2.4.8", "2.4.7-p8", "bugfix"),
        "2.4.7-p8": ("2.4.7-p8", "2.4.8", "2.4.8", "feature"),
        "2.4.8": ("2.4.8", "2.4.8", "2.4.8", "none"),
    }


def test_adobe_commerce_from_the_marketplace(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    tree = build_magento(tmp_path / "b2b", edition="enterprise", version="2.4.7-p4", modules={})
    report = check(tree.root, upstream, fetcher)
    found = by_name(report)
    assert report.components[0].name == EE and CE not in found and BASE not in found
    # Fixed in p4: no advisory left; the line's newest patch is the way forward.
    assert row(found[EE]) == ("2.4.7-p4", "2.4.8", "2.4.7-p8", "bugfix")
    assert found[EE].source == upstream["market"] + f"/p2/{EE}.json"


def test_mage_os_lines_are_major_minor(
    tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    mage_os = "mage-os/product-community-edition"
    repo = serve_composer_repository(
        feed_server, "/mageos", {mage_os: product_releases(mage_os, ["1.1.0", "1.0.6", "1.0.3"])}
    )
    api = serve_advisories_api(feed_server, ADVISORIES)
    tree = build_magento(tmp_path / "os", edition="mage-os", version="1.0.3", modules={})
    site = site_context(
        LocalHost(),
        str(tree.root),
        fetcher=fetcher,
        source_urls={"composer": repo, "packagist": api},
    )
    report = check_site(site, PM)
    assert report is not None
    core = by_name(report)[mage_os]
    assert row(core) == ("1.0.3", "1.1.0", "1.0.6", "bugfix") and core.advisories == []


def test_missing_marketplace_keys_name_the_repository(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    tree = build_magento(tmp_path / "shop", modules=MODULES)
    report = check(tree.root, upstream, fetcher, auth=False)
    # The public mirror answered: the core and the mirror's module keep their verdicts.
    assert report.status == "partial"
    assert report.error == f"source composer failed: {upstream['market']}/packages.json: HTTP 401"
    assert [(e.source, e.url, e.error) for e in report.source_errors] == [
        ("composer", f"{upstream['market']}/packages.json", "HTTP 401")
    ]
    found = {f.name: f for f in report.components}
    assert found[CE].update == "security"
    assert found[B2B].update == "unknown"


def test_malformed_metadata_names_the_url(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher, feed_server: FeedServer
) -> None:
    feed_server.routes[f"/mirror/p2/{CE}.json"] = Reply("<html>maintenance</html>")
    report = check(build_magento(tmp_path / "shop").root, upstream, fetcher)
    [error] = report.source_errors
    assert (error.url, error.error[:12]) == (f"{upstream['mirror']}/p2/{CE}.json", "invalid JSON")
    core = next(f for f in report.components if f.name == CE)
    # No releases, but the advisories were read: the affected core is never hidden.
    assert core.update == "unknown" and {a.id for a in core.advisories} >= {"PKSA-base-2024-0001"}
    assert report.status == "partial"


def test_detection_and_broken_trees(
    tmp_path: Path, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    checkout = build_magento(tmp_path / "checkout", installed=False, modules={})
    assert check(checkout.root, upstream, fetcher).stack == "magento"
    broken = build_magento(tmp_path / "broken").root
    (broken / "composer.lock").write_text("{")
    report = check(broken, upstream, fetcher)
    assert (report.stack, report.status) == ("magento", "error")
    assert (report.error or "").startswith(f"local:{broken}/composer.lock: invalid JSON")
    # env.php but no product in the lock: not Magento, and not a generic Composer project.
    stray = build_magento(tmp_path / "stray").root
    lock = json.loads((stray / "composer.lock").read_text())
    lock["packages"] = [p for p in lock["packages"] if p["type"] != "metapackage"]
    lock["packages"] = [p for p in lock["packages"] if p["name"] != BASE]
    (stray / "composer.lock").write_text(json.dumps(lock))
    report = check(stray, upstream, fetcher)
    assert report.status == "error" and "not a site of any known stack" in (report.error or "")
    report = check(stray, upstream, fetcher, stack="magento")
    assert (report.error or "").startswith(f"local:{stray}/composer.lock: no Magento product")


def test_the_tree_is_real(tmp_path: Path) -> None:
    tree = build_magento(tmp_path / "shop", edition="enterprise", modules=MODULES, mode="developer")
    locked = json.loads(
        run_composer(tree.root, "show", "--locked", "--format=json", "--no-plugins")
    )
    names = {p["name"]: p["version"] for p in locked["locked"]}
    assert names[EE] == names[CE] == names[BASE] == "2.4.7-p3"
    assert names["magento/module-catalog"] == "104.0.7-p3" and names[B2B] == "1.2.0"
    validated = run_composer(tree.root, "validate", "--no-check-publish", "--no-plugins")
    assert "Lock file errors" not in validated
    script = (
        '$e = include "app/etc/env.php";'
        'echo $e["MAGE_MODE"], " ", $e["db"]["connection"]["default"]["dbname"];'
    )
    done = subprocess.run(
        ["php", "-r", script], cwd=tree.root, capture_output=True, text=True, check=True
    )
    assert done.stdout == "developer magento"
    lint = subprocess.run(
        ["php", "-l", "bin/magento"], cwd=tree.root, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout


def test_same_findings_over_ssh_in_one_round_trip(
    sshd: SSHServer, ssh_host: SSHHost, upstream: dict[str, str], fetcher: Fetcher
) -> None:
    tree = build_magento(sshd.make_shared_dir() / "shop", modules=MODULES)
    remote = check(tree.root, upstream, fetcher, host=ssh_host)
    local = check(tree.root, upstream, fetcher)
    assert remote.status == "updates", remote.error
    assert remote.components == local.components
    assert ssh_host.round_trips == 1


def test_fleet_from_config_asks_each_url_once(
    tmp_path: Path,
    upstream: dict[str, str],
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGENTO_PUBLIC_KEY", MARKET_AUTH[0])
    monkeypatch.setenv("MAGENTO_PRIVATE_KEY", MARKET_AUTH[1])
    build_magento(tmp_path / "eu", modules=MODULES)
    build_magento(tmp_path / "us", version="2.4.7-p1", modules=MODULES)
    build_magento(tmp_path / "b2b", edition="enterprise", modules={B2B: "1.2.0"})
    broken = build_magento(tmp_path / "broken").root
    (broken / "composer.lock").write_text('{"packages": "none"}')
    names = ("eu", "us", "b2b", "broken")
    market = {
        "url": upstream["market"],
        "auth": {
            "username": {"$env": "MAGENTO_PUBLIC_KEY"},
            "password": {"$env": "MAGENTO_PRIVATE_KEY"},
        },
    }
    sources = {
        "composer": {"repositories": [{"url": upstream["mirror"]}, market]},
        "packagist": {"url": upstream["packagist"]},
    }
    config = write_fleet_config(tmp_path, sources, {n: tmp_path / n for n in names})
    with Fetcher(timeout=2.0) as fetcher:
        reports, run = run_fleet(config, fetcher=fetcher, pm=PM)
    assert [reports[n].status for n in names] == ["updates", "updates", "updates", "error"]
    assert "composer.lock: not a composer.lock" in (reports["broken"].error or "")
    assert row(by_name(reports["us"])[CE]) == ("2.4.7-p1", "2.4.8", "2.4.7-p8", "security")
    assert row(by_name(reports["b2b"])[EE])[2:] == ("2.4.7-p8", "security")
    assert set(fetcher.sent.values()) == {1}
    assert all(n == 1 for p, n in feed_server.hits.items() if p.endswith(".json")), feed_server.hits
    assert all(trips <= 2 for trips in run.round_trips.values()) and len(run.round_trips) == 4

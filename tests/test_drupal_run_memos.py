"""What the Drupal plugin works out once per run for every site sharing it: the info files
(drupal.org packages them, so a fleet's sites hold the same bytes) and the verdict of a feed
on an installed version. Real trees, the real runner's check, the local feed server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tma_drupal.infofiles import ParsedInfoFiles, parse_info_file
from tma_drupal.testing.feeds import drupal10_histories, serve_release_histories
from tma_drupal.testing.trees import build_drupal10

from tma_agent.hosts import LocalHost
from tma_agent.models import SiteReport
from tma_agent.plugins import get_plugin_manager
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route, packagist_advisory
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.sites import check_path

PM = get_plugin_manager()
INFO = "name: Token\ntype: module\nversion: '8.x-1.12'\nproject: 'token'\ndatestamp: 1700000000\n"


def test_an_info_file_is_parsed_once_per_distinct_file() -> None:
    parsed = ParsedInfoFiles()
    first = parsed.parse("modules/contrib/token/token.info.yml", INFO, drupal7=False)
    assert first == parse_info_file("modules/contrib/token/token.info.yml", INFO, drupal7=False)
    assert parsed.parse("modules/contrib/token/token.info.yml", INFO, drupal7=False) is first
    # Another place or other bytes is another file.
    elsewhere = parsed.parse("modules/token/token.info.yml", INFO, drupal7=False)
    assert elsewhere is not first and elsewhere.origin == "modules/token/token.info.yml"
    newer = parsed.parse(
        "modules/contrib/token/token.info.yml", INFO.replace("12", "13"), drupal7=False
    )
    assert newer.version == "8.x-1.13"
    broken = parsed.parse("modules/x/x.info.yml", "a: &b 1\nc: *b\n", drupal7=False)
    assert broken.error == "YAML anchors and aliases are not allowed in an info file"


def test_past_the_cap_files_are_parsed_and_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ParsedInfoFiles, "MAX_CHARS", len(INFO) + 10)
    parsed = ParsedInfoFiles()
    kept = parsed.parse("a/a.info.yml", INFO, drupal7=False)
    assert parsed.parse("a/a.info.yml", INFO, drupal7=False) is kept
    over = parsed.parse("b/b.info.yml", INFO, drupal7=False)
    again = parsed.parse("b/b.info.yml", INFO, drupal7=False)
    assert over == again and over is not again  # right each time, only not remembered
    assert over.project == "token"


@pytest.fixture
def feeds() -> Iterator[dict[str, str]]:
    with FeedServer() as server:
        # token 8.x-1.12 has a Packagist advisory; 8.x-1.13 (the feed's newest) has none.
        server.routes["/api/security-advisories/"] = advisories_route(
            {"drupal/token": [packagist_advisory("SA-CONTRIB-2099-001", "drupal/token", "<1.13.0")]}
        )
        drupal = serve_release_histories(server, drupal10_histories(["token"]))
        yield {"drupal": drupal, "packagist": server.url}


def test_sites_of_one_run_share_verdicts_not_findings(
    tmp_path: Path, feeds: dict[str, str]
) -> None:
    versions = {"a": "8.x-1.12", "b": "8.x-1.12", "c": "8.x-1.13"}
    run = RunScope()
    reports: dict[str, SiteReport] = {}
    with Fetcher(timeout=5.0, retries=1) as fetcher:
        for name, version in versions.items():
            tree = build_drupal10(tmp_path / name, modules={"token": version})
            reports[name] = check_path(
                tree.project_root,
                fetcher=fetcher,
                source_urls=feeds,
                stack="drupal",
                site_id=name,
                host=LocalHost(),
                pm=PM,
                run=run,
            )
        alone = check_path(
            tmp_path / "a", fetcher=fetcher, source_urls=feeds, stack="drupal", pm=PM
        )
    token = {
        name: next(f for f in r.components if f.name == "token") for name, r in reports.items()
    }
    assert run.computed[("drupal.verdicts",)] == 1
    assert run.computed[("drupal.info_files",)] == 1
    # The same answer as a site checked in a run of its own.
    assert token["a"] == next(f for f in alone.components if f.name == "token")
    assert token["a"] == token["b"]
    assert [a.id for a in token["a"].advisories] == ["SA-CONTRIB-2099-001"]
    # Each finding owns its advisories (the Packagist ones are added to the list).
    assert token["a"].advisories is not token["b"].advisories
    # Another installed version is another verdict.
    assert (token["c"].installed, token["c"].advisories) == ("8.x-1.13", [])
    assert token["c"].update != token["a"].update

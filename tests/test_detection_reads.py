"""A site whose stack is configured reads only that stack's detection paths and globs: the
other stacks cannot answer for it, so their files would cost the server for nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tma_drupal.testing.feeds import drupal10_histories, serve_release_histories
from tma_drupal.testing.trees import build_drupal10

from tma_agent.hookspecs import hookimpl
from tma_agent.hosts import LocalHost
from tma_agent.plugins import get_plugin_manager, registered_stacks
from tma_agent.runner import check_site, detection_reads
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.sites import site_context

PM = get_plugin_manager()
STACKS = sorted(registered_stacks(PM))


def _all_paths() -> set[str]:
    return {p for found in PM.hook.tma_detect_paths() for p in found}


@pytest.mark.parametrize("stack", STACKS)
def test_a_configured_stack_reads_its_own_paths_only(stack: str) -> None:
    plugin = PM.get_plugin(stack)
    assert plugin is not None
    reads = detection_reads(PM, stack)
    assert reads.paths == tuple(sorted(set(plugin.detect_paths())))
    assert list(reads.prefetch) == plugin.prefetch_globs()
    assert set(reads.paths) < _all_paths()


def test_without_a_stack_every_plugin_is_read() -> None:
    everything = detection_reads(PM)
    assert set(everything.paths) == _all_paths()
    assert list(everything.prefetch) == [r for found in PM.hook.tma_prefetch_globs() for r in found]
    # A stack no plugin registers (a config error caught elsewhere) reads everything too.
    assert detection_reads(PM, "no-such-stack") == everything


class _AgencyMarker:
    """A plugin that registers no stack but wants a file read in the detection round trip."""

    @hookimpl
    def tma_detect_paths(self) -> list[str]:
        return ["AGENCY-MARKER.txt"]


def test_a_plugin_of_no_stack_is_read_for_every_stack() -> None:
    pm = get_plugin_manager()
    pm.register(_AgencyMarker(), name="agency-marker")
    assert "AGENCY-MARKER.txt" in detection_reads(pm, "drupal").paths
    assert "AGENCY-MARKER.txt" in detection_reads(pm).paths
    assert "wp-config.php" not in detection_reads(pm, "drupal").paths


@pytest.fixture
def feeds() -> Iterator[dict[str, str]]:
    with FeedServer() as server:
        server.routes["/api/security-advisories/"] = advisories_route({})
        drupal = serve_release_histories(server, drupal10_histories(["token"]))
        yield {"drupal": drupal, "packagist": server.url}


@pytest.mark.parametrize("stack", ["drupal", None])
def test_the_same_report_in_the_same_round_trips(
    stack: str | None, tmp_path: Path, feeds: dict[str, str]
) -> None:
    tree = build_drupal10(tmp_path / "site", modules={"token": "8.x-1.12"})
    (tree.project_root / "wp-config.php").write_text("<?php // a stray file of another stack\n")
    host = LocalHost()
    with Fetcher(timeout=5.0, retries=1) as fetcher:
        site = site_context(
            host,
            str(tree.project_root),
            fetcher=fetcher,
            source_urls=feeds,
            stack=stack,
        )
        report = check_site(site, PM)
    assert report is not None and report.status == "updates", report
    assert {f.name for f in report.components} == {"drupal", "token", "agency_tweaks"}
    assert host.round_trips == 1  # detection files and the info files read ahead together
    # What was read: another stack's marker only when no stack is configured.
    stray = str(tree.project_root / "wp-config.php")
    assert (stray in site.files) is (stack is None)

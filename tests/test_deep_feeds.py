"""Feeds nested 100,000 deep (JSON or XML) through a real `tma check`: a clear error naming
the feed for the sites that need it, never a RecursionError; the other sites go on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tma_drupal.testing.feeds import (
    drupal10_histories,
    release,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal10
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import serve_wordfence
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher
from tma_agent.sources._result import MAX_FEED_DEPTH
from tma_agent.testing.cli import run_tma
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer, Reply

DEEP = 100_000
DEEP_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<project><releases>'
    + "<release>" * DEEP
    + "</release>" * DEEP
    + "</releases></project>"
)
DEEP_JSON = "[" * DEEP + "]" * DEEP


def test_deep_feeds_fail_the_sites_that_need_them_only(tmp_path: Path) -> None:
    needs_pathauto = build_drupal10(tmp_path / "d10").project_root
    no_pathauto = build_drupal10(tmp_path / "d10-token", modules={"token": "8.x-1.13"}).project_root
    wordpress = build_wordpress(tmp_path / "wp", plugins={"akismet": "5.0.2"})
    with FeedServer() as server:
        drupal = serve_release_histories(
            server,
            {
                **drupal10_histories(
                    {"token": "8.x-1.13"},
                    core=[release("10.3.1", "New features"), release("10.2.3")],
                ),
                "pathauto": DEEP_XML,
            },
        )
        server.routes["/api/security-advisories/"] = advisories_route({})
        serve_wordpress_api(server, core_releases=["6.1.9"], plugins={"akismet": "5.3.5"})
        wordfence = serve_wordfence(server, [])
        server.routes[wordfence.removeprefix(server.url)] = Reply(DEEP_JSON)
        config = {
            "state_dir": str(tmp_path / "state"),
            "http": {"retries": 1},
            "sources": {
                "drupal": {"url": drupal},
                "packagist": {"url": server.url},
                "wordpress": {"url": server.url},
                "wordfence": {"url": wordfence},
            },
            "clients": [{"id": "acme", "name": "ACME"}],
            "sites": [
                {"id": name, "client": "acme", "environments": {"production": {"path": str(p)}}}
                for name, p in (
                    ("d10", needs_pathauto),
                    ("d10-token", no_pathauto),
                    ("wp", wordpress),
                )
            ],
        }
        path = tmp_path / "tma.yaml"
        path.write_text(json.dumps(config))
        done = run_tma("check", "--format", "json", config=path)
    assert "RecursionError" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    reports = {r["site"]: r for r in json.loads(done.stdout)["sites"]}
    assert "internal error" not in json.dumps(reports)

    def failure(report: dict[str, Any]) -> str:
        assert report["status"] in ("error", "partial"), report
        return report["error"] or json.dumps(report["source_errors"])

    assert f"{drupal}/pathauto/current: XML nested more than {MAX_FEED_DEPTH} levels deep" in (
        failure(reports["d10"])
    )
    assert f"{wordfence}: nested too deeply" in failure(reports["wp"])
    healthy = reports["d10-token"]
    assert healthy["status"] in ("ok", "updates") and healthy["error"] is None
    assert {c["name"] for c in healthy["components"]} >= {"drupal", "token"}


@pytest.mark.parametrize(
    ("body", "parse", "message"),
    [
        ('{"a":' * 150 + "1" + "}" * 150, "json", "JSON nested more than 100 levels deep"),
        ("[" * 101 + "]" * 101, "json", "JSON nested more than 100 levels deep"),
        ("<r>" + "<x>" * 150 + "</x>" * 150 + "</r>", "xml", "XML nested more than 100 levels"),
        (DEEP_JSON, "json", "nested too deeply"),
    ],
    ids=["json-150", "json-101", "xml-150", "json-100k"],
)
def test_deep_answers_are_feed_errors(
    feed_server: FeedServer, fetcher: Fetcher, body: str, parse: str, message: str
) -> None:
    feed_server.routes["/deep"] = Reply(body)
    result = fetcher.get(feed_server.url + "/deep")
    with pytest.raises(FeedError, match=message) as caught:
        getattr(result, parse)()
    assert caught.value.url == feed_server.url + "/deep"


def test_a_hundred_levels_is_still_read(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/j"] = Reply("[" * 100 + "]" * 100)
    feed_server.routes["/x"] = Reply("<x>" * 100 + "</x>" * 100)
    assert fetcher.get(feed_server.url + "/j").json() is not None
    assert fetcher.get(feed_server.url + "/x").xml().tag == "x"

"""What a run answers once: `Fetcher.answered` (a GET served from the memo) and the Drupal
release histories parsed once per run (its RunScope), against the real local feed server."""

from __future__ import annotations

import pytest
from tma_drupal.releases import feed_url, fetch_release_history
from tma_drupal.testing.feeds import release, release_history_xml, serve_release_histories

from tma_agent.errors import FeedError
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher
from tma_agent.testing.feeds import FeedServer, Reply


def test_answered_once_the_memo_holds_the_answer(feed_server: FeedServer) -> None:
    feed_server.routes["/feed"] = Reply(b"<project/>")
    feed_server.routes["/down"] = Reply(b"oops", status=500)
    url, down = feed_server.url + "/feed", feed_server.url + "/down"
    with Fetcher(timeout=2.0, retries=0) as fetcher:
        assert not fetcher.answered(url)
        fetcher.get(url)
        assert fetcher.answered(url)
        # Another auth header is another memo entry.
        assert not fetcher.answered(url, headers={"Authorization": "Bearer x"})
        with pytest.raises(FeedError):
            fetcher.get(down)
        assert fetcher.answered(down)  # a failure is an answer too: asking again sends nothing
        with pytest.raises(FeedError):
            fetcher.get(down)
        assert fetcher.sent[f"GET {down}"] == 1


def test_a_release_history_is_parsed_once_per_run(feed_server: FeedServer) -> None:
    histories = {"token": release_history_xml("token", releases=[release("8.x-1.13")])}
    base = serve_release_histories(feed_server, histories)
    feed_server.routes["/broken/current"] = Reply(b"<project><unclosed></project>")
    url, broken = feed_url(base, "token", drupal7=False), feed_server.url + "/broken/current"
    run = RunScope()
    with Fetcher(timeout=2.0, retries=0) as fetcher:
        first = fetch_release_history(run, fetcher, url)
        assert fetch_release_history(run, fetcher, url) is first  # parsed once, shared (frozen)
        assert run.computed[("drupal.release_history", url)] == 1
        assert [r.version for r in first.releases] == ["8.x-1.13"]
        errors = []
        for _ in range(2):
            with pytest.raises(FeedError, match="invalid XML") as caught:
                fetch_release_history(run, fetcher, broken)
            errors.append(caught.value)
        assert errors[0] is not errors[1]  # a fresh error per caller, no shared traceback
        assert run.computed[("drupal.release_history", broken)] == 1
    with Fetcher(timeout=2.0, retries=0) as other_fetcher:
        again = fetch_release_history(RunScope(), other_fetcher, url)
        assert again is not first and again == first

"""`Fetcher.answered`: whether a GET would be served from the run's memo (no request sent)."""

from __future__ import annotations

import pytest

from tma_agent.errors import FeedError
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

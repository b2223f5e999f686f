"""The shared Fetcher against a real local HTTP server: memo, cache, retries, caps, parsing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher
from tma_agent.sources._cache import DiskCache
from tma_agent.testing.feeds import FeedServer, Reply, Request

FAST = {"timeout": 2.0, "backoff": 0.001, "max_retry_after": 0.05}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<foo>&xxe;</foo>
"""


@pytest.fixture
def make_fetcher() -> Iterator[Callable[..., Fetcher]]:
    made: list[Fetcher] = []

    def make(**options: object) -> Fetcher:
        fetcher = Fetcher(**{**FAST, **options})  # type: ignore[arg-type]
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def sequence(*replies: Reply) -> Callable[[Request], Reply]:
    """A route answering each request with the next reply, the last one forever after."""
    queue = list(replies)
    lock = threading.Lock()

    def answer(_: Request) -> Reply:
        with lock:
            return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


# --- once per run -------------------------------------------------------------------------


def test_twenty_threads_one_request(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/feed"] = Reply(b'{"v": 1}', delay=0.1)
    url = feed_server.url + "/feed"
    barrier = threading.Barrier(20)
    results: list[object] = []

    def worker() -> None:
        barrier.wait()
        results.append(fetcher.get(url).json())

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"v": 1}] * 20
    assert feed_server.hits["/feed"] == 1
    assert fetcher.sent["GET " + url] == 1


def test_failure_is_remembered_for_the_run(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/down"] = Reply(b"oops", status=500)
    url = feed_server.url + "/down"
    for _ in range(5):
        with pytest.raises(FeedError):
            fetcher.get(url)
    assert feed_server.hits["/down"] == 3  # one run of retries, then the memo answers


def test_params_are_part_of_the_request(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/q"] = lambda r: Reply(r.query)
    assert fetcher.get(feed_server.url + "/q", params={"a": "1"}).text == "a=1"
    assert fetcher.get(feed_server.url + "/q", params={"a": "2"}).text == "a=2"
    assert feed_server.hits["/q"] == 2


def test_post_form_once_per_identical_form(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/api"] = lambda r: Reply(r.body)
    url = feed_server.url + "/api"
    first = fetcher.post_form(url, {"b": "2", "a": "1"})
    again = fetcher.post_form(url, {"a": "1", "b": "2"})
    assert first.content == again.content
    assert feed_server.hits["/api"] == 1
    other = fetcher.post_form(url, {"a": "other"})
    assert other.text == "a=other"
    assert feed_server.hits["/api"] == 2
    assert [r.method for r in feed_server.requests] == ["POST", "POST"]


# --- disk cache ---------------------------------------------------------------------------


def conditional(body: bytes, *, etag: str | None = None, modified: str | None = None) -> Callable:
    def answer(request: Request) -> Reply:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if etag and headers.get("if-none-match") == etag:
            return Reply(status=304, headers={"ETag": etag})
        if modified and headers.get("if-modified-since") == modified:
            return Reply(status=304)
        validators = {"ETag": etag} if etag else {"Last-Modified": modified or ""}
        return Reply(body, headers={"Content-Type": "application/json", **validators})

    return answer


def test_etag_revalidation_across_runs(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    feed_server.routes["/rel"] = conditional(b'{"x": 1}', etag='"abc"')
    url = feed_server.url + "/rel"
    first = make_fetcher(cache_dir=tmp_path).get(url)
    assert first.status == 200 and not first.from_cache
    second_run = make_fetcher(cache_dir=tmp_path)
    second = second_run.get(url)
    assert second.status == 200 and second.from_cache
    assert second.json() == {"x": 1}
    assert second.headers["content-type"] == "application/json"
    assert second_run.revalidated["GET " + url] == 1
    assert feed_server.requests[1].headers.get("If-None-Match") == '"abc"'
    assert "If-None-Match" not in feed_server.requests[0].headers


def test_last_modified_revalidation(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    feed_server.routes["/lm"] = conditional(b"<r/>", modified=stamp)
    url = feed_server.url + "/lm"
    make_fetcher(cache_dir=tmp_path).get(url)
    second_run = make_fetcher(cache_dir=tmp_path)
    assert second_run.get(url).xml().tag == "r"
    assert second_run.revalidated["GET " + url] == 1
    assert feed_server.requests[1].headers.get("If-Modified-Since") == stamp


def test_changed_resource_replaces_cache(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    feed_server.routes["/c"] = conditional(b"old", etag='"1"')
    url = feed_server.url + "/c"
    make_fetcher(cache_dir=tmp_path).get(url)
    feed_server.routes["/c"] = conditional(b"new", etag='"2"')
    assert make_fetcher(cache_dir=tmp_path).get(url).text == "new"
    third = make_fetcher(cache_dir=tmp_path)
    assert third.get(url).text == "new"
    assert third.revalidated["GET " + url] == 1


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty"])
def test_corrupt_cache_file_is_refetched(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], tmp_path: Path, damage: str
) -> None:
    feed_server.routes["/rel"] = conditional(b'{"x": 1}', etag='"abc"')
    url = feed_server.url + "/rel"
    make_fetcher(cache_dir=tmp_path).get(url)
    (cached,) = tmp_path.iterdir()
    raw = cached.read_bytes()
    cached.write_bytes(
        {"garbage": b"\x00\xffnot a cache", "truncate": raw[:-3], "empty": b""}[damage]
    )
    second_run = make_fetcher(cache_dir=tmp_path)
    assert second_run.get(url).json() == {"x": 1}
    assert not second_run.revalidated
    assert "If-None-Match" not in feed_server.requests[1].headers
    # The re-fetch repaired the entry: a third run revalidates again.
    third = make_fetcher(cache_dir=tmp_path)
    assert third.get(url).from_cache


def test_only_2xx_with_validators_are_stored(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    feed_server.routes["/gone"] = Reply(b"no", status=404, headers={"ETag": '"x"'})
    feed_server.routes["/plain"] = Reply(b"no validators")
    fetcher = make_fetcher(cache_dir=tmp_path)
    assert fetcher.get(feed_server.url + "/gone", ok_statuses={404}).status == 404
    fetcher.get(feed_server.url + "/plain")
    assert list(tmp_path.iterdir()) == []


# --- retries ------------------------------------------------------------------------------


def test_500_then_200_succeeds_after_retry(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/flaky"] = sequence(Reply(status=500), Reply(b"fine"))
    result = fetcher.get(feed_server.url + "/flaky")
    assert result.text == "fine"
    assert result.tries == 2
    assert feed_server.hits["/flaky"] == 2


def test_5xx_forever_gives_up_after_retries(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    feed_server.routes["/down"] = Reply(b"busy", status=503)
    url = feed_server.url + "/down"
    with pytest.raises(FeedError) as caught:
        make_fetcher(retries=4).get(url)
    assert caught.value.url == url
    assert url in str(caught.value)
    assert "HTTP 503 after 4 tries" in str(caught.value)
    assert feed_server.hits["/down"] == 4


def test_default_is_three_tries(feed_server: FeedServer) -> None:
    feed_server.routes["/down"] = Reply(status=502)
    with Fetcher(backoff=0.001) as fetcher, pytest.raises(FeedError, match="after 3 tries"):
        fetcher.get(feed_server.url + "/down")
    assert feed_server.hits["/down"] == 3


def test_429_honours_retry_after_capped(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    feed_server.routes["/slow"] = sequence(
        Reply(status=429, headers={"Retry-After": "3600"}), Reply(b"ok")
    )
    started = time.monotonic()
    result = make_fetcher(max_retry_after=0.3).get(feed_server.url + "/slow")
    elapsed = time.monotonic() - started
    assert result.text == "ok"
    assert 0.3 <= elapsed < 2.0  # waited as asked, but no longer than the cap


def test_404_not_retried(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.url + "/missing"
    with pytest.raises(FeedError, match=r"HTTP 404$"):
        fetcher.get(url)
    assert feed_server.hits["/missing"] == 1


def test_404_accepted_when_ok(feed_server: FeedServer, fetcher: Fetcher) -> None:
    result = fetcher.get(feed_server.url + "/missing", ok_statuses={404})
    assert result.status == 404
    assert feed_server.hits["/missing"] == 1


def test_timeout(feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]) -> None:
    feed_server.routes["/hang"] = Reply(b"late", delay=5)
    url = feed_server.url + "/hang"
    with pytest.raises(FeedError, match=r"timed out after 0.5s$") as caught:
        make_fetcher(timeout=0.5, retries=2).get(url)
    assert caught.value.url == url
    # The deadline covers every try: once it is spent, no retry starts. (The server's thread
    # may count the request a moment after the client gave up.)
    deadline = time.monotonic() + 5
    while not feed_server.hits["/hang"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feed_server.hits["/hang"] == 1


def test_dripping_body_stops_at_one_deadline(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    # One byte every 0.2 s: each read gets data well within any per-read timeout, so only
    # an overall deadline ends it (the body alone would take 60 s).
    feed_server.routes["/drip"] = Reply(b"x" * 300, drip=0.2)
    url = feed_server.url + "/drip"
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"timed out after 2s$") as caught:
        make_fetcher(timeout=2.0, retries=3).get(url)
    elapsed = time.monotonic() - started
    assert caught.value.url == url
    assert 1.9 <= elapsed < 10.0
    assert feed_server.hits["/drip"] == 1


def test_dripping_headers_stop_at_the_same_deadline(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    feed_server.routes["/drip-head"] = Reply(
        b"{}", headers={"X-Padding": "p" * 200}, drip=0.2, drip_head=True
    )
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"timed out after 2s$"):
        make_fetcher(timeout=2.0).get(feed_server.url + "/drip-head")
    assert 1.9 <= time.monotonic() - started < 10.0
    feed_server.routes["/quick-head"] = Reply(b"{}", drip=0.001, drip_head=True)
    assert make_fetcher(timeout=5.0).get(feed_server.url + "/quick-head").json() == {}


def test_the_deadline_holds_through_a_proxy_from_the_environment(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The feed server plays the proxy: it gets the absolute URL, routes by its path, drips.
    # The upstream name is never resolved; only 127.0.0.1 is talked to.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", feed_server.url)
    feed_server.routes["/via-proxy"] = Reply(b"x" * 300, drip=0.2)
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"timed out after 2s$"):
        make_fetcher(timeout=2.0).get("http://upstream.invalid/via-proxy")
    assert 1.9 <= time.monotonic() - started < 10.0
    assert feed_server.hits["/via-proxy"] == 1


def test_retry_gets_only_what_is_left_of_the_deadline(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    # A fast 503, then a feed that drips: the retry runs out the same 2 s deadline.
    feed_server.routes["/flaky-drip"] = sequence(Reply(status=503), Reply(b"y" * 300, drip=0.2))
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"timed out after 2s \(2 tries\)$"):
        make_fetcher(timeout=2.0, retries=3).get(feed_server.url + "/flaky-drip")
    assert time.monotonic() - started < 10.0
    assert feed_server.hits["/flaky-drip"] == 2


def test_no_retry_when_its_wait_would_pass_the_deadline(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    feed_server.routes["/busy"] = Reply(status=503, headers={"Retry-After": "5"})
    fetcher = make_fetcher(timeout=3.0, max_retry_after=5.0)
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"HTTP 503$"):
        fetcher.get(feed_server.url + "/busy")
    assert time.monotonic() - started < 3.0  # it did not wait the 5 s
    assert feed_server.hits["/busy"] == 1


def test_a_feed_within_its_deadline_is_read_whole(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    feed_server.routes["/slowish"] = Reply(b"z" * 20, drip=0.02)
    assert make_fetcher(timeout=5.0).get(feed_server.url + "/slowish").content == b"z" * 20


def test_connection_refused(make_fetcher: Callable[..., Fetcher]) -> None:
    # A port that was just free: nothing listens there.
    with FeedServer() as server:
        url = server.url + "/x"
    with pytest.raises(FeedError, match=r"connection failed .* after 2 tries"):
        make_fetcher(retries=2).get(url)


# --- size cap -----------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_body(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher], chunked: bool
) -> None:
    feed_server.routes["/big"] = Reply(b"x" * 100_000, chunked=chunked)
    feed_server.routes["/fits"] = Reply(b"y" * 1000, chunked=chunked)
    fetcher = make_fetcher(max_bytes=50_000)
    with pytest.raises(FeedError, match="response larger than 50000 bytes"):
        fetcher.get(feed_server.url + "/big")
    assert feed_server.hits["/big"] == 1  # not a transient failure: no retry
    assert fetcher.get(feed_server.url + "/fits").content == b"y" * 1000


def test_a_large_feed_may_raise_the_cap_for_its_request(
    feed_server: FeedServer, make_fetcher: Callable[..., Fetcher]
) -> None:
    feed_server.routes["/huge-feed"] = Reply(b"z" * 100_000, chunked=True)
    fetcher = make_fetcher(max_bytes=50_000)
    assert len(fetcher.get(feed_server.url + "/huge-feed", max_bytes=200_000).content) == 100_000
    with pytest.raises(FeedError, match="larger than 60000 bytes"):
        make_fetcher(max_bytes=50_000).get(feed_server.url + "/huge-feed", max_bytes=60_000)


# --- parsing ------------------------------------------------------------------------------


def test_garbage_json(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/j"] = Reply(b"<html>not json")
    url = feed_server.url + "/j"
    with pytest.raises(FeedError, match="invalid JSON") as caught:
        fetcher.get(url).json()
    assert caught.value.url == url


def test_garbage_xml(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/x"] = Reply(b"<project><unclosed></project>")
    url = feed_server.url + "/x"
    with pytest.raises(FeedError, match="invalid XML") as caught:
        fetcher.get(url).xml()
    assert caught.value.url == url


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_unsafe_xml_refused(feed_server: FeedServer, fetcher: Fetcher, doc: bytes) -> None:
    feed_server.routes["/bomb"] = Reply(doc)
    url = feed_server.url + "/bomb"
    with pytest.raises(FeedError, match="refused unsafe XML") as caught:
        fetcher.get(url).xml()
    assert caught.value.url == url


# --- secrets ------------------------------------------------------------------------------


def test_auth_header_sent_but_never_logged_nor_in_cache_names(
    feed_server: FeedServer,
    make_fetcher: Callable[..., Fetcher],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Bearer s3cr3t-t0ken-value"
    feed_server.routes["/private"] = conditional(b"mine", etag='"p"')
    feed_server.routes["/down"] = Reply(status=503)
    url = feed_server.url + "/private"
    caplog.set_level(logging.DEBUG)
    # Whatever level another test configured, debug lines must reach the capture here.
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            make_fetcher(cache_dir=tmp_path).get(url, headers={"Authorization": secret})
            second_run = make_fetcher(cache_dir=tmp_path)
            assert second_run.get(url, headers={"Authorization": secret}).from_cache
            for _ in range(2):  # the second ask is answered by the memo
                with pytest.raises(FeedError):
                    second_run.get(feed_server.url + "/down", headers={"Authorization": secret})
            second_run.post_form(url, {"token": "s3cr3t-form"}, ok_statuses={200})
    finally:
        structlog.configure(**saved)
    sent = [r.headers.get("Authorization") for r in feed_server.requests]
    assert sent == [secret] * 5 + [None]
    events = {entry["event"] for entry in logs}
    assert {"http.fetch", "http.revalidated", "http.retry", "http.memo_hit"} <= events
    assert any(entry.get("url") == url for entry in logs)
    assert "s3cr3t" not in repr(logs)
    assert "s3cr3t" not in caplog.text
    for cached in tmp_path.iterdir():
        assert "s3cr3t" not in cached.name
        assert b"s3cr3t" not in cached.read_bytes()
    # The same URL without (or with other) credentials is a different request.
    other = make_fetcher(cache_dir=tmp_path)
    other.get(url)
    other.get(url, headers={"Authorization": "Bearer other"})
    assert feed_server.hits["/private"] == 5


def test_disk_cache_concurrent_writers_never_expose_partial_entries(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    bodies = [bytes([65 + n]) * (200_000 + n) for n in range(6)]
    seen: list[bytes | None] = []

    def writer(body: bytes) -> None:
        for _ in range(15):
            cache.store("GET http://x/feed", 200, body, {"ETag": '"e"'})
            entry = DiskCache(tmp_path).load("GET http://x/feed")
            seen.append(entry.body if entry else None)

    threads = [threading.Thread(target=writer, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen and all(body in bodies for body in seen)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []

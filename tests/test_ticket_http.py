"""TicketHTTP, the ticket systems' client, against a real HTTP server on 127.0.0.1 (FeedServer):
how every answer is sorted into done, TicketUnavailable (queued) or TicketRefused (parked)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tma_agent._masking import remember_secret
from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.http import MAX_ANSWER_BYTES, TicketHTTP


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def client(server: FeedServer, *, timeout: float = 5.0, retries: int = 3) -> TicketHTTP:
    return TicketHTTP("tracker", server.url, timeout=timeout, retries=retries)


def one_line(exc: BaseException, url: str) -> str:
    text = str(exc)
    assert text.startswith(f"tracker {url}: "), text
    assert "\n" not in text
    return text


@pytest.mark.parametrize("status", [200, 201, 204])
def test_a_2xx_is_returned_with_its_json(server: FeedServer, status: int) -> None:
    body = b"" if status == 204 else b'{"issue": {"id": 7}}'
    server.routes["/issues.json"] = Reply(body, status=status, headers={"X-Total": "1"})
    answer = client(server).request("POST", "/issues.json", json={"issue": {"subject": "x"}})
    assert answer.status == status and answer.headers["x-total"] == "1"
    assert answer.json() == (None if status == 204 else {"issue": {"id": 7}})
    assert answer.url == f"{server.url}/issues.json" and answer.backend == "tracker"
    (sent,) = server.requests
    assert sent.method == "POST" and sent.body == b'{"issue":{"subject":"x"}}'
    assert sent.headers["User-Agent"].startswith("tma-agent/")


def test_statuses_in_expect_are_returned_not_raised(server: FeedServer) -> None:
    server.routes["/issues/9.json"] = Reply(b'{"errors": ["gone"]}', status=404)
    answer = client(server).get("/issues/9.json", expect={404})
    assert answer.status == 404 and answer.json() == {"errors": ["gone"]}
    with pytest.raises(TicketRefused):
        client(server).get("/issues/9.json")


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_refused_with_the_hint(server: FeedServer, status: int) -> None:
    server.routes["/issues.json"] = Reply(b"Unauthorized", status=status)
    with pytest.raises(TicketRefused) as caught:
        client(server).get("/issues.json")
    text = one_line(caught.value, f"{server.url}/issues.json")
    assert text.endswith(
        f"HTTP {status}: Unauthorized (check the credentials in the tickets block)"
    )
    assert caught.value.status == status and caught.value.backend == "tracker"
    assert server.hits["/issues.json"] == 1  # a refusal is not retried, even for a GET


@pytest.mark.parametrize("status", [404, 410, 422])
def test_refusals_carry_an_excerpt_of_the_body(server: FeedServer, status: int) -> None:
    errors = '{"errors": ["Subject cannot be blank",\n  "Tracker is not included in the list"]}'
    server.routes["/issues.json"] = Reply(errors + " " * 50 + "x" * 1000, status=status)
    with pytest.raises(TicketRefused) as caught:
        client(server).request("POST", "/issues.json", json={})
    text = one_line(caught.value, f"{server.url}/issues.json")
    assert f"HTTP {status}: " + '{"errors": ["Subject cannot be blank", "Tracker' in text
    assert "credentials" not in text and "x" * 300 not in text and len(text) < 450
    assert caught.value.status == status


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_transient_statuses_are_unavailable(server: FeedServer, status: int) -> None:
    server.routes["/issues.json"] = Reply(b"busy", status=status)
    with pytest.raises(TicketUnavailable) as caught:
        client(server, retries=1).get("/issues.json")
    assert one_line(caught.value, f"{server.url}/issues.json").endswith(f"HTTP {status}: busy")


def test_a_get_is_retried_until_it_works(server: FeedServer) -> None:
    answers = iter([Reply(b"", status=503), Reply(b"", status=502), Reply(b'{"ok": 1}')])
    server.routes["/issues.json"] = lambda request: next(answers)
    assert client(server, retries=3).get("/issues.json").json() == {"ok": 1}
    assert server.hits["/issues.json"] == 3


def test_a_get_is_tried_retries_times_at_most(server: FeedServer) -> None:
    server.routes["/issues.json"] = Reply(b"", status=503)
    with pytest.raises(TicketUnavailable, match="HTTP 503"):
        client(server, retries=2).get("/issues.json")
    assert server.hits["/issues.json"] == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_write_is_never_retried(server: FeedServer, method: str) -> None:
    server.routes["/issues/1.json"] = Reply(b"", status=503)
    with pytest.raises(TicketUnavailable):
        client(server, retries=5).request(method, "/issues/1.json", json={"notes": "x"})
    assert server.hits["/issues/1.json"] == 1


def test_retries_and_their_waits_stay_inside_the_one_timeout(server: FeedServer) -> None:
    """Ten tries allowed, but the waits between them grow: the last must not sleep past the
    deadline (nor start a try with no time left)."""
    server.routes["/issues.json"] = Reply(b"", status=503)
    started = time.monotonic()
    with pytest.raises(TicketUnavailable, match="HTTP 503"):
        client(server, timeout=5, retries=10).get("/issues.json")
    assert time.monotonic() - started < 5.5  # the old waits overran to 6 s
    assert 2 <= server.hits["/issues.json"] < 10


def test_a_slow_get_uses_its_deadline_once(server: FeedServer) -> None:
    server.routes["/issues.json"] = Reply(b"{}", delay=3)
    started = time.monotonic()
    with pytest.raises(TicketUnavailable, match=r"no answer within 1 s"):
        client(server, timeout=1, retries=3).get("/issues.json")
    assert time.monotonic() - started < 2.5
    assert server.hits["/issues.json"] == 1


def test_a_dripping_answer_is_stopped_by_the_deadline(server: FeedServer) -> None:
    # Every read gets a byte in time: only the overall deadline can stop it.
    server.routes["/issues.json"] = Reply(b"x" * 100, drip=0.05)
    started = time.monotonic()
    with pytest.raises(TicketUnavailable) as caught:
        client(server, timeout=1, retries=1).get("/issues.json")
    assert time.monotonic() - started < 2.5
    assert one_line(caught.value, f"{server.url}/issues.json").endswith("no answer within 1 s")


@pytest.mark.parametrize("chunked", [False, True])
def test_an_answer_over_the_bound_is_not_read(server: FeedServer, chunked: bool) -> None:
    server.routes["/issues.json"] = Reply(
        b"[" + b"1," * (MAX_ANSWER_BYTES // 2) + b"1]", chunked=chunked
    )
    with pytest.raises(TicketUnavailable) as caught:
        client(server, retries=1).get("/issues.json")
    text = one_line(caught.value, f"{server.url}/issues.json")
    assert "too large" in text if not chunked else f"answer over {MAX_ANSWER_BYTES} bytes" in text


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b'{"issue": ', b"\xff\xfe"])
def test_garbage_json_is_unavailable_naming_the_backend(server: FeedServer, body: bytes) -> None:
    server.routes["/issues.json"] = Reply(body)
    answer = client(server).get("/issues.json")
    with pytest.raises(TicketUnavailable) as caught:
        answer.json()
    assert "not JSON" in one_line(caught.value, f"{server.url}/issues.json")


def test_query_strings_never_reach_a_message(server: FeedServer) -> None:
    server.routes["/issues.json"] = Reply(b"nope", status=403)
    http = client(server)
    with pytest.raises(TicketRefused) as caught:
        http.get("/issues.json?key=path-token-1234", params={"api_key": "param-token-5678"})
    (sent,) = server.requests
    assert "key=path-token-1234" in sent.query and "api_key=param-token-5678" in sent.query
    assert "token" not in str(caught.value) and "?" not in caught.value.url
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = TicketHTTP("tracker", f"http://127.0.0.1:{port}", retries=1)
    with pytest.raises(TicketUnavailable) as lost:
        down.get("/issues.json?key=path-token-1234")
    assert "token" not in str(lost.value)
    assert one_line(lost.value, f"http://127.0.0.1:{port}/issues.json")


def test_a_secret_echoed_by_the_server_is_masked(server: FeedServer) -> None:
    remember_secret("echoed-api-key-31415926")

    def echo(request: Request) -> Reply:
        return Reply(f"bad key {request.headers['X-Api-Key']}", status=422)

    server.routes["/issues.json"] = echo
    http = TicketHTTP("tracker", server.url, headers={"X-Api-Key": "echoed-api-key-31415926"})
    with pytest.raises(TicketRefused) as caught:
        http.request("POST", "/issues.json", json={})
    assert str(caught.value).endswith("HTTP 422: bad key ***")


def test_a_redirect_is_not_followed(server: FeedServer) -> None:
    server.routes["/issues.json"] = Reply(b"", status=302, headers={"Location": "/login"})
    with pytest.raises(TicketRefused, match="HTTP 302"):
        client(server).get("/issues.json")
    assert server.hits["/login"] == 0


def test_an_absolute_url_is_used_as_given(server: FeedServer) -> None:
    server.routes["/other/next"] = Reply(b"[]")
    http = TicketHTTP("tracker", "http://127.0.0.1:9/never", retries=1)
    assert http.get(f"{server.url}/other/next").json() == []
    http.close()


def test_an_invalid_url_is_refused_not_a_traceback(server: FeedServer) -> None:
    """A path built from what a server answered (a ref with a NUL, say) cannot be sent."""
    with pytest.raises(TicketRefused) as caught:
        client(server).get("/issues/7\x00.json", params={"key": "param-token-5678"})
    text = one_line(caught.value, f"{server.url}/issues/7\x00.json")
    assert "invalid URL (Invalid non-printable ASCII character" in text
    assert "param-token" not in text and server.hits == {}

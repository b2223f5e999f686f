"""`web.trusted_proxies` against a real `tma serve`: only connections from a trusted proxy may
name the account (`proxy_auth_header`) or the browser's address (`X-Forwarded-For`, which the
log-in limits count). The peers are real loopback addresses (127.0.0.2 trusted, 127.0.0.3
not): Linux answers the whole of 127.0.0.0/8."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from web_portal import make_portal

from tma_agent.config import load_config
from tma_agent.errors import ConfigError
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.web import csrf_of, served

PROXY, STRANGER = "127.0.0.2", "127.0.0.3"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with FeedServer() as server:
        made = make_portal(
            tmp_path_factory.mktemp("proxy"),
            server,
            visual=False,
            proxy_auth_header="X-Remote-User",
            trusted_proxies=[f"{PROXY}/32"],
            login_attempts=2,
        )
        with served(made.fleet.config) as served_url:
            yield served_url
    assert (
        "X-Remote-User from 127.0.0.3 ignored: not in web.trusted_proxies"
        in (made.fleet.config.parent / "serve.log").read_text()
    )


def _from(address: str, url: str) -> httpx.Client:
    """A client whose connections come from `address` (a loopback address of this host)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=10)


def test_only_a_trusted_proxy_names_the_account(url: str) -> None:
    with _from(PROXY, url) as proxy, _from(STRANGER, url) as stranger:
        mine = proxy.get("/api/fleet", headers={"X-Remote-User": "acme-cto"})
        assert mine.status_code == 200
        assert {s["site"] for s in mine.json()["sites"]} == {"www", "intranet"}
        # The same header straight to the port: nobody (the log says so).
        forged = stranger.get("/api/fleet", headers={"X-Remote-User": "alice"})
        assert forged.status_code == 401
        assert stranger.get("/", headers={"X-Remote-User": "alice"}).status_code == 303


def _failed_log_in(web: httpx.Client, name: str, forwarded: str) -> int:
    token = csrf_of(web.get("/login").text)
    answer = web.post(
        "/login",
        data={"name": name, "password": "wrong", "csrf": token},
        headers={"X-Forwarded-For": forwarded},
    )
    return answer.status_code


def test_log_in_limits_count_the_address_a_trusted_proxy_forwards(url: str) -> None:
    """Behind the proxy every browser arrives from its address: the limits count the
    forwarded one (one browser blocked, not everyone). From elsewhere X-Forwarded-For is
    ignored, so changing it on each try does not get round the limit."""
    with _from(PROXY, url) as proxy:
        tries = [_failed_log_in(proxy, f"nobody-{i}", "203.0.113.7") for i in range(3)]
        assert tries == [401, 401, 429]
        assert _failed_log_in(proxy, "nobody-3", "203.0.113.8") == 401
    with _from(STRANGER, url) as stranger:
        tries = [_failed_log_in(stranger, f"other-{i}", f"198.51.100.{i}") for i in range(3)]
        assert tries == [401, 401, 429]


def test_a_trusted_proxy_that_is_not_an_address_is_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = tmp_path_factory.mktemp("bad") / "tma.yaml"
    config.write_text("sites: []\nweb:\n  trusted_proxies: ['10.0.0.0/8', '*']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert "web.trusted_proxies" in str(refused.value) and "'*'" in str(refused.value)

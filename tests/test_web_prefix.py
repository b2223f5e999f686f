"""The dashboard under a path of its host (`web.base_url: http://127.0.0.1:P/tma`), served by
a real `tma serve`: every link, image, form and redirect of every page reached carries the
prefix and answers; the session cookie is scoped to it; a proxy that takes the prefix off
reaches the same pages; a client's validation lands and redirects under the prefix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from web_portal import MONTH, PASSWORDS, Portal, make_portal

from tma_agent.testing.cli import run_tma
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.web import csrf_of, free_port, logged_in, served

PREFIX = "/tma"
_LINK = re.compile(r'\b(?:href|src|action|data-fragment|data-refresh)="([^"]*)"')


@dataclass
class Served:
    portal: Portal
    origin: str  # http://127.0.0.1:P, without the prefix


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with FeedServer() as server:
        made = make_portal(
            tmp_path_factory.mktemp("prefix"), server, visual=False, base_url=origin + PREFIX
        )
        with served(made.fleet.config, port=port) as url:
            made.url = url + PREFIX
            yield Served(made, origin)


def _links(html: str) -> list[str]:
    return [m.group(1).replace("&amp;", "&") for m in _LINK.finditer(html)]


def _crawl(web: httpx.Client, origin: str, start: str, limit: int = 60) -> dict[str, int]:
    """Every same-host address reached from `start` by links, images and GET forms (POST
    forms are only checked for their prefix): address -> status."""
    seen: dict[str, int] = {}
    todo = [start]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen:
            continue
        answer = web.get(origin + path)  # absolute: the client's base URL has the prefix
        seen[path] = answer.status_code
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        for link in _links(answer.text):
            if link.startswith(("http://", "https://", "#")):
                continue
            absolute = urlsplit(urljoin(path, link))
            assert absolute.path.startswith(PREFIX + "/"), f"{link!r} on {path}"
            if "/logout" in absolute.path or absolute.path.endswith(("/validate", "/sync")):
                continue  # POST forms
            todo.append(absolute.path + (f"?{absolute.query}" if absolute.query else ""))
    return seen


def test_every_link_of_every_page_carries_the_prefix_and_answers(site: Served) -> None:
    for name in ("alice", "acme-cto"):
        with logged_in(site.portal.url, name, PASSWORDS[name]) as web:
            reached = _crawl(web, site.origin, PREFIX + "/")
            bad = {path: code for path, code in reached.items() if code >= 400}
            assert not bad, bad
            assert len(reached) > 8, reached  # the fleet, sites, requests, months, static
            assert any(p.startswith(f"{PREFIX}/static/") for p in reached)
            assert any("/months/" in p and p.endswith(".pdf") for p in reached)


def test_log_in_and_its_cookie_live_under_the_prefix(site: Served) -> None:
    with httpx.Client(base_url=site.origin) as web:
        anonymous = web.get(f"{PREFIX}/sites/www")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == f"{PREFIX}/login?next=%2Fsites%2Fwww"
        form = web.get(anonymous.headers["location"])
        assert f'action="{PREFIX}/login"' in form.text
        assert "path=/tma;" in form.headers["set-cookie"].lower().replace(" ", "")
        done = web.post(
            f"{PREFIX}/login",
            data={
                "name": "alice",
                "password": PASSWORDS["alice"],
                "csrf": csrf_of(form.text),
                "next": "/sites/www",
            },
        )
        assert (done.status_code, done.headers["location"]) == (303, f"{PREFIX}/sites/www")
        assert web.get(f"{PREFIX}").status_code == 200  # `/tma` alone is the fleet
        # A proxy that takes the prefix off (nginx `proxy_pass http://127.0.0.1:P/;`): the
        # browser sent its cookie for /tma/sites/www, the proxy passes it on.
        cookie = f"tma_session={web.cookies['tma_session']}"
        stripped = web.get("/sites/www", headers={"cookie": cookie})
        assert stripped.status_code == 200 and f'href="{PREFIX}/requests"' in stripped.text


def test_a_client_validates_its_month_under_the_prefix(site: Served) -> None:
    with logged_in(site.portal.url, "acme-cto", PASSWORDS["acme-cto"]) as web:
        page = web.get(f"/clients/acme/months/{MONTH}")
        action = f"{PREFIX}/clients/acme/months/{MONTH}/validate"
        assert f'action="{action}"' in page.text
        done = web.post(site.origin + action, data={"csrf": csrf_of(page.text)})
        assert (done.status_code, done.headers["location"]) == (
            303,
            f"{PREFIX}/clients/acme/months/{MONTH}",
        )
    report = site.portal.json("report", "monthly", "--client", "acme", "--month", MONTH)
    assert report["validation"]["validated"] is True
    assert report["validation"]["source"] == "portal"


def test_a_prefix_that_is_one_of_the_dashboards_own_paths_is_refused(site: Served) -> None:
    config = site.portal.fleet.config
    clashing = config.with_name("clashing.yaml")
    clashing.write_text(
        config.read_text().replace(f"{site.origin}{PREFIX}", f"{site.origin}/sites/x")
    )
    done = run_tma("serve", "--port", str(free_port()), config=clashing, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "web.base_url: its path /sites/x starts with /sites" in done.stderr

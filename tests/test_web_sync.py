"""The requests page's "sync now" against the real Redmine (Redmine 5.0 has no webhooks):
people validate issues in Redmine, a client's click reads back its own client's requests only
and lists what changed, a second click at once is refused, a Redmine answering 503 is one
line on the page (the client is not shown the agency's URLs) and loses nothing: the next sync
records it."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest
from test_tma_run_redmine import issues, set_status
from tma_redmine.testing import tickets_block
from web_portal import PASSWORDS, Portal, make_portal

from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.fixtures_redmine import RedmineProject
from tma_agent.testing.proxy import LosingProxy, Rule
from tma_agent.testing.redmine import Redmine
from tma_agent.testing.web import csrf_of, logged_in, served

#: Long enough that "at once" is refused however slow the machine; passed by moving the
#: turn back in the ledger (`_let_time_pass`), never by sleeping.
SPACING = 600


def _sync(web: httpx.Client, *, fragment: bool = False) -> httpx.Response:
    token = csrf_of(web.get("/requests").text)
    if fragment:
        return web.post("/requests/sync?fragment=requests", data={"csrf": token})
    done = web.post("/requests/sync", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/requests"
    return web.get("/requests")


def _let_time_pass(portal: Portal, scope: str) -> None:
    with sqlite3.connect(portal.fleet.ledger) as db:
        moved = db.execute(
            "UPDATE throttles SET last_at = '2000-01-01 00:00:00.000000' WHERE scope = ?", (scope,)
        )
        assert moved.rowcount == 1


def _validations(portal: Portal, fingerprint: str) -> list[Any]:
    return list(portal.json("requests", "show", fingerprint)["validations"])


def test_sync_now_against_the_real_redmine(
    tmp_path_factory: pytest.TempPathFactory, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with LosingProxy(redmine.url) as proxy, FeedServer() as feeds:
        block = tickets_block(redmine, redmine_project.identifier, url=proxy.url)
        portal = make_portal(
            tmp_path_factory.mktemp("sync"),
            feeds,
            tickets=block,
            visual=False,
            sync_every_seconds=SPACING,
        )
        made = issues(redmine, redmine_project)
        for fingerprint in ("tma:www:site", "tma:shop:site"):
            set_status(redmine, made[fingerprint]["id"], "Validated")  # people, in Redmine
        with served(portal.fleet.config) as url:
            with logged_in(url, "acme-cto", PASSWORDS["acme-cto"]) as acme:
                page = _sync(acme)
                again = _sync(acme, fragment=True)  # at once: refused
                assert again.status_code == 429
                assert "synced a moment ago: the next sync can run in" in again.text
                assert again.text.lstrip().startswith('<section id="requests-fragment">')
                assert "1 request(s) changed" in page.text
                www = portal.json("requests", "show", "tma:www:site")
                assert f'<a href="/requests/{www["id"]}">#{www["id"]}</a>' in page.text
                assert f"ticket {made['tma:www:site']['id']} is “Validated”: validated" in page.text
                assert [v["source"] for v in www["validations"]] == ["redmine"]
                assert _validations(portal, "tma:shop:site") == []  # globex's: not acme's sync
                assert "1 request(s) changed" not in acme.get("/requests").text  # shown once

            down = Rule("GET", "/issues", "unavailable", times=100)
            proxy.rules.append(down)
            with logged_in(url, "globex-cto", PASSWORDS["globex-cto"]) as globex:
                page = _sync(globex)
                (line,) = [x for x in page.text.splitlines() if 'id="sync-error"' in x]
                assert "the ticket system could not be read now: try again later" in line
                assert proxy.url not in page.text and "0 request(s) changed" in page.text
            with logged_in(url, "alice", PASSWORDS["alice"]) as alice:
                page = _sync(alice)
                (line,) = [x for x in page.text.splitlines() if 'id="sync-error"' in x]
                assert "ticket system: redmine" in line and "503" in line, line
                assert down.reached.is_set()
                assert _validations(portal, "tma:shop:site") == []
                down.times = 0  # Redmine is back
                _let_time_pass(portal, "all")  # staff's turn
                page = _sync(alice)
                assert "1 request(s) changed" in page.text and "sync-error" not in page.text
            shop = _validations(portal, "tma:shop:site")
            assert [v["source"] for v in shop] == ["redmine"]  # nothing lost
            assert len(_validations(portal, "tma:www:site")) == 1  # nor recorded twice

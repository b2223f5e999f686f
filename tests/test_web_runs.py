"""The runs page's heartbeat, outbox and timer (and `tma status`, which it shows): real
`tma run` processes pinging a local monitoring endpoint, a ticket system answering 503 (the
writes queued, by kind), a heartbeat that cannot be reached, and the timer's next run as
`systemd-analyze calendar` computes it; served by the real `tma serve`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from check_schema import assert_valid
from run_fleet import CORE_NEWER, Fleet
from run_fleet import fleet as fleet  # the fixture

from tma_agent.testing.feeds import Reply
from tma_agent.testing.web import logged_in, served
from tma_agent.web.auth import hash_password

HOOK_SECRET_ENV = "TMA_TEST_RUNS_HOOK_SECRET"
PASSWORD = "staff-password-123"


def _status(fleet: Fleet) -> dict[str, Any]:
    done = fleet.tma("status", "--format", "json")
    assert done.stdout, done.stderr
    status = json.loads(done.stdout)
    assert_valid(status, "status.schema.json")
    return status


def _runs(url: str) -> tuple[dict[str, Any], str]:
    with logged_in(url, "alice", PASSWORD) as web:
        runs = web.get("/api/runs").json()
        assert_valid(runs, "web-runs.schema.json")
        fragment = web.get("/runs", params={"fragment": "runs"})
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<section id="runs-fragment"')
        assert "<html" not in fragment.text  # the part only
        assert web.get("/runs", params={"fragment": "requests"}).status_code == 404
        return runs, web.get("/runs").text


def test_the_runs_page_shows_the_heartbeat_the_outbox_and_the_next_timer_run(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in ("/hc/abc/start", "/hc/abc", "/hc/abc/fail"):
        fleet.server.routes[path] = Reply("OK")
    fleet.server.routes["/tickets-down"] = Reply("", status=503)
    monkeypatch.setenv(HOOK_SECRET_ENV, "hook-secret-of-32-characters....")
    users = [{"name": "alice", "password_hash": hash_password(PASSWORD), "role": "staff"}]
    fleet.write(
        heartbeat={"url": fleet.server.url + "/hc/abc"},
        schedule={"on_calendar": "*-*-* 02:30:00 UTC"},
        tickets={"backend": "webhook", "url": fleet.server.url + "/tickets-down",
                 "secret": {"$env": HOOK_SECRET_ENV}},
        http={"timeout": 3, "retries": 1},
        web={"secret_key": "k" * 40, "users": users},
    )  # fmt: skip
    assert _status(fleet)["heartbeat"]["last"] is None  # none sent yet
    fleet.feeds(CORE_NEWER)
    fleet.run(code=3)  # the ticket system is down: its writes are queued

    status = _status(fleet)
    beat = status["heartbeat"]
    assert beat["configured"] is True
    assert (beat["last"]["ping"], beat["last"]["ok"], beat["last"]["status"]) == ("fail", True, 200)
    # systemd-analyze answers here without a running systemd: the schedule's next time.
    assert beat["next_run"]["source"] == "schedule.on_calendar"
    after = dt.datetime.fromisoformat(beat["next_run"]["at"])
    now = dt.datetime.now(dt.UTC)
    assert (after.hour, after.minute) == (2, 30) and now < after <= now + dt.timedelta(days=1)
    outbox = status["outbox"]
    assert outbox["queued"] > 0
    assert sum(n for states in outbox["by_kind"].values() for n in states.values()) == (
        outbox["queued"] + outbox["parked"]
    )
    assert "create" in outbox["by_kind"]
    with served(fleet.config) as url:
        runs, page = _runs(url)
        assert runs["heartbeat"] == beat and runs["outbox"] == outbox
        assert "fail at " in page and "taken (HTTP 200)" in page
        assert f"{beat['next_run']['at']} (schedule.on_calendar, before its random delay)" in page
        creates = outbox["by_kind"]["create"].get("queued", 0)
        assert f'<tr data-kind="create"><td>create</td><td>{creates}</td>' in page
        with httpx.Client(base_url=url) as anonymous:
            assert anonymous.get("/runs?fragment=runs").status_code == 303  # log in first

    # The monitoring service cannot be reached: the run goes on, the page says so.
    fleet.write(heartbeat={"url": "http://127.0.0.1:9/hc/nowhere"}, tickets={"backend": "ledger"})
    done = fleet.tma("run", "--format", "json")
    assert done.returncode == 0, done.stderr
    last = _status(fleet)["heartbeat"]["last"]
    assert (last["ping"], last["ok"], last["status"]) == ("success", False, None)
    assert last["error"] and "\n" not in last["error"] and "nowhere" not in last["error"]
    with served(fleet.config) as url:
        _, page = _runs(url)
        assert f"success at {last['at']}: " in page and "not taken: " in page

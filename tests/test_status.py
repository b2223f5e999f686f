"""`tma status` over a real ledger filled by real `tma run` processes (one of them SIGKILLed)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

import pytest
from check_schema import assert_valid
from run_fleet import CORE_NOW, Fleet
from run_fleet import fleet as fleet  # the fixture

from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.feeds import Reply

HOOK_SECRET_ENV = "TMA_TEST_STATUS_HOOK_SECRET"


def _status(fleet: Fleet, *args: str, code: int = 0) -> dict[str, Any]:
    done = fleet.tma("status", "--format", "json", *args)
    assert done.returncode == code, done.stderr
    status = json.loads(done.stdout)
    assert_valid(status, "status.schema.json")
    return status


def test_a_new_machine_has_no_runs_and_says_so(fleet: Fleet) -> None:
    status = _status(fleet, "--check", code=1)
    assert status["runs"] == [] and status["ledger"].startswith("no ledger yet")
    assert [s["stale"] for s in status["sites"]] == [True, True]
    assert not fleet.ledger.exists()  # status never creates a ledger


def test_runs_sites_and_a_killed_run(fleet: Fleet) -> None:
    fleet.run()
    status = _status(fleet, "--check")
    assert status["problems"] == []
    (run,) = status["runs"]
    assert run["state"] == "completed" and run["sites"] == {"updates": 2}
    assert run["requests"] == {"created": 2} and run["findings"]["security"] >= 1
    assert all(s["last_status"] == "updates" and not s["stale"] for s in status["sites"])

    # A run killed while it checks stays `interrupted` once its lock is gone.
    # Slow for as long as the test needs (not cut by the fleet's 5 s HTTP deadline).
    fleet.write(http={"timeout": 120, "retries": 1})
    fleet.server.routes["/release-history/drupal/current"] = Reply("", status=503, delay=30)
    with background_tma("run", "--format", "json", config=fleet.config) as slow:
        deadline = time.monotonic() + 30
        while len(runs := _status(fleet)["runs"]) < 2:
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        assert runs[0]["state"] == "running"
        sigkill(slow)
    fleet.write(http={"timeout": 5, "retries": 1})
    with sqlite3.connect(fleet.ledger) as db:
        db.execute("DELETE FROM leases")  # what the next run's take-over does for a dead holder
    status = _status(fleet)
    assert [r["state"] for r in status["runs"]] == ["interrupted", "completed"]
    assert status["interrupted_runs"] == 1

    # One site's tree disappears: it fails from now on; after days it is listed.
    fleet.feeds(CORE_NOW)
    for entry in fleet.sites["www"].iterdir():
        if entry.is_dir():
            os.rename(entry, fleet.tmp_path / f"gone-{entry.name}")
    (fleet.sites["www"] / "composer.json").unlink(missing_ok=True)
    fleet.run()
    sites = {s["site"]: s for s in _status(fleet)["sites"]}
    assert sites["www"]["last_status"] == "error" and not sites["www"]["stale"]
    with sqlite3.connect(fleet.ledger) as db:
        db.execute(
            "UPDATE runs SET started_at = '2020-01-01 00:00:00.000000',"
            " finished_at = '2020-01-01 00:00:09.000000' WHERE id < 3"
        )
    status = _status(fleet, "--check", code=1)
    sites = {s["site"]: s for s in status["sites"]}
    assert sites["www"]["stale"] and sites["www"]["last_success_at"].startswith("2020-01-01")
    assert not sites["intranet"]["stale"]
    assert any(
        "1 site(s) not checked successfully for 3 days: www" in p for p in status["problems"]
    )
    table = fleet.tma("status", "--format", "table")
    assert "www: last success 2020-01-01" in table.stdout


@pytest.fixture
def hook_secret() -> Any:
    os.environ[HOOK_SECRET_ENV] = "a-secret-of-at-least-32-characters"
    yield
    os.environ.pop(HOOK_SECRET_ENV, None)


def test_ticket_writes_waiting_for_long_are_listed(fleet: Fleet, hook_secret: None) -> None:
    fleet.server.routes["/down"] = Reply("", status=503)
    fleet.write(
        tickets={
            "backend": "webhook",
            "url": fleet.server.url + "/down",
            "secret": {"$env": HOOK_SECRET_ENV},
        },
        http={"timeout": 3, "retries": 1},
    )
    fleet.run(code=3)
    status = _status(fleet)
    queued = status["outbox"]["queued"]
    assert queued >= 1 and status["outbox"]["stale"] == []
    with sqlite3.connect(fleet.ledger) as db:
        db.execute("UPDATE outbox SET created_at = '2020-01-01 00:00:00.000000'")
    status = _status(fleet, "--check", code=1)
    stale = status["outbox"]["stale"]
    assert len(stale) == queued
    assert {s["request"] for s in stale} <= {"tma:www:site", "tma:intranet:site"}
    # Each tried once and answered 503, or left for the next run once the system was down.
    assert all(s["state"] == "queued" for s in stale)
    assert all("503" in (s["last_answer"] or "") or s["attempts"] == 0 for s in stale)
    assert f"{queued} ticket write(s) waiting for more than 24 h" in status["problems"]

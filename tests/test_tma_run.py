"""`tma run` end to end on the `ledger` ticket backend: the real CLI in a subprocess, real
Drupal trees on the local host, the local feed server answering in drupal.org's format, and
the real SQLite ledger. What must hold night after night: one request per site and group,
updated when its targets change, closed when they are reached, never opened twice."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
from run_fleet import CORE_NEWER, CORE_NOW, Fleet, actions
from run_fleet import fleet as fleet  # the fixture
from sqlalchemy import text
from tma_drupal.testing.trees import build_drupal10

from tma_agent.ledger import ledger_status, make_engine, upgrade_ledger
from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.feeds import Reply


def test_three_runs_in_a_row_open_each_request_once(fleet: Fleet) -> None:
    first = fleet.run()
    assert set(first) >= {"requests", "queued", "sites"}
    assert actions(first) == {"tma:www:site": "created", "tma:intranet:site": "created"}
    assert first["queued"] == 0 and [s["status"] for s in first["sites"]] == ["updates"] * 2
    for later in (fleet.run(), fleet.run()):
        assert actions(later) == {"tma:www:site": "unchanged", "tma:intranet:site": "unchanged"}
    rows = fleet.requests()
    assert [r["fingerprint"] for r in rows] == ["tma:www:site", "tma:intranet:site"]
    www = fleet.show("tma:www:site")
    assert www["state"] == "estimated" and www["kind"] == "preventive"
    assert www["priority"] == "high"  # a security update
    assert [o["operation"] for o in www["outbox"]] == ["create"]
    assert [o["state"] for o in www["outbox"]] == ["done"]
    targets = {t["name"]: (t["installed"], t["target"], t["update"]) for t in www["targets"]}
    assert targets == {
        "drupal": ("10.2.3", "10.3.1", "security"),
        "pathauto": ("8.x-1.12", "8.x-1.13", "bugfix"),
    }
    assert "| `drupal` | `10.2.3` | `10.3.1` | `security` |" in www["description"]
    assert "<https://www.example>" in www["description"]
    assert www["description"].endswith("tma-fingerprint: tma:www:site")


def test_a_newer_target_updates_the_open_request_with_a_note(fleet: Fleet) -> None:
    fleet.run()
    fleet.feeds(CORE_NEWER)
    summary = fleet.run()
    assert actions(summary) == {"tma:www:site": "updated", "tma:intranet:site": "updated"}
    www = fleet.show("tma:www:site")
    assert [(o["operation"], o["state"]) for o in www["outbox"]] == [
        ("create", "done"),
        ("update", "done"),
    ]
    assert {t["name"]: t["target"] for t in www["targets"]}["drupal"] == "10.3.2"
    with sqlite3.connect(fleet.ledger) as db:
        (payload,) = db.execute(
            "select payload from outbox where operation = 'update' and request_id = ?", (www["id"],)
        ).fetchone()
    assert "`drupal`: target 10.3.1 → 10.3.2" in json.loads(payload)["note"]
    assert actions(fleet.run())["tma:www:site"] == "unchanged"  # a note only when it changed


def test_reaching_every_target_closes_the_request(fleet: Fleet) -> None:
    fleet.run()
    build_drupal10(
        fleet.sites["www"], core="10.3.1", modules={"pathauto": "8.x-1.13", "token": "8.x-1.13"}
    )
    summary = fleet.run()
    assert actions(summary) == {"tma:www:site": "closed", "tma:intranet:site": "unchanged"}
    www = fleet.show("tma:www:site")
    assert www["state"] == "closed"
    assert [(e["from"], e["to"], e["source"]) for e in www["events"]] == [
        (None, "estimated", "agent"),
        ("estimated", "closed", "agent"),
    ]
    assert actions(fleet.run()) == {"tma:intranet:site": "unchanged"}


def test_a_rejected_request_stays_closed_until_a_strictly_newer_target(fleet: Fleet) -> None:
    fleet.run()
    done = fleet.tma("requests", "reject", "tma:www:site", "--by", "Jane Client")
    assert done.returncode == 0, done.stderr
    again = fleet.run()
    assert actions(again)["tma:www:site"] == "unchanged"
    assert [r["fingerprint"] for r in fleet.requests("--site", "www")] == ["tma:www:site"]
    fleet.feeds(CORE_NEWER)
    newer = fleet.run()
    assert actions(newer)["tma:www:site#2"] == "created"
    follow = fleet.show("tma:www:site#2")
    assert follow["previous"] == "tma:www:site" and follow["state"] == "estimated"
    assert "Follows the closed request tma:www:site." in follow["description"]
    assert fleet.show("tma:www:site")["state"] == "rejected"
    assert actions(fleet.run())["tma:www:site#2"] == "unchanged"


def test_a_partial_or_failed_check_keeps_the_requests_as_they_are(fleet: Fleet) -> None:
    fleet.run()
    before = fleet.requests()
    # The module feeds fail: core is still evaluated, so the sites are `partial`.
    for module in ("pathauto", "token"):
        fleet.server.routes[f"/release-history/{module}/current"] = Reply("down", status=503)
    partial = fleet.run()
    assert {s["status"] for s in partial["sites"]} == {"partial"}
    assert actions(partial) == {"tma:www:site": "unchanged", "tma:intranet:site": "unchanged"}
    assert all("check partial" in (r["detail"] or "") for r in partial["requests"])
    # A site whose tree is gone (`error`) keeps its request too: nothing is closed or shrunk.
    fleet.feeds(CORE_NOW)
    fleet.sites["www"].rename(fleet.tmp_path / "moved")
    failed = fleet.run()
    assert {s["site"]: s["status"] for s in failed["sites"]}["www"] == "error"
    assert actions(failed)["tma:www:site"] == "unchanged"
    assert fleet.requests() == before


def test_dry_run_writes_nothing(fleet: Fleet) -> None:
    dry = fleet.run("--dry-run")
    assert dry["dry_run"] is True
    assert actions(dry) == {"tma:www:site": "created", "tma:intranet:site": "created"}
    assert not fleet.ledger.exists()  # not even the ledger file
    fleet.run()
    before = fleet.requests()
    mtime = fleet.ledger.stat().st_mtime_ns
    fleet.feeds(CORE_NEWER)
    dry = fleet.run("--dry-run")
    assert actions(dry) == {"tma:www:site": "updated", "tma:intranet:site": "updated"}
    assert fleet.requests() == before and fleet.ledger.stat().st_mtime_ns == mtime
    assert actions(fleet.run())["tma:www:site"] == "updated"


def test_grouping_and_estimate_rules(fleet: Fleet) -> None:
    fleet.write(
        requests={
            "grouping": "security_apart",
            "estimates": {
                "default_hours": 0.5,
                "rules": [{"stack": "drupal", "update": "security", "hours": 3}],
            },
        }
    )
    summary = fleet.run("--site", "www")
    assert actions(summary) == {"tma:www:routine": "created", "tma:www:security": "created"}
    security, routine = fleet.show("tma:www:security"), fleet.show("tma:www:routine")
    assert [t["name"] for t in security["targets"]] == ["drupal"]
    assert security["estimate_minutes"] == 180 and security["priority"] == "high"
    assert routine["estimate_minutes"] == 60 and routine["priority"] == "low"  # 0.5 h → 1 h minimum
    fleet.write(requests={"grouping": "per_component"})
    regrouped = fleet.run("--site", "www")
    assert actions(regrouped) == {
        "tma:www:component:drupal": "created",
        "tma:www:component:pathauto": "created",
        "tma:www:routine": "closed",
        "tma:www:security": "closed",
    }


def test_validation_is_recorded_with_who_and_where(fleet: Fleet) -> None:
    fleet.run()
    done = fleet.tma("requests", "validate", "tma:www:site", "--by", "Jane Client")
    assert done.returncode == 0 and "validated by Jane Client (cli" in done.stdout
    www = fleet.show("1")
    assert [(v["by"], v["source"]) for v in www["validations"]] == [("Jane Client", "cli")]
    assert www["state"] == "estimated"  # the validation is not a work state
    rows = {r["fingerprint"]: r["validated"] for r in fleet.requests()}
    assert rows == {"tma:www:site": True, "tma:intranet:site": False}
    missing = fleet.tma("requests", "validate", "nope", "--by", "x")
    assert missing.returncode == 2 and "no request 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr


def _lock_taken(database_url: str) -> bool:
    """Whether some process holds the run lock: a lease row on SQLite, an advisory lock on
    PostgreSQL (as the server sees it)."""
    engine = make_engine(database_url, create=False)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                query = text("select count(*) from leases where name = 'run'")
            else:
                query = text(
                    "select count(*) from pg_locks where locktype = 'advisory' and granted"
                )
            return bool(connection.execute(query).scalar())
    finally:
        engine.dispose()


def test_an_overlapping_run_exits_5_and_a_killed_runs_lock_is_recovered(
    fleet: Fleet, database_url: str
) -> None:
    fleet.write(database={"url": database_url})
    fleet.run()  # the ledger exists, so the slow run below holds the lock while it checks
    # Slow for as long as the test needs (not cut by the fleet's 5 s HTTP deadline): the second
    # run must find the lock held however long it takes to start on a loaded machine.
    fleet.write(http={"timeout": 120, "retries": 1})
    fleet.server.routes["/release-history/drupal/current"] = Reply("", status=503, delay=30)
    with background_tma("run", "--format", "json", config=fleet.config) as slow:
        deadline = time.monotonic() + 30
        while not _lock_taken(database_url):
            if time.monotonic() > deadline:
                pytest.fail("the first run never took the lock")
            time.sleep(0.05)
        second = fleet.tma("run", "--format", "json")
        assert second.returncode == 5, second.stderr
        assert "run is held by" in second.stderr and "Traceback" not in second.stderr
        if database_url.startswith("sqlite"):
            assert f"{os.uname().nodename}:{slow.pid}" in second.stderr
        sigkill(slow)
    # On SQLite the killed run's lease row is still there; it is taken over at once.
    assert _lock_taken(database_url) == database_url.startswith("sqlite")
    fleet.feeds(CORE_NOW)
    recovered = fleet.run()
    assert actions(recovered) == {"tma:www:site": "unchanged", "tma:intranet:site": "unchanged"}
    assert not _lock_taken(database_url)


def test_the_table_output_fits_and_says_what_happened(fleet: Fleet) -> None:
    done = fleet.tma("run", "--format", "table")
    assert done.returncode == 0, done.stderr
    assert "tma:www:site" in done.stdout and "created" in done.stdout
    assert "2 created; outbox: 0 queued, 0 parked" in done.stdout


def test_a_dry_run_never_migrates_an_old_ledger(fleet: Fleet) -> None:
    fleet.ledger.parent.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{fleet.ledger}")
    try:
        upgrade_ledger(engine, "0002")
        dry = fleet.run("--dry-run")
        assert any("needs an upgrade (0002 → " in e for e in dry["ticket_errors"])
        assert actions(dry) == {"tma:www:site": "created", "tma:intranet:site": "created"}
        assert ledger_status(engine).current == "0002"
    finally:
        engine.dispose()


def test_a_request_typed_by_a_person_goes_through_and_no_check_closes_it(fleet: Fleet) -> None:
    fleet.run()
    added = fleet.tma(
        "requests",
        "add",
        "--site",
        "www",
        "--kind",
        "corrective",
        "--hours",
        "1,5",
        "--by",
        "Jane Dev",
        "Contact form mails bounce",
        "Since the SMTP move.",
    )
    assert added.returncode == 0, added.stderr
    assert "tma:www:manual:1: estimated, ticket tma:www:manual:1" in added.stdout
    shown = fleet.show("tma:www:manual:1")
    assert (shown["kind"], shown["estimate_minutes"], shown["title"]) == (
        "corrective",
        90,
        "Contact form mails bounce",
    )
    assert shown["events"][0]["actor"] == "Jane Dev" and shown["events"][0]["source"] == "cli"
    build_drupal10(
        fleet.sites["www"], core="10.3.1", modules={"pathauto": "8.x-1.13", "token": "8.x-1.13"}
    )
    assert actions(fleet.run())["tma:www:site"] == "closed"
    assert fleet.show("tma:www:manual:1")["state"] == "estimated"  # not the check's to close
    for bad in ("0.5", "41", "1.2345", "lots"):
        refused = fleet.tma("requests", "add", "--site", "www", "--hours", bad, "x")
        assert refused.returncode == 2 and "--hours" in refused.stderr, (bad, refused.stderr)
        assert "Traceback" not in refused.stderr


def test_a_run_raises_each_bucket_alert_once(fleet: Fleet) -> None:
    logged = fleet.tma(
        "time",
        "log",
        "--site",
        "www",
        "--hours",
        "1",
        "--kind",
        "corrective",
        "--by",
        "Jane Dev",
        "Fixed the contact form",
    )
    assert logged.returncode == 0, logged.stderr
    assert "bucket alert" not in logged.stderr  # no contract yet: nothing to alert about
    fleet.write(
        clients=[{"id": "acme", "name": "ACME", "contract": {"days": "0.125", "hours_per_day": 8}}]
    )  # one hour
    first = fleet.run()
    assert [(a["client"], a["threshold"]) for a in first["alerts"]] == [("acme", 80), ("acme", 100)]
    assert first["alerts"][1]["bucket"]["consumed_minutes"] == 60
    assert fleet.run()["alerts"] == []  # once per period

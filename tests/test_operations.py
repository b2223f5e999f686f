"""Run summaries by email (a real local SMTP server with STARTTLS and AUTH) and by webhook,
and the heartbeat, all through real `tma run` processes."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator

import pytest
from run_fleet import CORE_NEWER, Fleet, actions
from run_fleet import fleet as fleet  # the fixture

from tma_agent.testing.feeds import Reply
from tma_agent.testing.smtp import SMTPServer

PASSWORD_ENV = "TMA_TEST_SMTP_PASSWORD"
HOOK_SECRET_ENV = "TMA_TEST_HOOK_SECRET"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    os.environ[PASSWORD_ENV] = "s3cret-smtp"
    with SMTPServer(password="s3cret-smtp") as server:
        yield server
    os.environ.pop(PASSWORD_ENV, None)


def _email(smtp: SMTPServer, **keys: object) -> dict[str, object]:
    return {
        "host": "127.0.0.1",
        "port": smtp.port,
        "starttls": True,
        "user": "tma",
        "password": {"$env": PASSWORD_ENV},
        "from": "tma@agency.example",
        "to": ["tma-lead@agency.example", "ops@agency.example"],
        "ca_file": str(smtp.ca_file),
        **keys,
    }


def test_a_run_summary_is_mailed_only_when_something_changed(
    fleet: Fleet, smtp: SMTPServer
) -> None:
    fleet.write(notify={"email": _email(smtp)})
    first = fleet.run()
    assert set(actions(first).values()) == {"created"}
    assert len(smtp.messages) == 1 and smtp.logins == ["tma"]
    mail = smtp.messages[0]
    assert mail["From"] == "tma@agency.example"
    assert mail["To"] == "tma-lead@agency.example, ops@agency.example"
    assert mail["Subject"].startswith("tma-agent: 2 sites")
    body = mail.get_content()
    assert "Requests: 2 created" in body
    assert "opened: www: " in body and "opened: intranet: " in body
    assert smtp.keeper.envelopes[0] == (
        "tma@agency.example",
        ["tma-lead@agency.example", "ops@agency.example"],
    )

    fleet.run()  # the same findings: nothing to tell
    assert len(smtp.messages) == 1

    fleet.feeds(CORE_NEWER)  # a newer security release: the requests are updated
    fleet.run()
    assert len(smtp.messages) == 2 and "Requests: 2 updated" in smtp.messages[1].get_content()

    fleet.write(notify={"email": _email(smtp, only_changes=False)})
    fleet.run()
    assert len(smtp.messages) == 3 and "Requests: 2 unchanged" in smtp.messages[2].get_content()


def test_a_mail_that_cannot_be_sent_never_fails_the_run_nor_shows_the_password(
    fleet: Fleet, smtp: SMTPServer
) -> None:
    os.environ[PASSWORD_ENV] = "wrong-password-123"
    fleet.write(notify={"email": _email(smtp)})
    done = fleet.tma("run", "--format", "json", "--log-format", "json")
    assert done.returncode == 0, done.stderr
    assert smtp.messages == []
    assert "authentication failed (535)" in done.stderr
    assert "wrong-password-123" not in done.stderr + done.stdout
    # Without STARTTLS the server refuses AUTH: the agent says so in one line.
    os.environ[PASSWORD_ENV] = "s3cret-smtp"
    fleet.write(notify={"email": _email(smtp, starttls=False, only_changes=False)})
    done = fleet.tma("run", "--format", "json", "--log-format", "json")
    assert done.returncode == 0 and smtp.messages == []
    assert "run summary not mailed" in done.stderr and "Traceback" not in done.stderr


def test_the_webhook_gets_slack_compatible_json(fleet: Fleet) -> None:
    fleet.server.routes["/hooks/mattermost"] = Reply("ok")
    fleet.write(notify={"webhook": {"url": fleet.server.url + "/hooks/mattermost"}})
    fleet.run()
    posts = [r for r in fleet.server.requests if r.path == "/hooks/mattermost"]
    assert len(posts) == 1 and posts[0].method == "POST"
    text = json.loads(posts[0].body)["text"]
    assert text.startswith("**tma-agent: 2 sites") and "Requests: 2 created" in text
    fleet.run()
    assert len([r for r in fleet.server.requests if r.path == "/hooks/mattermost"]) == 1


def _pings(fleet: Fleet) -> list[tuple[str, bytes]]:
    return [(r.path, r.body) for r in fleet.server.requests if r.path.startswith("/hc/")]


def test_the_heartbeat_gets_start_then_success_or_fail(fleet: Fleet) -> None:
    for path in ("/hc/abc/start", "/hc/abc", "/hc/abc/fail"):
        fleet.server.routes[path] = Reply("OK")
    fleet.write(heartbeat={"url": fleet.server.url + "/hc/abc"})
    fleet.run()
    assert [p for p, _ in _pings(fleet)] == ["/hc/abc/start", "/hc/abc"]
    fleet.run("--dry-run")  # a dry run is not a scheduled run
    assert len(_pings(fleet)) == 2

    # The ticket system answers 503: the run exits 3 (writes queued) and the heartbeat hears /fail.
    fleet.server.routes["/tickets-down"] = Reply("", status=503)
    os.environ[HOOK_SECRET_ENV] = "hook-secret-of-32-characters...."
    try:
        fleet.write(
            tickets={"backend": "webhook", "url": fleet.server.url + "/tickets-down",
                     "secret": {"$env": HOOK_SECRET_ENV}},
            http={"timeout": 3, "retries": 1},
        )  # fmt: skip
        fleet.feeds(CORE_NEWER)
        fleet.run(code=3)
    finally:
        os.environ.pop(HOOK_SECRET_ENV, None)
    assert _pings(fleet)[2:] == [("/hc/abc/start", b""), ("/hc/abc/fail", b"exit 3")]


def test_a_heartbeat_that_is_down_never_fails_the_run(fleet: Fleet) -> None:
    fleet.write(heartbeat={"url": "http://127.0.0.1:9/hc/nowhere"})
    done = fleet.tma("run", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "heartbeat not sent" in done.stderr


def test_a_run_warns_when_the_previous_completed_run_is_old(fleet: Fleet) -> None:
    fleet.write(heartbeat={"warn_after_hours": 36})
    fleet.run()
    quiet = fleet.tma("run", "--format", "json")
    assert "previous completed run" not in quiet.stderr
    with sqlite3.connect(fleet.ledger) as db:
        db.execute("UPDATE runs SET finished_at = '2020-01-01 00:00:00.000000'")
    warned = fleet.tma("run", "--format", "json")
    assert warned.returncode == 0
    assert "warning: the previous completed run finished" in warned.stderr
    assert "(heartbeat.warn_after_hours: 36)" in warned.stderr

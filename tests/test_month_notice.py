"""A validated month written to the client's ticket system (the GitLab fake, its REST wire
format): a month validated in the portal of a real `tma serve`, or by the real `tma report
validate`, opens exactly one notice ticket saying who, when and the month's totals as the
ledger has them to the minute; a SIGKILL of `tma report validate` after GitLab applied the
create but before its answer came opens no second one at the next run; a second validation
is refused and writes nothing; a refused notice is parked until `tma requests retry`."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from run_fleet import Fleet
from run_fleet import fleet as fleet  # the fixture
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from tma_gitlab.testing.fake import FakeGitLab

from tma_agent.ledger.models import OutboxItem, OutboxState
from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.fake_api import Failure
from tma_agent.testing.web import csrf_of, logged_in, served
from tma_agent.web.auth import hash_password

MONTH = "2026-11"
PASSWORD = "acme-password-0123"
TOKEN_ENV = "TMA_TEST_NOTICE_TOKEN"
ISSUES = r"/api/v4/projects/[^/]+/issues"


@pytest.fixture(autouse=True)
def _no_token_left() -> Iterator[None]:
    yield
    os.environ.pop(TOKEN_ENV, None)


@pytest.fixture
def agency(fleet: Fleet, fake_gitlab: FakeGitLab) -> Fleet:
    """acme on GitLab, a two-day contract, 1 h 45 logged in the month (two kinds, two sites)."""
    os.environ[TOKEN_ENV] = fake_gitlab.token
    fleet.write(
        clients=[{"id": "acme", "name": "ACME", "contract": {"days": 2}}],
        tickets={
            "backend": "gitlab",
            "url": fake_gitlab.url,
            "token": {"$env": TOKEN_ENV},
            "project": fake_gitlab.project.path,
        },
        web={
            "secret_key": "k" * 40,
            "users": [
                {
                    "name": "acme-cto",
                    "password_hash": hash_password(PASSWORD),
                    "role": "client",
                    "client": "acme",
                }
            ],
        },
    )
    for site, hours, kind in (("www", "1.5", "corrective"), ("intranet", "0.25", "preventive")):
        done = fleet.tma(
            "time", "log", "--site", site, "--hours", hours, "--kind", kind,
            "--date", f"{MONTH}-03", f"Work on {site}",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return fleet


def _creates(fake: FakeGitLab) -> int:
    """Issue creates GitLab received for the month's notice (a run opens request tickets too)."""
    return sum(
        1
        for r in fake.requests
        if r.method == "POST" and re.fullmatch(ISSUES, r.path) and b"tma:report:" in r.body
    )


def _notices(fake: FakeGitLab) -> list[dict[str, Any]]:
    return [i for i in fake.project.issues.values() if "month-validated" in i["labels"]]


def _notice_state(fleet: Fleet) -> OutboxState:
    engine = create_engine(f"sqlite:///{fleet.ledger}")
    try:
        with Session(engine) as session:
            key = f"notice:tma:report:acme:{MONTH}"
            query = select(OutboxItem.state).where(OutboxItem.idempotency_key == key)
            return OutboxState(session.scalars(query).one())
    finally:
        engine.dispose()


def _report(fleet: Fleet) -> dict[str, Any]:
    done = fleet.tma("report", "monthly", "--client", "acme", "--month", MONTH, "--format", "json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _check_notice(fleet: Fleet, fake: FakeGitLab, by: str, where: str) -> None:
    """One notice ticket, saying who, where, when, and the ledger's totals to the minute."""
    (issue,) = _notices(fake)
    report = _report(fleet)
    stamp = report["validation"]
    assert (stamp["by"], report["totals"]["billed_minutes"]) == (by, 105)
    at = stamp["at"].replace("T", " ").replace("+00:00", "")
    text = issue["description"]
    assert issue["title"] == f"[TMA] ACME: report of {MONTH} validated"
    assert f"validated by {by} {where} on {at} UTC." in text
    assert "- interventions: 2" in text and "- billed: 1 h 45 (105 min)" in text
    assert "- corrective: 1 h 30 (90 min)" in text and "- preventive: 0 h 15 (15 min)" in text
    remaining = report["bucket"]["remaining_minutes"]
    assert remaining == 2 * 7 * 60 - 105  # two days of 7 h
    assert f"{remaining // 60} h {remaining % 60:02d} ({remaining} min) remaining" in text
    assert stamp["checksum"] in text and f"tma:report:acme:{MONTH}" in text


def test_a_month_validated_in_the_portal_opens_one_notice(
    agency: Fleet, fake_gitlab: FakeGitLab
) -> None:
    before = _creates(fake_gitlab)
    with served(agency.config) as url, logged_in(url, "acme-cto", PASSWORD) as web:
        page = web.get(f"/clients/acme/months/{MONTH}")
        done = web.post(f"/clients/acme/months/{MONTH}/validate", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        again = web.post(
            f"/clients/acme/months/{MONTH}/validate", data={"csrf": csrf_of(page.text)}
        )
        assert again.status_code == 409 and "already validated by acme-cto" in again.text
    assert _creates(fake_gitlab) - before == 1
    _check_notice(agency, fake_gitlab, "acme-cto", "in the client portal")
    # Later runs send nothing more.
    assert agency.tma("time", "sync").returncode == 0
    assert _creates(fake_gitlab) - before == 1


def test_a_month_validated_by_the_cli_opens_one_notice(
    agency: Fleet, fake_gitlab: FakeGitLab
) -> None:
    before = _creates(fake_gitlab)
    validate = ("report", "validate", "--client", "acme", "--month", MONTH, "--by", "Jane Doe")
    done = agency.tma(*validate)
    assert done.returncode == 0, done.stderr
    _check_notice(agency, fake_gitlab, "Jane Doe", "with `tma report validate`")
    refused = agency.tma(*validate)
    assert refused.returncode == 6 and "already validated by Jane Doe" in refused.stderr
    assert _creates(fake_gitlab) - before == 1


def test_gitlab_down_leaves_the_notice_for_the_next_run(
    agency: Fleet, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.fail("*", r"/api/v4/.*", Failure(status=503), times=50)
    done = agency.tma("report", "validate", "--client", "acme", "--month", MONTH, "--by", "Jane")
    assert done.returncode == 3 and "ticket system:" in done.stderr
    assert _report(agency)["validation"]["by"] == "Jane"  # recorded all the same
    assert _notices(fake_gitlab) == []
    fake_gitlab.recover()
    synced = agency.tma("time", "sync")
    assert synced.returncode == 0 and ", 1 notice(s) sent;" in synced.stdout, synced.stderr
    _check_notice(agency, fake_gitlab, "Jane", "with `tma report validate`")


def test_sigkill_after_the_create_reached_gitlab_opens_no_second_notice(
    agency: Fleet, fake_gitlab: FakeGitLab
) -> None:
    # GitLab applies the create, then holds its answer: the agent never learns the issue's id.
    fake_gitlab.fail("POST", ISSUES, Failure(apply=True, hang=60))
    args = ("report", "validate", "--client", "acme", "--month", MONTH, "--by", "Jane")
    with background_tma(*args, config=agency.config) as validate:
        deadline = time.monotonic() + 60
        while not _notices(fake_gitlab):
            if time.monotonic() > deadline:
                pytest.fail("tma report validate never sent its notice")
            time.sleep(0.02)
        sigkill(validate)
    # Killed between the two: the validation committed, its notice claimed `sent`, not done.
    assert _report(agency)["validation"]["by"] == "Jane"
    assert _notice_state(agency) == OutboxState.SENT
    ran = agency.tma("run")  # the next run: looks for the notice before a create
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert _creates(fake_gitlab) == 1
    _check_notice(agency, fake_gitlab, "Jane", "with `tma report validate`")
    assert _notice_state(agency) == OutboxState.DONE
    refused = agency.tma(*args)
    assert refused.returncode == 6 and "already validated by Jane" in refused.stderr
    assert _creates(fake_gitlab) == 1


def test_a_refused_notice_is_parked_until_requests_retry(
    agency: Fleet, fake_gitlab: FakeGitLab
) -> None:
    refusal = Failure(status=422, body={"message": {"title": ["is too long"]}})
    fake_gitlab.fail("POST", ISSUES, refusal)
    done = agency.tma("report", "validate", "--client", "acme", "--month", MONTH, "--by", "Jane")
    assert done.returncode == 3 and "parked: tma requests retry" in done.stderr, done.stderr
    assert agency.tma("time", "sync").returncode == 3  # parked: not sent again by itself
    assert _notices(fake_gitlab) == []
    retried = agency.tma("requests", "retry")
    assert retried.returncode == 0, retried.stderr
    assert "outbox: 0 queued, 0 parked" in retried.stdout
    _check_notice(agency, fake_gitlab, "Jane", "with `tma report validate`")

"""The time-entry sender's rules, through the real CLI: `tma run` sends time entries after
the requests; a backend that keeps no time marks them done; an intervention whose request has
no ticket yet waits for it; `tma requests retry` sends parked ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from test_time_entries_jira import _agency, _issue
from time_ledger import Agency
from tma_jira.testing.fake import FakeJira, Fault

from tma_agent.ledger import open_ledger
from tma_agent.ledger.locks import hold_lock
from tma_agent.ledger.models import Request


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


def test_tma_run_sends_the_time_entries_after_the_requests(tmp_path: Path, jira: FakeJira) -> None:
    agency = _agency(tmp_path, jira)
    key = _issue(jira)
    agency.log(75, request_id=agency.request(key))
    run = agency.tma("run", "--format", "json")  # the sites' checks fail: no tree on disk
    summary = json.loads(run.stdout)
    assert summary["queued"] == 0 and summary["parked"] == 0, run.stderr
    (worklog,) = jira.worklogs.by_issue[key]
    assert worklog["timeSpentSeconds"] == 75 * 60


def test_a_backend_that_keeps_no_time_marks_them_done(tmp_path: Path) -> None:
    agency = Agency(tmp_path, {"backend": "ledger"})
    agency.log(30)
    done = agency.tma("time", "sync")
    assert done.returncode == 0 and "0 queued, 0 parked" in done.stdout, done.stderr
    assert agency.outbox() == [("time_create", "done", "ledger keeps no time")]
    reconcile = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert reconcile.returncode == 0
    assert json.loads(reconcile.stdout)["skipped"] == {"acme": "ledger"}


def test_an_entry_waits_for_its_ticket_and_a_parked_one_waits_for_retry(
    tmp_path: Path, jira: FakeJira
) -> None:
    agency = _agency(tmp_path, jira)
    key = _issue(jira)
    request = agency.request(None)  # its create is still queued
    agency.log(60, request_id=request)
    waiting = agency.tma("time", "sync")
    assert waiting.returncode == 3 and "1 queued" in waiting.stdout
    assert agency.outbox()[0][1] == "queued" and jira.calls("POST", r"/issue/.*/worklog") == []
    with open_ledger(agency.config) as ledger, ledger.session() as session:
        session.execute(update(Request).where(Request.id == request).values(ticket_ref=key))
    jira.fail_next(Fault(status=403, body={"errorMessages": ["You cannot log work"]}))
    parked = agency.tma("time", "sync")
    assert parked.returncode == 3 and "0 queued, 1 parked" in parked.stdout
    assert "You cannot log work" in parked.stderr
    retried = agency.tma("requests", "retry")
    assert retried.returncode == 0, retried.stderr
    assert len(jira.worklogs.by_issue[key]) == 1
    assert agency.outbox()[0][1] == "done"


def test_one_sender_at_a_time(tmp_path: Path, jira: FakeJira, database_url: str) -> None:
    agency = _agency(tmp_path, jira, database_url)
    key = _issue(jira)
    agency.log(60, request_id=agency.request(key))
    with open_ledger(agency.config) as ledger, hold_lock(ledger, "time-entries"):
        busy = agency.tma("time", "sync")
    assert busy.returncode == 5 and "time-entries" in busy.stderr, busy.stderr
    assert jira.calls("POST", r"/issue/.*/worklog") == []
    assert agency.tma("time", "sync").returncode == 0
    assert len(jira.worklogs.by_issue[key]) == 1

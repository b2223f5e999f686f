"""Time entries as Jira worklogs, against the local Jira Cloud (`FakeJira`, worklogs paged two
at a time), through the real `tma time sync` and `tma time reconcile`: exact seconds, the day,
the delivery line in the ADF comment, a lost answer found before a second POST, an edit and
a delete sent once, an intervention without a ticket done as "no ticket to log on"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from check_schema import assert_valid_output
from time_ledger import DAY, Agency
from tma_jira.adf import adf_text
from tma_jira.testing.fake import FakeJira, Fault
from tma_jira.testing.fixtures import jira_backend_for

from tma_agent.tickets import TicketDraft, marker_line

WORKLOG = r"/issue/[^/]+/worklog"


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


def _agency(tmp_path: Path, jira: FakeJira, database_url: str | None = None) -> Agency:
    tickets = {"backend": "jira", "url": jira.url, "user": jira.email, "token": jira.token,
               "project": jira.state.project, "search_lag": 0}  # fmt: skip
    return Agency(tmp_path, tickets, database_url)


def _issue(jira: FakeJira) -> str:
    backend = jira_backend_for(jira)
    try:
        fingerprint = f"tma:www:{len(jira.state.issues)}"
        draft = TicketDraft(
            fingerprint=fingerprint, title="Updates", site="www", client="acme",
            description=f"updates\n\n{marker_line(fingerprint)}", kind="preventive",
            priority="normal", estimate_minutes=60,
        )  # fmt: skip
        return backend.create(draft).ref
    finally:
        backend.close_connection()


def test_each_intervention_is_one_worklog(tmp_path: Path, jira: FakeJira) -> None:
    agency = _agency(tmp_path, jira)
    key = _issue(jira)
    first = agency.log(90, request_id=agency.request(key))
    second = agency.log(25, request_id=agency.request(key), description="Cache <cleared>")
    nowhere = agency.log(30, site="intranet")
    for _ in range(2):
        done = agency.tma("time", "sync")
        assert done.returncode == 0, done.stderr
    worklogs = jira.worklogs.by_issue[key]
    assert [w["timeSpentSeconds"] for w in worklogs] == [5400, 1500]
    assert {w["started"] for w in worklogs} == {f"{DAY.isoformat()}T12:00:00.000+0000"}
    assert adf_text(worklogs[1]["comment"]).strip() == (
        f"Cache <cleared> — tma-time: time_create:{second}:0"
    )
    assert agency.intervention(first).time_entry_ref == f"{key}/{worklogs[0]['id']}"
    assert agency.intervention(nowhere).time_entry_ref is None
    assert agency.outbox()[2] == ("time_create", "done", "no ticket to log on")
    assert len(jira.calls("POST", WORKLOG)) == 2


def test_a_lost_answer_is_found_by_its_delivery_id_not_logged_twice(
    tmp_path: Path, jira: FakeJira
) -> None:
    agency = _agency(tmp_path, jira)
    key = _issue(jira)
    for minutes in (60, 15, 45):  # three worklogs: two pages to search
        agency.log(minutes, request_id=agency.request(key))
    jira.fail_next(Fault(kind="drop", method="POST", path=WORKLOG + r"$"))
    lost = agency.tma("time", "sync")
    # The lost one is `sent`; Jira is left alone for the rest of the run: all three wait.
    assert lost.returncode == 3 and "0 time entry write(s) sent; 3 queued" in lost.stdout
    assert agency.outbox()[0][1] == "sent"
    assert len(jira.worklogs.by_issue[key]) == 1
    assert agency.tma("time", "sync").returncode == 0
    assert [w["timeSpentSeconds"] for w in jira.worklogs.by_issue[key]] == [3600, 900, 2700]
    assert len(jira.calls("POST", WORKLOG)) == 3
    assert agency.outbox()[0][2] == "found by delivery id"


def test_an_edit_and_a_delete_reach_jira_once(tmp_path: Path, jira: FakeJira) -> None:
    agency = _agency(tmp_path, jira)
    key = _issue(jira)
    kept = agency.log(60, request_id=agency.request(key))
    gone = agency.log(30, request_id=agency.request(key))
    assert agency.tma("time", "sync").returncode == 0
    agency.edit(kept, 120)
    agency.delete(gone)
    for _ in range(2):
        assert agency.tma("time", "sync").returncode == 0
    (left,) = jira.worklogs.by_issue[key]
    assert left["timeSpentSeconds"] == 7200
    assert len(jira.calls("PUT", WORKLOG + r"/\d+")) == 1
    assert len(jira.calls("DELETE", WORKLOG + r"/\d+")) == 1


def test_reconcile_against_jira_worklogs(tmp_path: Path, jira: FakeJira) -> None:
    agency = _agency(tmp_path, jira)
    key = _issue(jira)
    request = agency.request(key)
    changed = agency.log(60, request_id=request)
    agency.log(30, request_id=request)
    assert agency.tma("time", "sync").returncode == 0
    same = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert same.returncode == 0 and json.loads(same.stdout)["differences"] == []
    jira.worklogs.by_issue[key][0]["timeSpentSeconds"] = 4500  # someone edits it in Jira
    differ = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert differ.returncode == 1
    document = json.loads(differ.stdout)
    assert_valid_output(document, "time-reconcile.schema.json")
    (difference,) = document["differences"]
    assert (difference["problem"], difference["intervention"]) == ("hours", changed)
    assert (difference["ledger_minutes"], difference["remote_minutes"]) == (60, 75)
    assert (document["ledger_minutes"], document["remote_minutes"]) == (90, 105)

"""Time spent on GitLab issues, against the local GitLab (`FakeGitLab`), through the real
`tma time sync` and `tma time reconcile`. GitLab REST keeps only each issue's total: every
write is a note with a `/spend` quick action and the delivery line, so a lost answer is found
before anything is spent twice; edits and deletes spend the difference; reconcile compares
the totals per issue with the ledger's (all months)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from check_schema import assert_valid_output
from time_ledger import Agency
from tma_gitlab.testing.fake import FakeGitLab

from tma_agent.testing.fake_api import Failure

NOTES = r"/api/v4/projects/agency%2Fmaintenance/issues/\d+/notes"


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab(page_size=2)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _agency(tmp_path: Path, gitlab: FakeGitLab) -> Agency:
    tickets = {"backend": "gitlab", "url": gitlab.url, "token": gitlab.token,
               "project": gitlab.project.path}  # fmt: skip
    return Agency(tmp_path, tickets, timeout=1.5)


def _total(gitlab: FakeGitLab, iid: str) -> int:
    return int(gitlab.project.issues[int(iid)]["time_stats"]["total_time_spent"])


def _posts(gitlab: FakeGitLab) -> int:
    return sum(1 for r in gitlab.requests if r.method == "POST" and r.path.endswith("/notes"))


def test_time_is_spent_once_per_intervention_and_edits_spend_the_difference(
    tmp_path: Path, gitlab: FakeGitLab
) -> None:
    agency = _agency(tmp_path, gitlab)
    iid = str(gitlab.add_issue("Updates")["iid"])
    first = agency.log(90, request_id=agency.request(iid))
    second = agency.log(30, request_id=agency.request(iid))
    nowhere = agency.log(15, site="intranet")
    for _ in range(2):
        done = agency.tma("time", "sync")
        assert done.returncode == 0, done.stderr
    assert _total(gitlab, iid) == 120 * 60
    assert agency.intervention(first).time_entry_ref == f"{iid}/90"
    assert agency.outbox()[2] == ("time_create", "done", "no ticket to log on")
    assert agency.intervention(nowhere).time_entry_ref is None
    notes = [n["body"] for n in gitlab.project.notes[int(iid)] if not n["system"]]
    assert notes[0].startswith("Security update of drupal/core — tma-time: time_create:")
    assert all("/spend" not in n for n in notes)  # the quick action ran and left the note

    agency.edit(first, 60)
    agency.delete(second)
    for _ in range(2):
        assert agency.tma("time", "sync").returncode == 0
    assert _total(gitlab, iid) == 60 * 60
    assert agency.intervention(first).time_entry_ref == f"{iid}/60"
    assert _posts(gitlab) == 4


def test_a_lost_answer_is_found_by_its_note_not_spent_twice(
    tmp_path: Path, gitlab: FakeGitLab
) -> None:
    agency = _agency(tmp_path, gitlab)
    iid = str(gitlab.add_issue("Updates")["iid"])
    for minutes in (45, 15, 60):
        agency.log(minutes, request_id=agency.request(iid))
    gitlab.fail("POST", NOTES, Failure(apply=True, hang=3.0))
    lost = agency.tma("time", "sync")
    assert lost.returncode == 3 and "0 time entry write(s) sent; 3 queued" in lost.stdout
    assert _total(gitlab, iid) == 45 * 60  # it was applied; the agent never heard
    assert agency.tma("time", "sync").returncode == 0
    assert _total(gitlab, iid) == 120 * 60
    assert agency.outbox()[0][2] == "found by delivery id"
    assert _posts(gitlab) == 3
    assert [state for _, state, _ in agency.outbox()] == ["done"] * 3


def test_a_lost_edit_is_not_spent_twice(tmp_path: Path, gitlab: FakeGitLab) -> None:
    agency = _agency(tmp_path, gitlab)
    iid = str(gitlab.add_issue("Updates")["iid"])
    kept = agency.log(60, request_id=agency.request(iid))
    assert agency.tma("time", "sync").returncode == 0
    agency.edit(kept, 100)
    gitlab.fail("POST", NOTES, Failure(apply=True, hang=3.0))
    assert agency.tma("time", "sync").returncode == 3
    assert agency.tma("time", "sync").returncode == 0
    assert _total(gitlab, iid) == 100 * 60
    assert agency.outbox()[1][2] == "delivered before"
    assert agency.intervention(kept).time_entry_ref == f"{iid}/100"


def test_reconcile_compares_totals_per_issue(tmp_path: Path, gitlab: FakeGitLab) -> None:
    agency = _agency(tmp_path, gitlab)
    one = str(gitlab.add_issue("Updates www")["iid"])
    two = str(gitlab.add_issue("Updates intranet")["iid"])
    agency.log(60, request_id=agency.request(one))
    agency.log(30, request_id=agency.request(two, site="intranet"))
    assert agency.tma("time", "sync").returncode == 0
    same = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert same.returncode == 0, same.stdout
    assert json.loads(same.stdout)["remote_minutes"] == 90
    gitlab.project.issues[int(two)]["time_stats"]["total_time_spent"] += 15 * 60  # by hand
    differ = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert differ.returncode == 1
    document = json.loads(differ.stdout)
    assert_valid_output(document, "time-reconcile.schema.json")
    (difference,) = document["differences"]
    assert (difference["problem"], difference["ticket"]) == ("extra", two)
    assert (difference["ledger_minutes"], difference["remote_minutes"]) == (30, 45)
    assert (document["ledger_minutes"], document["remote_minutes"]) == (90, 105)

"""Time entries in the real Redmine the suite starts: one entry per intervention (hours,
activity, date, comment, user), an update and a delete that reach Redmine once, a Redmine
answering 503, a refused write parked until `tma requests retry`, a SIGKILL of the real
`tma time sync` while Redmine's answer to the create is held, and `tma time reconcile`."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from check_schema import assert_valid_output
from time_ledger import DAY, Agency
from tma_redmine.testing import tickets_block

from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.fixtures_redmine import RedmineProject
from tma_agent.testing.proxy import LosingProxy, Rule
from tma_agent.testing.redmine import Redmine

KEY_ENV = "TMA_TEST_REDMINE_KEY"
ACTIVITIES = {"preventive": "Design", "corrective": "Development"}


@pytest.fixture(autouse=True)
def _key_env(redmine: Redmine) -> Iterator[None]:
    os.environ[KEY_ENV] = redmine.api_key
    yield
    os.environ.pop(KEY_ENV, None)


def _tickets(redmine: Redmine, project: RedmineProject, **keys: Any) -> dict[str, Any]:
    keys.setdefault("activities", ACTIVITIES)
    return tickets_block(redmine, project.identifier, api_key_env=KEY_ENV, **keys)


def _issue(redmine: Redmine, project: RedmineProject) -> str:
    body = {"issue": {"project_id": project.id, "subject": "Updates", "tracker_id": 1}}
    body["issue"]["tracker_id"] = redmine.trackers["Support"]
    with redmine.client() as client:
        answer = client.post("/issues.json", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["issue"]["id"])


def entries(redmine: Redmine, project: RedmineProject) -> list[dict[str, Any]]:
    with redmine.client() as client:
        answer = client.get(
            "/time_entries.json", params={"project_id": project.identifier, "limit": 100}
        )
    answer.raise_for_status()
    return sorted(answer.json()["time_entries"], key=lambda e: e["id"])


def _user(redmine: Redmine, project: RedmineProject) -> tuple[str, int]:
    login = f"jdev{uuid.uuid4().hex[:8]}"
    user = {
        "login": login,
        "firstname": "Jane",
        "lastname": "Dev",
        "mail": f"{login}@example.org",
        "password": uuid.uuid4().hex,
    }
    with redmine.client() as admin:
        made = admin.post("/users.json", json={"user": user}).raise_for_status()
        roles = {r["name"]: r["id"] for r in admin.get("/roles.json").json()["roles"]}
        user_id = made.json()["user"]["id"]
        body = {"membership": {"user_id": user_id, "role_ids": [roles["Developer"]]}}
        admin.post(f"/projects/{project.identifier}/memberships.json", json=body)
    return login, int(user_id)


def test_each_intervention_is_one_entry_with_its_hours_activity_date_and_user(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject, database_url: str
) -> None:
    login, user_id = _user(redmine, redmine_project)
    agency = Agency(
        tmp_path, _tickets(redmine, redmine_project, users={"Jane Dev": login}), database_url
    )
    issue = _issue(redmine, redmine_project)
    on_ticket = agency.log(90, kind="corrective", request_id=agency.request(issue))
    # 20 minutes is 0.333… h: sent as 0:20, read back to the minute.
    by_jane = agency.log(20, kind="preventive", actor="Jane Dev", request_id=agency.request(issue))
    on_project = agency.log(45, site="intranet", kind="preventive", description="Backups checked")
    first = agency.tma("time", "sync")
    assert first.returncode == 0, first.stderr
    assert "3 time entry write(s) sent; 0 queued, 0 parked" in first.stdout
    again = agency.tma("time", "sync")
    assert again.returncode == 0 and "0 time entry write(s) sent" in again.stdout

    made = entries(redmine, redmine_project)
    assert len(made) == 3
    by_ref = {str(e["id"]): e for e in made}
    one, jane, project = (
        by_ref[str(agency.intervention(i).time_entry_ref)] for i in (on_ticket, by_jane, on_project)
    )
    assert round(one["hours"] * 60) == 90 and one["activity"]["name"] == "Development"
    assert one["issue"]["id"] == int(issue) and one["spent_on"] == DAY.isoformat()
    assert (
        one["comments"] == f"Security update of drupal/core — tma-time: time_create:{on_ticket}:0"
    )
    assert round(jane["hours"] * 60) == 20 and jane["activity"]["name"] == "Design"
    assert jane["user"]["id"] == user_id
    assert "issue" not in project and project["project"]["id"] == redmine_project.id
    assert round(project["hours"] * 60) == 45
    assert agency.intervention(on_project).time_entry_backend == "redmine"
    assert [state for _, state, _ in agency.outbox()] == ["done"] * 3


def test_an_edit_and_a_delete_reach_redmine_once(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    agency = Agency(tmp_path, _tickets(redmine, redmine_project))
    issue = _issue(redmine, redmine_project)
    kept = agency.log(60, request_id=agency.request(issue))
    gone = agency.log(30, request_id=agency.request(issue))
    assert agency.tma("time", "sync").returncode == 0
    ref = agency.intervention(kept).time_entry_ref
    agency.edit(kept, 75)
    agency.delete(gone)
    for _ in range(2):
        assert agency.tma("time", "sync").returncode == 0
    (left,) = entries(redmine, redmine_project)
    assert str(left["id"]) == ref and round(left["hours"] * 60) == 75
    assert left["comments"].endswith(f"tma-time: time_update:{kept}:1")
    assert agency.intervention(gone).time_entry_ref is None
    assert [(op, state) for op, state, _ in agency.outbox()] == [
        ("time_create", "done"),
        ("time_create", "done"),
        ("time_update", "done"),
        ("time_delete", "done"),
    ]


def test_a_redmine_answering_503_leaves_them_queued_and_the_next_sync_logs_once(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with LosingProxy(redmine.url) as proxy:
        down = proxy.add(Rule("POST", "/time_entries.json", "unavailable", times=1))
        agency = Agency(tmp_path, _tickets(redmine, redmine_project, url=proxy.url))
        issue = _issue(redmine, redmine_project)
        first = agency.log(60, request_id=agency.request(issue))
        second = agency.log(15, request_id=agency.request(issue))
        failed = agency.tma("time", "sync")
        assert failed.returncode == 3, failed.stderr
        assert down.reached.is_set() and "HTTP 503" in failed.stderr
        assert "0 time entry write(s) sent; 2 queued, 0 parked" in failed.stdout
        assert entries(redmine, redmine_project) == []
        assert agency.tma("time", "sync").returncode == 0
        assert agency.tma("time", "sync").returncode == 0
    made = entries(redmine, redmine_project)
    assert sorted(round(e["hours"] * 60) for e in made) == [15, 60]
    refs = {agency.intervention(i).time_entry_ref for i in (first, second)}
    assert refs == {str(e["id"]) for e in made}


def test_a_refused_entry_is_parked_until_requests_retry(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    wrong = {"corrective": "No such activity"}
    agency = Agency(tmp_path, _tickets(redmine, redmine_project, activities=wrong))
    check = agency.tma("tickets", "check")
    assert check.returncode == 2
    assert "time entry activity 'No such activity' (tickets.activities.corrective)" in check.stdout
    agency.log(60, request_id=agency.request(_issue(redmine, redmine_project)))
    parked = agency.tma("time", "sync")
    assert parked.returncode == 3 and "0 queued, 1 parked" in parked.stdout
    assert "'No such activity' (tickets.activities) is not a Redmine activity" in parked.stderr
    assert agency.tma("time", "sync").returncode == 3  # parked: not sent again by itself
    agency.write(_tickets(redmine, redmine_project))
    retried = agency.tma("requests", "retry")
    assert retried.returncode == 0, retried.stderr
    (made,) = entries(redmine, redmine_project)
    assert made["activity"]["name"] == "Development"


def test_sigkill_while_redmine_holds_the_answer_logs_nothing_twice(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with LosingProxy(redmine.url) as proxy:
        held = proxy.add(Rule("POST", "/time_entries.json", "hold"))
        agency = Agency(tmp_path, _tickets(redmine, redmine_project, url=proxy.url))
        issue = _issue(redmine, redmine_project)
        first = agency.log(60, request_id=agency.request(issue))
        second = agency.log(30, site="intranet")
        with background_tma("time", "sync", config=agency.config_path) as sync:
            try:
                # Redmine has created the entry; its answer is held: the agent has not
                # recorded it.
                assert held.reached.wait(timeout=120), "the sync never sent its create"
                assert len(entries(redmine, redmine_project)) == 1
                sigkill(sync)
            finally:
                held.release.set()
        assert agency.outbox()[0][1] == "sent" and agency.intervention(first).time_entry_ref is None
        for _ in range(2):
            done = agency.tma("time", "sync")
            assert done.returncode == 0, done.stderr
    made = entries(redmine, redmine_project)
    assert len(made) == 2  # one each: the held create was found by its delivery id
    assert {agency.intervention(i).time_entry_ref for i in (first, second)} == {
        str(e["id"]) for e in made
    }
    assert agency.outbox()[0][2] == "found by delivery id"


def test_reconcile_lists_every_difference_with_redmine(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    agency = Agency(tmp_path, _tickets(redmine, redmine_project))
    issue = _issue(redmine, redmine_project)
    request = agency.request(issue)
    same = agency.log(60, request_id=request)
    changed = agency.log(45, request_id=request)
    removed = agency.log(30, site="intranet")
    assert agency.tma("time", "sync").returncode == 0
    agreed = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert agreed.returncode == 0, agreed.stderr
    document = json.loads(agreed.stdout)
    assert_valid_output(document, "time-reconcile.schema.json")
    assert document["differences"] == [] and document["ledger_minutes"] == 135
    assert document["remote_minutes"] == 135

    # People change Redmine by hand: an entry's hours, one deleted, one added on the ticket.
    with redmine.client() as client:
        ref = agency.intervention(changed).time_entry_ref
        body = {"time_entry": {"hours": "1:00"}}
        assert client.put(f"/time_entries/{ref}.json", json=body).status_code == 204
        gone = agency.intervention(removed).time_entry_ref
        assert client.delete(f"/time_entries/{gone}.json").status_code == 204
        extra = {"time_entry": {"issue_id": int(issue), "hours": "0:10", "spent_on": "2026-11-20"}}
        added = client.post("/time_entries.json", json=extra)
        assert added.status_code == 201, added.text
    found = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "json")
    assert found.returncode == 1, found.stderr
    document = json.loads(found.stdout)
    assert_valid_output(document, "time-reconcile.schema.json")
    problems = {
        (d["problem"], d["intervention"], d["ledger_minutes"], d["remote_minutes"])
        for d in document["differences"]
    }
    assert problems == {
        ("hours", changed, 45, 60),
        ("missing", removed, 30, 0),
        ("extra", None, 0, 10),
    }
    assert same not in {d["intervention"] for d in document["differences"]}
    assert document["ledger_minutes"] == 135 and document["remote_minutes"] == 60 + 60 + 10
    table = agency.tma("time", "reconcile", "--month", "2026-11", "--format", "table")
    assert table.returncode == 1 and "3 difference(s)" in table.stdout
    assert agency.tma("time", "reconcile", "--month", "2026-12").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2026-13"), "--month '2026-13': expected YYYY-MM"),
        (("--month", "nov"), "--month 'nov': expected YYYY-MM"),
        (("--month", "2026-11", "--client", "nobody"), "--client 'nobody': no such client"),
    ],
)
def test_reconcile_bad_input_is_one_line_exit_2(
    tmp_path: Path, redmine: Redmine, redmine_project: RedmineProject, args: Any, message: str
) -> None:
    agency = Agency(tmp_path, _tickets(redmine, redmine_project))
    done = agency.tma("time", "reconcile", *args)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1

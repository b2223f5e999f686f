"""`tma run` against the real Redmine the suite starts: the whole flow (requests opened once,
updated with a note, validated and rejected by people in Redmine and read back, closed when
every target is reached), and a SIGKILL of the real `tma run` between "Redmine created the
issue" and "the agent recorded it" that duplicates nothing (a proxy holds Redmine's answer)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from run_fleet import CORE_NEWER, Fleet, actions
from run_fleet import fleet as fleet  # the fixture
from tma_drupal.testing.trees import build_drupal10
from tma_redmine.testing import tickets_block

from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.fixtures_redmine import RedmineProject
from tma_agent.testing.proxy import LosingProxy, Rule
from tma_agent.testing.redmine import Redmine

KEY_ENV = "TMA_TEST_REDMINE_KEY"


@pytest.fixture(autouse=True)
def _key_env(redmine: Redmine) -> None:
    os.environ[KEY_ENV] = redmine.api_key
    yield
    os.environ.pop(KEY_ENV, None)


def _use_redmine(fleet: Fleet, redmine: Redmine, project: RedmineProject, **keys: Any) -> None:
    fleet.write(tickets=tickets_block(redmine, project.identifier, api_key_env=KEY_ENV, **keys))


def issues(redmine: Redmine, project: RedmineProject) -> dict[str, dict[str, Any]]:
    """The project's issues (open and closed) by fingerprint custom field."""
    with redmine.client() as client:
        answer = client.get(
            "/issues.json", params={"project_id": project.id, "status_id": "*", "limit": 100}
        )
    answer.raise_for_status()
    found = {}
    for issue in answer.json()["issues"]:
        fields = {f["id"]: f.get("value") for f in issue.get("custom_fields", [])}
        found[fields[redmine.fingerprint_field_id]] = issue
    return found


def notes(redmine: Redmine, issue_id: int) -> list[str]:
    with redmine.client() as client:
        answer = client.get(f"/issues/{issue_id}.json", params={"include": "journals"})
    return [j["notes"] for j in answer.json()["issue"]["journals"] if j.get("notes")]


def set_status(redmine: Redmine, issue_id: int, status: str) -> None:
    """What a person does in Redmine's issue form."""
    body = {"issue": {"status_id": redmine.statuses[status]}}
    with redmine.client() as client:
        assert client.put(f"/issues/{issue_id}.json", json=body).status_code == 204


def test_the_whole_flow_against_the_real_redmine(
    fleet: Fleet, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    _use_redmine(fleet, redmine, redmine_project)
    check = fleet.tma("tickets", "check")
    assert check.returncode == 0 and "(redmine): ready" in check.stdout, check.stdout
    first = fleet.run()
    assert actions(first) == {"tma:www:site": "created", "tma:intranet:site": "created"}
    fleet.run()
    made = issues(redmine, redmine_project)
    assert set(made) == {"tma:www:site", "tma:intranet:site"}
    www, intranet = made["tma:www:site"], made["tma:intranet:site"]
    assert www["tracker"]["name"] == "Support" and www["priority"]["name"] == "High"
    assert www["estimated_hours"] == 2.0
    assert www["description"].rstrip().endswith("tma-fingerprint: tma:www:site")
    assert {r["fingerprint"]: r["ticket"] for r in first["requests"]} == {
        "tma:www:site": str(www["id"]),
        "tma:intranet:site": str(intranet["id"]),
    }

    fleet.feeds(CORE_NEWER)
    assert actions(fleet.run()) == {"tma:www:site": "updated", "tma:intranet:site": "updated"}
    assert actions(fleet.run()) == {"tma:www:site": "unchanged", "tma:intranet:site": "unchanged"}
    (note,) = notes(redmine, www["id"])
    assert "`drupal`: target 10.3.1 → 10.3.2" in note

    set_status(redmine, www["id"], "Validated")
    set_status(redmine, intranet["id"], "Rejected")
    sync = fleet.tma("requests", "sync")
    assert sync.returncode == 0 and "2 request(s) changed" in sync.stdout, sync.stderr
    validated = fleet.show("tma:www:site")
    assert [v["source"] for v in validated["validations"]] == ["redmine"]
    assert validated["ticket_status"] == "Validated"
    assert fleet.show("tma:intranet:site")["state"] == "rejected"

    build_drupal10(
        fleet.sites["www"], core="10.3.2", modules={"pathauto": "8.x-1.13", "token": "8.x-1.13"}
    )
    closed = fleet.run()
    assert actions(closed) == {"tma:www:site": "closed", "tma:intranet:site": "unchanged"}
    after = issues(redmine, redmine_project)
    assert after["tma:www:site"]["status"]["name"] == "Closed"
    assert "Every target of this request was reached" in notes(redmine, www["id"])[-1]
    assert len(after) == 2


def test_sigkill_between_sent_and_recorded_does_not_duplicate(
    fleet: Fleet, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with LosingProxy(redmine.url) as proxy:
        held = proxy.add(Rule("POST", "/issues.json", "hold"))
        _use_redmine(fleet, redmine, redmine_project, url=proxy.url)
        # The run waits on the held answer until it is killed, however long a loaded Redmine
        # takes to create the issue (the fleet's 5 s HTTP deadline would let it move on).
        fleet.write(http={"timeout": 120, "retries": 1})
        with background_tma("run", "--format", "json", config=fleet.config) as run:
            try:
                # Redmine has created the issue; its answer is held: the agent has not
                # recorded it.
                assert held.reached.wait(timeout=120), "the run never sent its create"
                sigkill(run)
                assert len(issues(redmine, redmine_project)) == 1
            finally:
                held.release.set()
        fleet.write(http={"timeout": 5, "retries": 1})
        queued = fleet.requests("--queued")
        assert len(queued) == 2 and all(r["ticket"] is None for r in queued)
        for _ in range(2):
            fleet.run()
        made = issues(redmine, redmine_project)
        assert set(made) == {"tma:www:site", "tma:intranet:site"}  # one each, no duplicate
        assert {r["fingerprint"]: r["ticket"] for r in fleet.requests()} == {
            fp: str(issue["id"]) for fp, issue in made.items()
        }
        assert all(r["outbox"] is None for r in fleet.requests())

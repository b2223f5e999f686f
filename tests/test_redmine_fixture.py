"""The `redmine` fixture is a faithful Redmine 5.0: its REST answers have the documented shapes,
including the gotchas the ticket backend must live with (unfiltered custom fields, anonymous reads).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tma_agent.testing.fixtures_redmine import RedmineProject
from tma_agent.testing.redmine import Redmine, RedmineServer, RedmineUnavailable


def _create_issue(
    client: httpx.Client, redmine: Redmine, project: RedmineProject, subject: str, fingerprint: str
) -> dict[str, Any]:
    body = {
        "issue": {
            "project_id": project.id,
            "tracker_id": redmine.trackers["Support"],
            "subject": subject,
            "description": f"Updates for the site.\n\ntma-fingerprint: {fingerprint}",
            "priority_id": redmine.priorities["High"],
            "estimated_hours": 4.5,
            "custom_fields": [
                {"id": redmine.fingerprint_field_id, "value": fingerprint},
                {"id": redmine.unfiltered_field_id, "value": "same note"},
            ],
        }
    }
    answer = client.post("/issues.json", json=body)
    assert answer.status_code == 201, answer.text
    issue: dict[str, Any] = answer.json()["issue"]
    return issue


def _search(client: httpx.Client, **params: object) -> dict[str, Any]:
    answer = client.get("/issues.json", params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_an_issue_is_created_with_its_estimate_and_found_by_its_fingerprint(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with redmine.client() as client:
        issue = _create_issue(client, redmine, redmine_project, "Drupal updates", "site-a")
        _create_issue(client, redmine, redmine_project, "Drupal updates", "site-b")
        found = _search(
            client,
            project_id=redmine_project.identifier,
            status_id="open",
            **{f"cf_{redmine.fingerprint_field_id}": "site-a"},
        )

    assert issue["project"] == {"id": redmine_project.id, "name": redmine_project.identifier}
    assert issue["tracker"]["id"] == redmine.trackers["Support"]
    assert issue["status"] == {"id": redmine.statuses["New"], "name": "New", "is_closed": False}
    assert issue["estimated_hours"] == 4.5
    assert {"id": redmine.fingerprint_field_id, "name": "TMA fingerprint", "value": "site-a"} in (
        issue["custom_fields"]
    )
    assert set(found) == {"issues", "total_count", "offset", "limit"}
    assert (found["total_count"], found["offset"]) == (1, 0)
    assert [hit["id"] for hit in found["issues"]] == [issue["id"]]


def test_a_field_not_used_as_filter_is_silently_ignored_by_the_query(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with redmine.client() as client:
        for fingerprint in ("site-a", "site-b"):
            _create_issue(client, redmine, redmine_project, "Updates", fingerprint)
        ignored = _search(
            client,
            project_id=redmine_project.id,
            **{f"cf_{redmine.unfiltered_field_id}": "a value no issue has"},
        )
        filtered = _search(
            client,
            project_id=redmine_project.id,
            **{f"cf_{redmine.fingerprint_field_id}": "a value no issue has"},
        )

    # No error, no empty answer: every issue of the project, as if the filter were not there.
    assert ignored["total_count"] == 2
    assert filtered["total_count"] == 0


def test_status_validated_and_a_note_are_recorded_in_the_journal(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    validated = redmine.statuses["Validated"]
    with redmine.client() as client:
        issue = _create_issue(client, redmine, redmine_project, "Updates", "site-a")
        update = {"issue": {"status_id": validated, "notes": "Validated by the client."}}
        answer = client.put(f"/issues/{issue['id']}.json", json=update)
        shown = client.get(f"/issues/{issue['id']}.json", params={"include": "journals"})
        by_status = _search(client, project_id=redmine_project.id, status_id=validated)

    assert (answer.status_code, answer.content) == (204, b"")
    after = shown.json()["issue"]
    assert after["status"] == {"id": validated, "name": "Validated", "is_closed": False}
    (journal,) = after["journals"]
    assert journal["notes"] == "Validated by the client."
    assert journal["user"]["name"] == "Redmine Admin"
    assert {
        "property": "attr",
        "name": "status_id",
        "old_value": str(redmine.statuses["New"]),
        "new_value": str(validated),
    } in journal["details"]
    assert [hit["id"] for hit in by_status["issues"]] == [issue["id"]]


def test_a_closed_issue_is_found_by_its_fingerprint_only_with_status_star(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    fingerprint = {f"cf_{redmine.fingerprint_field_id}": "site-a"}
    with redmine.client() as client:
        issue = _create_issue(client, redmine, redmine_project, "Updates", "site-a")
        closing = {"issue": {"status_id": redmine.statuses["Closed"]}}
        assert client.put(f"/issues/{issue['id']}.json", json=closing).status_code == 204
        default = _search(client, project_id=redmine_project.id, **fingerprint)
        every = _search(client, project_id=redmine_project.id, status_id="*", **fingerprint)

    # Without status_id the query means "open": a closed request would look lost.
    assert default["total_count"] == 0
    assert [(hit["id"], hit["status"]["is_closed"]) for hit in every["issues"]] == [
        (issue["id"], True)
    ]


def test_the_fields_filter_flag_and_the_description_marker_are_visible_through_rest(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with redmine.client() as client:
        issue = _create_issue(client, redmine, redmine_project, "Updates", "site-a")
        _create_issue(client, redmine, redmine_project, "Updates", "site-b")
        fields = client.get("/custom_fields.json").json()["custom_fields"]
        search = client.get(
            f"/projects/{redmine_project.identifier}/search.json",
            params={"q": "tma-fingerprint: site-a", "issues": 1, "all_words": 1},
        ).json()

    by_id = {field["id"]: field for field in fields}
    fingerprint = by_id[redmine.fingerprint_field_id]
    assert (fingerprint["name"], fingerprint["field_format"]) == ("TMA fingerprint", "string")
    assert (fingerprint["is_filter"], by_id[redmine.unfiltered_field_id]["is_filter"]) == (
        True,
        False,
    )
    assert {"id": redmine.trackers["Support"], "name": "Support"} in fingerprint["trackers"]
    # The marker line is a second way to find a request: Redmine's own full-text search.
    assert [hit["id"] for hit in search["results"]] == [issue["id"]]
    assert search["results"][0]["type"] == "issue"


def test_a_time_entry_without_activity_gets_the_default_one(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    today = datetime.date.today().isoformat()
    with redmine.client() as client:
        issue = _create_issue(client, redmine, redmine_project, "Updates", "site-a")
        entry = {"issue_id": issue["id"], "hours": 1.5, "spent_on": today, "comments": "Applied"}
        answer = client.post("/time_entries.json", json={"time_entry": entry})
        shown = client.get(f"/issues/{issue['id']}.json").json()["issue"]

    assert answer.status_code == 201, answer.text
    created = answer.json()["time_entry"]
    assert created["activity"]["id"] == redmine.default_activity_id
    assert (created["hours"], created["spent_on"], created["issue"]) == (
        1.5,
        today,
        {"id": issue["id"]},
    )
    assert shown["spent_hours"] == 1.5


def test_a_wrong_key_is_refused_with_401_but_reads_fall_back_to_anonymous(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with redmine.client() as admin:
        _create_issue(admin, redmine, redmine_project, "Updates", "site-a")
    body = {"issue": {"project_id": redmine_project.id, "subject": "x"}}
    with redmine.client(api_key="0" * 40) as stranger:
        me = stranger.get("/users/current.json")
        create = stranger.post("/issues.json", json=body)
        private = stranger.get("/issues.json", params={"project_id": redmine_project.id})
        everything = stranger.get("/issues.json")

    assert (me.status_code, create.status_code, private.status_code) == (401, 401, 401)
    # An unknown key on an open read is no error: it reads as anonymous, who sees no private
    # project's issues. Only /users/current.json proves a key.
    assert everything.status_code == 200
    assert everything.json()["total_count"] == 0


def test_a_bad_payload_is_refused_with_422_and_its_errors(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    bad = {"project_id": redmine_project.id, "subject": "", "estimated_hours": "lots"}
    with redmine.client() as client:
        answer = client.post("/issues.json", json={"issue": bad})
        issues = _search(client, project_id=redmine_project.id)

    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert "Subject cannot be blank" in errors
    assert "Estimated time is invalid" in errors
    assert issues["total_count"] == 0


def test_a_second_server_starts_from_the_snapshot_with_none_of_the_first_ones_data(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    with RedmineServer() as second, second.client() as client:
        projects = client.get("/projects.json").json()

    assert second.started_from == "snapshot"
    assert second.url != redmine.url
    assert (second.api_key, second.fingerprint_field_id) == (
        redmine.api_key,
        redmine.fingerprint_field_id,
    )
    assert redmine_project.identifier not in [p["identifier"] for p in projects["projects"]]
    assert projects["total_count"] == 0


def test_an_unusable_snapshot_cache_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    server = RedmineServer(cache=blocker / "redmine" / "snapshot")

    with pytest.raises(RedmineUnavailable, match=r"snapshot cache: .*a-file"):
        server.start()
    server.stop()
    assert not server.dir.exists()

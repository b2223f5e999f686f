"""The `gitlab` ticket backend against a stateful local GitLab (tma_gitlab.testing.FakeGitLab)
speaking REST v4: every protocol method, paging, and every class of error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tma_gitlab.backend import GitLabBackend
from tma_gitlab.settings import GitLabSettings
from tma_gitlab.testing import FakeGitLab

from tma_agent.config import load_config
from tma_agent.errors import ConfigError
from tma_agent.plugin_settings import typed_settings
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.fake_api import Failure
from tma_agent.tickets import TicketDraft, TicketRefused, TicketUnavailable, marker_line
from tma_agent.tickets.forge.wire import fingerprint_label
from tma_agent.tickets.registry import (
    build_backend,
    meaning_of,
    registered_ticket_backends,
    ticket_config_problems,
    ticket_target,
)

Make = Callable[..., GitLabBackend]
ISSUES = r"/api/v4/projects/agency%2Fmaintenance/issues"


def draft(fingerprint: str = "site-a", **fields: object) -> TicketDraft:
    values: dict[str, object] = {
        "fingerprint": fingerprint,
        "title": f"Updates for {fingerprint}",
        "description": f"Drupal 10.1 → 10.2\n\n{marker_line(fingerprint)}",
        "site": fingerprint,
        "client": "acme",
        "kind": "preventive",
        "priority": "high",
        "estimate_minutes": 150,
        "labels": ("preventive", "security"),
    }
    values.update(fields)
    return TicketDraft(**values)  # type: ignore[arg-type]


def test_registered_through_the_entry_point() -> None:
    info = registered_ticket_backends(get_plugin_manager())["gitlab"]
    assert info.settings_model is GitLabSettings
    assert info.reads_validations


def test_create_sets_title_description_labels_and_estimate(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    ticket = gitlab_backend().create(draft(previous_ref="3"))
    issue = fake_gitlab.project.issues[int(ticket.ref)]
    assert ticket.status == "opened"
    assert ticket.url == f"{fake_gitlab.url}/agency/maintenance/-/issues/{ticket.ref}"
    assert issue["title"] == "Updates for site-a"
    assert issue["description"].endswith("\n" + marker_line("site-a"))
    assert "**Priority:** high" in issue["description"] and "Follows #3." in issue["description"]
    assert set(issue["labels"]) == {"tma", "preventive", "security", fingerprint_label("site-a")}
    assert issue["time_stats"]["time_estimate"] == 150 * 60
    # The path is URL-encoded, the token is a header and never in a URL.
    paths = [r.path for r in fake_gitlab.requests]
    assert f"/api/v4/projects/agency%2Fmaintenance/issues/{ticket.ref}/time_estimate" in paths
    assert all(fake_gitlab.token not in r.path + r.query for r in fake_gitlab.requests)


def test_a_numeric_project_id_works(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    ticket = gitlab_backend(project="7", url=f"{fake_gitlab.url}/api/v4/").create(draft())
    assert fake_gitlab.requests[0].path == "/api/v4/projects/7/issues"
    assert ticket.ref == "1"


def test_the_fingerprint_label_is_short_and_stable() -> None:
    label = fingerprint_label("client/site:security")
    assert label == fingerprint_label("client/site:security") != fingerprint_label("other")
    assert label.startswith("tma-fp:") and len(label) == 23


def test_find_open_and_closed_by_label(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    backend = gitlab_backend()
    fake_gitlab.add_issue("unrelated", labels=["tma"])
    ref = backend.create(draft()).ref
    found = backend.find("site-a")
    assert found is not None and found.ref == ref and found.status == "opened"
    backend.close(ref, "Every target reached.", "d-close")
    closed = backend.find("site-a")
    assert closed is not None and closed.ref == ref and closed.status == "closed"
    assert closed.changed_by == "tma-bot"
    assert backend.find("site-b") is None


def test_find_prefers_the_newest_ticket_of_a_fingerprint(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    backend = gitlab_backend()
    first = backend.create(draft()).ref
    backend.close(first, "done", "d1")
    second = backend.create(draft(previous_ref=first)).ref
    found = backend.find("site-a")
    assert found is not None and found.ref == second != first


def test_find_falls_back_to_the_marker_line(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    backend = gitlab_backend()
    # Mentions the fingerprint, but not as the marker line: not the ticket.
    fake_gitlab.add_issue("decoy", description=f"see {marker_line('site-a')}x elsewhere")
    ref = backend.create(draft()).ref
    fake_gitlab.set_labels(int(ref), ["tma"])  # someone removed the fingerprint label
    found = backend.find("site-a")
    assert found is not None and found.ref == ref
    assert any("search=" in r.query and "in=description" in r.query for r in fake_gitlab.requests)


def test_a_failed_estimate_leaves_the_issue_and_update_converges(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    backend = gitlab_backend()
    fake_gitlab.fail("POST", rf"{ISSUES}/\d+/time_estimate", Failure(status=503))
    ticket = backend.create(draft())
    issue = fake_gitlab.project.issues[int(ticket.ref)]
    assert issue["time_stats"]["time_estimate"] == 0
    backend.update(ticket.ref, draft(), None, "d1")
    assert issue["time_stats"]["time_estimate"] == 150 * 60
    estimates = fake_gitlab.hits[f"{ISSUES}/{ticket.ref}/time_estimate"]
    backend.update(ticket.ref, draft(title="New title"), None, "d2")
    assert issue["title"] == "New title"
    # The estimate was already right: no second write.
    assert fake_gitlab.hits[f"{ISSUES}/{ticket.ref}/time_estimate"] == estimates


def test_update_keeps_peoples_labels_and_notes_once(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    backend = gitlab_backend()
    ref = backend.create(draft()).ref
    fake_gitlab.set_labels(int(ref), ["tma", "tma::validated", "client-priority"])
    backend.update(ref, draft(estimate_minutes=240), "A newer target: 10.3.", "d-42")
    issue = fake_gitlab.project.issues[int(ref)]
    assert {"tma::validated", "client-priority", fingerprint_label("site-a")} <= set(
        issue["labels"]
    )
    assert issue["time_stats"]["time_estimate"] == 240 * 60
    notes = fake_gitlab.project.notes[int(ref)]
    assert len(notes) == 1 and notes[0]["body"].startswith("A newer target: 10.3.")
    assert "<!-- tma-delivery: d-42 -->" in notes[0]["body"]
    assert backend.delivered(ref, "d-42")
    assert not backend.delivered(ref, "d-43")


def test_a_note_whose_answer_was_lost_is_delivered(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    backend = gitlab_backend(timeout=1.0)
    ref = backend.create(draft()).ref
    fake_gitlab.fail("POST", rf"{ISSUES}/{ref}/notes", Failure(apply=True, hang=3.0))
    with pytest.raises(TicketUnavailable, match=r"gitlab http://127\.0\.0\.1"):
        backend.update(ref, draft(), "note", "d-lost")
    assert len(fake_gitlab.project.notes[int(ref)]) == 1  # the write was applied
    assert backend.delivered(ref, "d-lost")


def test_delivered_reads_every_page_of_notes(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    fake_gitlab.page_size = 2
    backend = gitlab_backend()
    ref = backend.create(draft()).ref
    for index in range(5):
        backend.update(ref, draft(), f"note {index}", f"d{index}")
    assert backend.delivered(ref, "d4")
    assert fake_gitlab.hits[f"{ISSUES}/{ref}/notes"] >= 5 + 3  # 5 writes, 3 pages read


def test_close_closes_then_notes(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    backend = gitlab_backend()
    ref = backend.create(draft()).ref
    backend.close(ref, "Every target reached.", "d-close")
    issue = fake_gitlab.project.issues[int(ref)]
    notes = fake_gitlab.project.notes[int(ref)]
    assert issue["state"] == "closed"
    assert notes[-1]["body"].startswith("Every target reached.") and not notes[-1]["system"]
    assert backend.delivered(ref, "d-close")
    backend.close(ref, "Every target reached.", "d-close-again")  # closing twice is harmless
    assert issue["state"] == "closed"


def test_fetch_pages_maps_labels_and_leaves_out_missing(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    fake_gitlab.page_size = 2
    backend = gitlab_backend()
    refs = [backend.create(draft(f"site-{n}")).ref for n in range(5)]
    fake_gitlab.set_labels(int(refs[1]), ["tma::validated"])
    fake_gitlab.set_labels(int(refs[2]), ["tma::rejected"])
    backend.close(refs[3], "done", "d")
    before = fake_gitlab.hits[ISSUES]
    tickets = backend.fetch([*refs, "99"])
    assert list(tickets) == refs
    assert [t.status for t in tickets.values()] == [
        "opened",
        "tma::validated",
        "tma::rejected",
        "closed",
        "opened",
    ]
    assert fake_gitlab.hits[ISSUES] - before == 3  # 5 issues, 2 a page
    info = registered_ticket_backends(get_plugin_manager())["gitlab"]
    meanings = [
        meaning_of(t.status, backend.settings.statuses, info.default_statuses)
        for t in tickets.values()
    ]
    assert meanings == ["open", "validated", "rejected", "closed", "open"]
    # Who validated or rejected: the person who added the label.
    assert [t.changed_by for t in tickets.values()] == [
        None,
        "client-pm",
        "client-pm",
        "tma-bot",
        None,
    ]


def test_renamed_labels_mean_validated_and_rejected(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    backend = gitlab_backend(validated_label="Client OK", rejected_label="Client no")
    ref = backend.create(draft()).ref
    fake_gitlab.set_labels(int(ref), ["Client OK"])
    status = backend.fetch([ref])[ref].status
    assert status == "Client OK"
    assert meaning_of(status, backend.settings.statuses, {}) == "validated"
    assert meaning_of("Client no", backend.settings.statuses, {}) == "rejected"


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (Failure(status=403, body='{"message":"403 Forbidden"}'), 403),
        (Failure(status=404, body='{"message":"404 Project Not Found"}'), 404),
        (Failure(status=422, body='{"message":{"title":["is invalid"]}}'), 422),
    ],
)
def test_permanent_refusals(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, failure: Failure, status: int
) -> None:
    fake_gitlab.fail("POST", ISSUES, failure)
    with pytest.raises(TicketRefused) as caught:
        gitlab_backend().create(draft())
    assert caught.value.status == status
    assert str(caught.value).startswith(f"gitlab {fake_gitlab.url}{ISSUES}: HTTP {status}")


def test_wrong_token_is_refused_without_the_token(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    with pytest.raises(TicketRefused) as caught:
        gitlab_backend(token="glpat-wrong-secret").find("site-a")
    message = str(caught.value)
    assert caught.value.status == 401 and "401 Unauthorized" in message
    assert message.startswith(f"gitlab {fake_gitlab.url}{ISSUES}") and "glpat" not in message
    assert "\n" not in message


def test_real_refusals_of_the_fake(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    with pytest.raises(TicketRefused, match=r"HTTP 404: \{\"message\":\"404 Project Not Found"):
        gitlab_backend(project="agency/nope").create(draft())
    with pytest.raises(TicketRefused, match=r"HTTP 400.*title"):
        gitlab_backend().create(draft(title="x" * 300))
    fake_gitlab.project.issues_enabled = False
    with pytest.raises(TicketRefused, match="HTTP 403"):
        gitlab_backend().create(draft())
    with pytest.raises(TicketRefused, match="not an issue iid"):
        gitlab_backend().update("abc", draft(), None, "d")


@pytest.mark.parametrize(
    "failure",
    [
        Failure(status=429, body="Retry later", headers={"Retry-After": "60"}),
        Failure(status=500, body='{"message":"500 Internal Server Error"}'),
        Failure(status=503),
        Failure(hang=3.0),
        Failure(garbage=True),
        Failure(status=201, body="{}"),
        Failure(status=201, body="[1, 2]"),
        Failure(status=201, body=b"[" + b" " * (9 * 1024 * 1024) + b"]"),
    ],
    ids=["429", "500", "503", "timeout", "garbage", "no-iid", "not-an-object", "huge"],
)
def test_transient_failures_of_a_create(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, failure: Failure
) -> None:
    fake_gitlab.fail("POST", ISSUES, failure)
    with pytest.raises(TicketUnavailable) as caught:
        gitlab_backend(timeout=1.0).create(draft())
    assert str(caught.value).startswith(f"gitlab {fake_gitlab.url}{ISSUES}: ")
    assert not fake_gitlab.project.issues


def test_a_lost_create_is_found_by_fingerprint(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    backend = gitlab_backend(timeout=1.0)
    fake_gitlab.fail("POST", ISSUES, Failure(apply=True, hang=3.0))
    with pytest.raises(TicketUnavailable):
        backend.create(draft())
    found = backend.find("site-a")
    assert found is not None and list(fake_gitlab.project.issues) == [int(found.ref)]


def test_reads_retry_then_give_up(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    backend = gitlab_backend()
    fake_gitlab.fail("GET", ISSUES, Failure(status=502), times=1)
    assert backend.find("site-a") is None  # the retry answered
    fake_gitlab.fail("GET", ISSUES, Failure(status=502), times=5)
    with pytest.raises(TicketUnavailable, match="HTTP 502"):
        backend.find("site-a")


def test_a_next_page_on_another_server_is_not_followed(
    fake_gitlab: FakeGitLab, gitlab_backend: Make
) -> None:
    other = '<http://127.0.0.2:1/api/v4/projects/7/issues?page=2>; rel="next"'
    fake_gitlab.fail("GET", ISSUES, Failure(status=200, body="[]", headers={"Link": other}))
    with pytest.raises(TicketUnavailable, match="another server"):
        gitlab_backend().fetch(["1"])


def test_check_a_good_setup(gitlab_backend: Make) -> None:
    assert gitlab_backend().check() == []


def test_check_broken_setups(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    [line] = gitlab_backend(token="glpat-wrong-secret").check()
    assert "/api/v4/user: HTTP 401" in line and "tickets.token" in line
    [line] = gitlab_backend(project="agency/nope").check()
    assert "404 Project Not Found" in line and "'agency/nope' does not exist" in line
    fake_gitlab.project.issues_enabled = False
    fake_gitlab.project.access_level = 10
    del fake_gitlab.project.labels["tma::rejected"]
    lines = gitlab_backend().check()
    assert len(lines) == 3
    assert "issues are disabled" in lines[0]
    assert "access level 10" in lines[1] and "Reporter" in lines[1]
    assert "create the label 'tma::rejected'" in lines[2]
    fake_gitlab.fail("GET", "/api/v4/user", Failure(status=503), times=5)
    with pytest.raises(TicketUnavailable):
        gitlab_backend().check()


def test_the_fake_speaks_gitlabs_pagination_headers(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.page_size = 2
    for n in range(3):
        fake_gitlab.add_issue(f"issue {n}")
    answer = httpx.get(
        f"{fake_gitlab.url}{ISSUES}",
        params={"per_page": 100},
        headers={"PRIVATE-TOKEN": fake_gitlab.token},
    )
    assert [i["iid"] for i in answer.json()] == [3, 2]
    assert answer.headers["x-next-page"] == "2" and answer.headers["x-total-pages"] == "2"
    assert 'rel="next"' in answer.headers["link"] and answer.headers["x-total"] == "3"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"project": "not a project"}, "tickets.project: must be a numeric project id"),
        ({"labels": ["a,b"]}, "without a comma"),
        ({"token": None}, "tickets.token"),
        ({"tracker": "Bug"}, "tickets.tracker: unknown key"),
    ],
)
def test_settings_are_checked(keys: dict[str, object], message: str) -> None:
    raw = {"backend": "gitlab", "token": "t", "project": "agency/maintenance", **keys}
    with pytest.raises(ConfigError, match=message):
        typed_settings(GitLabSettings, raw, "tickets")


def test_a_config_file_builds_the_backend(
    fake_gitlab: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMA_TEST_GITLAB_TOKEN", fake_gitlab.token)
    tickets = {
        "backend": "gitlab",
        "url": fake_gitlab.url,
        "token": {"$env": "TMA_TEST_GITLAB_TOKEN"},
        "project": "agency/maintenance",
    }
    config = {
        "state_dir": str(tmp_path / "state"),
        "tickets": tickets,
        "clients": [
            {"id": "acme", "name": "ACME"},
            {"id": "beta", "name": "Beta", "tickets": {"tracker": "Bug"}},
        ],
        "sites": [],
    }
    path = tmp_path / "tma.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    loaded = load_config(path)
    backends = registered_ticket_backends(get_plugin_manager())
    [problem] = ticket_config_problems(loaded, backends)
    assert problem.startswith("tma.yaml:") and "clients[1].tickets.tracker: unknown key" in problem
    info, backend = build_backend(loaded, ticket_target(loaded, "acme"), backends)
    try:
        assert info.name == "gitlab" and isinstance(backend, GitLabBackend)
        assert backend.create(draft()).ref == "1"
    finally:
        backend.close_connection()

"""The Redmine ticket backend against the real Redmine the suite starts: every protocol method,
the setups `tma tickets check` must diagnose, and every way the server can say no."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tma_redmine import RedmineBackend, RedmineSettings
from tma_redmine.reading import PAGE
from tma_redmine.testing import (
    CountingTransport,
    draft,
    member_key,
    redmine_backend,
    tickets_block,
)

from tma_agent._secrets import mask
from tma_agent.config import load_config
from tma_agent.http_settings import HTTPSettings
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.testing.fixtures_redmine import RedmineProject
from tma_agent.testing.redmine import Redmine
from tma_agent.tickets import (
    BackendContext,
    TicketFile,
    TicketRefused,
    TicketUnavailable,
    marker_line,
)
from tma_agent.tickets.registry import (
    build_backend,
    registered_ticket_backends,
    ticket_config_problems,
    ticket_target,
)


def _issue(redmine: Redmine, ref: str, **params: str) -> dict[str, Any]:
    with redmine.client() as client:
        answer = client.get(f"/issues/{ref}.json", params=params)
    assert answer.status_code == 200, answer.text
    issue: dict[str, Any] = answer.json()["issue"]
    return issue


def _field(issue: dict[str, Any], field_id: int) -> object:
    return next(f["value"] for f in issue["custom_fields"] if f["id"] == field_id)


def _new_project(redmine: Redmine, identifier: str | None = None, **extra: Any) -> str:
    identifier = identifier or f"t-{uuid.uuid4().hex[:12]}"
    # Private, like the fixture's: the server is shared, and anonymous reads must see nothing.
    body = {"project": {"name": identifier, "identifier": identifier, "is_public": False, **extra}}
    with redmine.client() as client:
        assert client.post("/projects.json", json=body).status_code == 201
    return identifier


def test_the_plugin_registers_the_redmine_backend_with_its_settings() -> None:
    info = registered_ticket_backends(get_plugin_manager())["redmine"]
    assert info.settings_model is RedmineSettings
    assert info.default_statuses["validated"] == ["Validated"]
    with pytest.raises(ValueError, match="trackers"):
        RedmineSettings.model_validate(
            {"url": "http://x", "api_key": "k", "project": "p", "trackers": "Bug"}
        )
    for project in ("{name}", "Maintenance", "acme/{site}"):
        with pytest.raises(ValueError, match=r"\{client\} and \{site\}"):
            RedmineSettings.model_validate({"url": "http://x", "api_key": "k", "project": project})
    assert RedmineSettings.model_validate(
        {"url": "http://x/", "api_key": "k", "project": "maint-{client}_{site}"}
    ).model_dump(include={"url", "tracker", "close_status"}) == {
        "url": "http://x",
        "tracker": "Support",
        "close_status": "Closed",
    }


def test_create_sets_every_field_and_find_returns_it_by_the_custom_field(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    transport = CountingTransport()
    backend = redmine_backend(redmine, redmine_project.identifier, transport=transport)
    created = backend.create(draft("acme/www", estimate_minutes=100))
    other = backend.create(draft("acme/www-2"))
    transport.requests.clear()
    found = backend.find("acme/www")
    backend.close_connection()

    issue = _issue(redmine, created.ref)
    assert found == created
    assert (created.status, created.url) == ("New", f"{redmine.url}/issues/{created.ref}")
    assert other.ref != created.ref
    assert issue["project"]["id"] == redmine_project.id
    assert issue["tracker"]["name"] == "Support"
    assert issue["priority"]["name"] == "High"
    assert issue["subject"] == "Security updates for www.example.com"
    # Redmine stores the description with CRLF line ends: the marker is compared by lines.
    assert issue["description"].splitlines()[-2:] == ["", "tma-fingerprint: acme/www"]
    # 1:40 in Redmine's own notation: exactly 100 minutes, not a rounded decimal.
    assert round(issue["estimated_hours"] * 60, 6) == 100
    assert _field(issue, redmine.fingerprint_field_id) == "acme/www"
    # Found by the field alone: no second (marker) query when the field filters.
    assert [path for _, path in transport.requests if path.startswith("/issues.json")] == [
        transport.requests[-1][1]
    ]


def test_find_falls_back_to_the_marker_line_when_the_field_does_not_filter(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(
        redmine, redmine_project.identifier, fingerprint_field="TMA unfiltered note"
    )
    longer = backend.create(draft("acme/www-staging"))
    created = backend.create(draft("acme/www"))

    assert backend.find("acme/www") == created  # not the one whose marker merely contains it
    assert backend.find("acme/www-staging") == longer
    assert backend.find("acme/ww") is None
    assert _field(_issue(redmine, created.ref), redmine.unfiltered_field_id) == "acme/www"


def test_find_sees_an_issue_that_has_only_the_marker_line(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    # Opened before the field existed, or by hand: the description is the only key.
    body = {
        "issue": {
            "project_id": redmine_project.id,
            "subject": "By hand",
            "description": f"Updates.\n\n{marker_line('acme|www')}\n",
        }
    }
    with redmine.client() as client:
        issue_id = client.post("/issues.json", json=body).json()["issue"]["id"]
    backend = redmine_backend(redmine, redmine_project.identifier)

    found = backend.find("acme|www")
    assert found is not None and found.ref == str(issue_id)
    assert backend.find("acme") is None


def test_find_sees_a_closed_issue_and_close_sets_the_status_with_a_note(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(redmine, redmine_project.identifier)
    created = backend.create(draft("acme/www"))
    backend.close(created.ref, "Every target is reached.", "close-1")

    found = backend.find("acme/www")
    issue = _issue(redmine, created.ref, include="journals")
    assert found is not None and (found.ref, found.status) == (created.ref, "Closed")
    assert issue["status"] == {
        "id": redmine.statuses["Closed"],
        "name": "Closed",
        "is_closed": True,
    }
    notes = [j["notes"] for j in issue["journals"] if j["notes"]]
    assert notes == ["Every target is reached.\n\ntma-delivery: close-1"]
    assert backend.delivered(created.ref, "close-1") is True


def test_update_brings_the_fields_and_adds_the_note_once_with_its_delivery_id(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(redmine, redmine_project.identifier)
    created = backend.create(draft("acme/www"))
    assert backend.delivered(created.ref, "upd-1") is False

    newer = draft("acme/www", title="Updates (new target)", priority="urgent", estimate_minutes=150)
    backend.update(created.ref, newer, "A newer target: 10.1.9.", "upd-1")
    backend.update(created.ref, newer, None, "upd-2")  # fields only: no note, no marker

    issue = _issue(redmine, created.ref, include="journals")
    notes = [j["notes"] for j in issue["journals"] if j["notes"]]
    assert notes == ["A newer target: 10.1.9.\n\ntma-delivery: upd-1"]
    assert backend.delivered(created.ref, "upd-1") is True
    assert backend.delivered(created.ref, "upd-2") is False
    assert backend.delivered(created.ref, "upd-") is False  # a line, not a prefix
    assert (issue["subject"], issue["priority"]["name"]) == ("Updates (new target)", "Urgent")
    assert issue["estimated_hours"] == 2.5
    assert issue["status"]["name"] == "New"


def test_attach_uploads_each_file_and_puts_them_on_one_note(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    assert registered_ticket_backends(get_plugin_manager())["redmine"].attaches is True
    transport = CountingTransport()
    backend = redmine_backend(redmine, redmine_project.identifier, transport=transport)
    created = backend.create(draft("acme/www"))
    files = [
        TicketFile("écran accueil 1.png", "image/png", b"\x89PNG" + bytes(range(256)), "before: /"),
        TicketFile("diff&more.txt", "text/plain", b"a\r\nb\x00c", "changes: /?a=1&b=2"),
    ]
    transport.requests.clear()
    backend.attach(created.ref, files, "Applied in staging.", "apply:acme/www:7")
    with pytest.raises(TicketRefused, match="not a Redmine issue number"):
        backend.attach("7/../../users", files, "x", "k")  # refused before any upload

    methods = [(method, path.split("?")[0]) for method, path in transport.requests]
    assert methods == [
        ("POST", "/uploads.json"),
        ("POST", "/uploads.json"),
        ("PUT", f"/issues/{created.ref}.json"),
    ]
    issue = _issue(redmine, created.ref, include="attachments,journals")
    shown = {a["filename"]: a for a in issue["attachments"]}
    assert set(shown) == {f.filename for f in files}
    with redmine.client() as client:
        for file in files:
            attached = shown[file.filename]
            assert (attached["filesize"], attached["content_type"]) == (
                len(file.content),
                file.media_type,
            )
            assert attached["description"] == file.label
            assert client.get(attached["content_url"]).content == file.content
    (journal,) = [j for j in issue["journals"] if j["notes"]]
    assert journal["notes"].splitlines() == [
        "Applied in staging.",
        "",
        "Attachments:",
        "",
        "- **before: /**: `écran accueil 1.png` (260 B)",
        "- **changes: /?a=1&b=2**: `diff&more.txt` (6 B)",
        "",
        "tma-delivery: apply:acme/www:7",
    ]
    assert backend.delivered(created.ref, "apply:acme/www:7") is True
    backend.close_connection()


def test_fetch_reads_many_tickets_in_one_request_and_who_validated(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    transport = CountingTransport()
    backend = redmine_backend(redmine, redmine_project.identifier, transport=transport)
    refs = [backend.create(draft(f"acme/site-{n}")).ref for n in range(3)]
    with redmine.client() as client:
        validated = {"issue": {"status_id": redmine.statuses["Validated"], "notes": "OK"}}
        assert client.put(f"/issues/{refs[1]}.json", json=validated).status_code == 204
    backend.close(refs[2], "Done.", "c")
    transport.requests.clear()

    tickets = backend.fetch([*refs, "999999", "not-a-number"])

    assert sorted(tickets) == sorted(refs)
    assert [tickets[ref].status for ref in refs] == ["New", "Validated", "Closed"]
    assert [tickets[ref].changed_by for ref in refs] == [None, "Redmine Admin", None]
    lists = [path for _, path in transport.requests if path.startswith("/issues.json")]
    assert len(lists) == 1 and "status_id=%2A" in lists[0]
    # Only the validated ticket costs a read of its journals.
    assert [path for _, path in transport.requests if not path.startswith("/issues.json")] == [
        f"/issues/{refs[1]}.json?include=journals"
    ]


def test_a_project_per_client_and_site_is_filled_from_the_draft(redmine: Redmine) -> None:
    client = f"c{uuid.uuid4().hex[:8]}"
    identifier = _new_project(redmine, identifier=f"{client}-shop-example-com")
    backend = redmine_backend(redmine, "{client}-{site}")
    created = backend.create(draft("x/shop", client=client.upper(), site="Shop.Example.com"))

    assert _issue(redmine, created.ref)["project"]["name"] == identifier
    assert backend.find("x/shop") == created  # searched across projects: no draft to fill it
    assert backend.check() == []


def test_a_follow_up_ticket_relates_to_the_one_it_follows(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(redmine, redmine_project.identifier)
    old = backend.create(draft("acme/www"))
    new = backend.create(draft("acme/www#2", previous_ref=old.ref))

    relations = _issue(redmine, new.ref, include="relations")["relations"]
    # Redmine stores a `relates` pair lower id first, whichever side asked.
    assert [({r["issue_id"], r["issue_to_id"]}, r["relation_type"]) for r in relations] == [
        ({int(new.ref), int(old.ref)}, "relates")
    ]


def test_check_is_empty_on_a_well_set_project(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(redmine, redmine_project.identifier)
    backend.create(draft("acme/www"))
    assert backend.check() == []


def test_check_and_create_refuse_a_tracker_the_project_does_not_enable(redmine: Redmine) -> None:
    project = _new_project(redmine, tracker_ids=[redmine.trackers["Bug"]])
    backend = redmine_backend(redmine, project)

    problems = backend.check()
    with pytest.raises(TicketRefused, match="tracker 'Support' is not enabled") as refused:
        backend.create(draft("acme/www"))

    assert problems == [
        f"tracker 'Support' is not enabled in project {project!r}: tick it in the project's "
        "Settings » Issue tracking"
    ]
    assert refused.value.reason in problems[0]
    with redmine.client() as client:  # Redmine would have filed it as a Bug: nothing was sent
        assert client.get("/issues.json", params={"project_id": project}).json()["total_count"] == 0


def test_check_names_every_status_priority_tracker_and_field_that_is_missing(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(
        redmine,
        redmine_project.identifier,
        tracker="Maintenance",
        close_status="Validated",
        statuses={"validated": ["Approved"], "rejected": ["Rejected"], "closed": ["Done"]},
        priorities={"urgent": "Critical"},
        fingerprint_field="Fingerprint",
    )
    problems = backend.check()

    assert problems[0] == (
        "tracker 'Maintenance' does not exist: create it in Administration » Trackers (or set "
        "tickets.tracker to one of: Bug, Feature, Support)"
    )
    assert "status 'Approved' (tickets.statuses.validated) does not exist" in problems[1]
    assert "status 'Done' (tickets.statuses.closed) does not exist" in problems[2]
    assert problems[3].startswith("status 'Validated' (tickets.close_status) is not a closed")
    assert problems[4].startswith("priority 'Critical' (tickets.priorities.urgent) does not exist")
    assert problems[5] == (
        "custom field 'Fingerprint' (tickets.fingerprint_field) does not exist: create a custom "
        "field of format String named 'Fingerprint' for Issues in Administration » Custom fields, "
        "tick 'Used as a filter', enable it for tracker 'Maintenance' and project "
        f"{redmine_project.identifier!r}"
    )
    assert len(problems) == 6


def test_check_proves_that_a_field_not_used_as_filter_is_ignored(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    backend = redmine_backend(
        redmine, redmine_project.identifier, fingerprint_field="TMA unfiltered note"
    )
    backend.create(draft("acme/www"))
    backend.create(draft("acme/shop"))

    (problem,) = backend.check()
    assert problem.startswith(
        f"custom field 'TMA unfiltered note' (id {redmine.unfiltered_field_id}) is not 'Used as a "
        f"filter': Redmine ignores cf_{redmine.unfiltered_field_id}= in issue queries (a query "
        f"cf_{redmine.unfiltered_field_id}=<a value no issue has> answered all 2 issues)"
    )
    assert problem.endswith(
        "tick 'Used as a filter' in Administration » Custom fields » TMA unfiltered note"
    )


def test_a_wrong_key_is_refused_naming_redmine_and_the_url_never_the_key(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    key = "f" * 40
    backend = redmine_backend(redmine, redmine_project.identifier, api_key=key)

    (problem,) = backend.check()
    with pytest.raises(TicketRefused) as create:
        backend.create(draft("acme/www"))
    with pytest.raises(TicketRefused) as update:
        backend.update("1", draft("acme/www"), "note", "d")

    assert "the API key is refused (GET /users/current.json answers HTTP 401)" in problem
    for error in (create.value, update.value):
        assert error.status == 401
        assert str(error).startswith(f"redmine {redmine.url}/")
        assert key not in str(error) and "\n" not in str(error)


def test_an_unknown_project_and_a_422_are_refused_with_redmines_reasons(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    missing = redmine_backend(redmine, "no-such-project")
    with pytest.raises(TicketRefused, match="project 'no-such-project' does not exist") as unknown:
        missing.create(draft("acme/www"))
    assert unknown.value.status == 404
    assert any("project 'no-such-project' does not exist" in line for line in missing.check())

    backend = redmine_backend(redmine, redmine_project.identifier)
    with pytest.raises(TicketRefused) as blank:
        backend.create(draft("acme/www", title=""))
    assert blank.value.status == 422
    assert (
        str(blank.value) == f"redmine {redmine.url}/issues.json: refused: Subject cannot be blank"
    )
    created = backend.create(draft("acme/www"))
    with pytest.raises(TicketRefused, match="refused: Subject cannot be blank"):
        backend.update(created.ref, draft("acme/www", title=""), None, "d")
    with pytest.raises(TicketRefused, match=r"issue #999999 does not exist .*\(HTTP 404\)"):
        backend.update("999999", draft("acme/www"), "note", "d")


def test_a_stopped_redmine_is_unavailable(redmine: Redmine) -> None:
    with socket.socket() as sock:  # a port that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    backend = redmine_backend(redmine, "p", url=url, timeout=5)
    for call in (lambda: backend.find("x"), lambda: backend.create(draft("x")), backend.check):
        with pytest.raises(TicketUnavailable) as down:
            call()
        assert str(down.value).startswith(f"redmine {url}/")
        assert "\n" not in str(down.value)


_LOOKUPS = {
    "/trackers.json": Reply('{"trackers": [{"id": 3, "name": "Support"}]}'),
    "/enumerations/issue_priorities.json": Reply(
        '{"issue_priorities": [{"id": 3, "name": "High"}]}'
    ),
    "/custom_fields.json": Reply('{"custom_fields": []}'),
    "/projects/p.json": Reply('{"project": {"id": 1, "trackers": [{"id": 3, "name": "Support"}]}}'),
}


@pytest.mark.parametrize(
    ("method", "reply", "reason"),
    [
        ("find", Reply("<html>Service Unavailable</html>", status=503), "HTTP 503"),
        ("create", Reply("<html>Service Unavailable</html>", status=503), "HTTP 503"),
        ("find", Reply("{not json"), "not JSON"),
        ("find", Reply('{"issues": "many"}'), "no list of objects 'issues'"),
        (
            "find",
            Reply('{"issues": [{"id": "1", "description": "tma-fingerprint: x"}]}'),
            "no integer 'id'",
        ),
        ("create", Reply('{"issue": {"id": true}}', status=201), "no integer 'id'"),
        ("create", Reply("", status=201), "no object 'issue'"),
        ("fetch", Reply('{"issues": [{"id": 1, "status": null}]}'), "no object 'status'"),
        ("find", Reply(b"x" * (9 * 1024 * 1024)), "too large"),
        ("find", Reply('{"issues": []}', delay=3), "no answer within 1.5 s"),
        ("create", Reply('{"issue": {"id": 1}}', status=201, delay=3), "no answer within 1.5 s"),
    ],
)
def test_hostile_answers_are_unavailable_in_one_line(
    method: str, reply: Reply, reason: str
) -> None:
    key = "k" * 40
    with FeedServer() as server:
        server.routes.update({**_LOOKUPS, "/issues.json": reply})
        backend = _backend_at(server.url, key)
        with pytest.raises(TicketUnavailable) as bad:
            if method == "create":
                backend.create(draft("x"))
            elif method == "fetch":
                backend.fetch(["1"])
            else:
                backend.find("x")
        backend.close_connection()
    assert reason in str(bad.value)
    assert str(bad.value).startswith(f"redmine {server.url}/")
    assert "\n" not in str(bad.value) and key not in str(bad.value)
    if method == "create":  # a write is sent once: the outbox decides whether to send again
        assert server.hits["/issues.json"] == 1


def _backend_at(url: str, key: str) -> RedmineBackend:
    settings = RedmineSettings.model_validate({"url": url, "api_key": key, "project": "p"})
    return RedmineBackend(BackendContext(settings, HTTPSettings(timeout=1.5, retries=2)))


def test_a_non_admin_key_learns_the_field_from_issues_and_check_says_what_it_cannot_see(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    key = member_key(redmine, redmine_project.identifier, "Developer")
    backend = redmine_backend(redmine, redmine_project.identifier, api_key=key)

    (before,) = backend.check()  # an empty project shows no issue to read the field from
    created = backend.create(draft("acme/www"))
    found = redmine_backend(redmine, redmine_project.identifier, api_key=key).find("acme/www")
    after = redmine_backend(redmine, redmine_project.identifier, api_key=key).check()

    assert before.startswith(
        "custom field 'TMA fingerprint' cannot be verified: GET /custom_fields.json needs an "
        "administrator's API key"
    )
    # The first ticket gets its fingerprint in the field too, from the id its answer showed.
    assert _field(_issue(redmine, created.ref), redmine.fingerprint_field_id) == "acme/www"
    assert found == created
    assert after == []


def test_a_role_that_may_not_edit_is_named_and_a_dropped_status_is_refused(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    key = member_key(redmine, redmine_project.identifier, "Reporter")
    backend = redmine_backend(redmine, redmine_project.identifier, api_key=key)
    created = backend.create(draft("acme/www"))

    problems = backend.check()
    with pytest.raises(TicketRefused, match="workflow does not let") as refused:
        backend.close(created.ref, "Every target is reached.", "close-1")

    assert any(
        line.startswith("the API key's user ") and "lacks edit_issues in project" in line
        for line in problems
    )
    assert "from 'New' to 'Closed'" in str(refused.value)
    issue = _issue(redmine, created.ref, include="journals")
    # Redmine answered 204 and kept the status: no note claims the ticket was closed.
    assert issue["status"]["name"] == "New"
    assert [j for j in issue["journals"] if j["notes"]] == []
    assert backend.delivered(created.ref, "close-1") is False


def test_a_create_whose_answer_was_lost_is_found_afterwards(
    redmine: Redmine, redmine_project: RedmineProject
) -> None:
    """A proxy passes every request to the real Redmine but loses the answer of the create:
    Redmine has the issue, the agent sees TicketUnavailable; find() then returns it."""
    with httpx.Client(base_url=redmine.url, timeout=30) as upstream, FeedServer() as proxy:

        def forward(request: Request) -> Reply:
            answer = upstream.request(
                request.method,
                f"{request.path}?{request.query}" if request.query else request.path,
                content=request.body,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            )
            if request.method == "POST" and request.path == "/issues.json":
                return Reply("<html>502 Bad Gateway</html>", status=502)
            return Reply(answer.content, status=answer.status_code)

        for path in (
            "/issues.json",
            "/trackers.json",
            "/custom_fields.json",
            "/enumerations/issue_priorities.json",
            f"/projects/{redmine_project.identifier}.json",
        ):
            proxy.routes[path] = forward
        backend = redmine_backend(redmine, redmine_project.identifier, url=proxy.url)
        with pytest.raises(TicketUnavailable, match="HTTP 502"):
            backend.create(draft("acme/www"))
        found = backend.find("acme/www")

    assert proxy.hits["/issues.json"] == 2  # the create once (never resent), the search once
    assert found is not None and _issue(redmine, found.ref)["subject"].startswith("Security")


def _created_id(client: httpx.Client, body: dict[str, Any]) -> str:
    """Set-up of many issues at once: Redmine's SQLite may answer a busy 5xx on a loaded
    machine; that is retried (it is not what the test is about), anything else fails loudly."""
    for _ in range(5):
        answer = client.post("/issues.json", json=body)
        if answer.status_code == 201:
            return str(answer.json()["issue"]["id"])
        if answer.status_code < 500:
            break
        time.sleep(0.5)
    raise AssertionError(
        f"Redmine refused a set-up issue: {answer.status_code} {answer.text[:300]}"
    )


def test_fetch_pages_a_long_list_of_refs(redmine: Redmine, redmine_project: RedmineProject) -> None:
    body = {"issue": {"project_id": redmine_project.id, "subject": "bulk"}}
    with redmine.client() as client:
        refs = [_created_id(client, body) for _ in range(PAGE + 3)]
    transport = CountingTransport()
    backend = redmine_backend(redmine, redmine_project.identifier, transport=transport)

    tickets = backend.fetch(refs)

    assert sorted(tickets) == sorted(refs) and {t.status for t in tickets.values()} == {"New"}
    assert [method for method, _ in transport.requests] == ["GET", "GET"]  # 100 ids a request


def test_the_testing_block_loads_through_the_config_with_the_key_from_the_environment(
    redmine: Redmine,
    redmine_project: RedmineProject,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TMA_TEST_REDMINE_KEY", redmine.api_key)
    block = tickets_block(redmine, redmine_project.identifier, api_key_env="TMA_TEST_REDMINE_KEY")
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state"), "tickets": block}))
    config = load_config(path)
    backends = registered_ticket_backends(get_plugin_manager())

    assert ticket_config_problems(config, backends) == []
    info, backend = build_backend(config, ticket_target(config, "acme"), backends)
    assert info.name == backend.name == "redmine"
    assert backend.check() == []
    # Read through {$env:}, the key is masked in every message from now on.
    assert redmine.api_key not in mask(f"redmine said no to {redmine.api_key}")
    backend.close_connection()

"""`POST /hooks/gitlab|github|jira` on a real `tma serve`: a client's validation or rejection
made in the ticket system (the GitLab and GitHub fakes speak their REST wire formats) reaches
the ledger at once, read back from the ticket system; a wrong token, a bad signature or a
wrong Jira path token is refused and changes nothing; a Jira Cloud `jira:issue_updated`
delivery naming an unknown issue or claiming a validation Jira does not show changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from run_fleet import Fleet
from run_fleet import fleet as fleet  # the fixture
from tma_github.testing.fake import FakeGitHub
from tma_gitlab.testing.fake import FakeGitLab
from tma_jira.testing.fake import FakeJira

from tma_agent.testing.web import csrf_of, logged_in, served
from tma_agent.web.auth import hash_password

GITLAB_TOKEN = "gitlab-hook-token-0123456789"
GITHUB_SECRET = "github-hook-secret-0123456789"
JIRA_TOKEN = "jira-path-token-0123456789ab"
TOKEN_ENV = "TMA_TEST_TICKETS_TOKEN"


@pytest.fixture(autouse=True)
def _no_token_left() -> Iterator[None]:
    yield
    os.environ.pop(TOKEN_ENV, None)


CLIENT_PASSWORD = "acme-password-0123"


def _configure(fleet: Fleet, backend: str, url: str, token: str, project: str) -> None:
    os.environ[TOKEN_ENV] = token
    user = {
        "name": "acme-cto",
        "password_hash": hash_password(CLIENT_PASSWORD),
        "role": "client",
        "client": "acme",
    }
    fleet.write(
        tickets={"backend": backend, "url": url, "token": {"$env": TOKEN_ENV}, "project": project},
        web={
            "secret_key": "k" * 40,
            "users": [
                user,
                {"name": "alice", "role": "staff", "password_hash": hash_password(CLIENT_PASSWORD)},
            ],
            "webhooks": {
                "gitlab": {"token": GITLAB_TOKEN},
                "github": {"secret": GITHUB_SECRET},
                "jira": {"token": JIRA_TOKEN},
            },
        },
    )


def _validations(fleet: Fleet, fingerprint: str) -> list[tuple[str, str]]:
    return [(v["by"], v["source"]) for v in fleet.show(fingerprint)["validations"]]


def _ticket_ref(fleet: Fleet, fingerprint: str) -> str:
    (row,) = [r for r in fleet.requests() if r["fingerprint"] == fingerprint]
    return str(row["ticket"])


def _ticket(fleet: Fleet, fingerprint: str) -> int:
    return int(_ticket_ref(fleet, fingerprint))


def test_a_gitlab_label_reaches_the_ledger_at_once(fleet: Fleet, fake_gitlab: FakeGitLab) -> None:
    _configure(fleet, "gitlab", fake_gitlab.url, fake_gitlab.token, fake_gitlab.project.path)
    fleet.run()
    www, intranet = _ticket(fleet, "tma:www:site"), _ticket(fleet, "tma:intranet:site")
    issue = fake_gitlab.project.issues[www]
    fake_gitlab.set_labels(www, [*issue["labels"], "tma::validated"], by="jane.client")
    other = fake_gitlab.project.issues[intranet]
    fake_gitlab.set_labels(intranet, [*other["labels"], "tma::rejected"], by="bob")
    event = {"object_kind": "issue", "object_attributes": {"iid": www, "state": "opened"}}
    body = json.dumps(event).encode()
    with served(fleet.config) as url, httpx.Client(base_url=url, timeout=10) as web:
        for headers in ({}, {"X-Gitlab-Token": "wrong-token-0123456789"}):
            refused = web.post("/hooks/gitlab", content=body, headers=headers)
            assert refused.status_code == 401
        assert _validations(fleet, "tma:www:site") == []
        done = web.post("/hooks/gitlab", content=body, headers={"X-Gitlab-Token": GITLAB_TOKEN})
        assert done.status_code == 200, done.text
        assert done.json()["changes"] == [
            {"request": "tma:www:site", "status": "tma::validated", "change": "validated"}
        ]
        assert _validations(fleet, "tma:www:site") == [("jane.client", "gitlab")]
        # Only the ticket the hook named is read back: the rejection waits for its own hook.
        assert fleet.show("tma:intranet:site")["state"] == "estimated"
        event["object_attributes"]["iid"] = intranet  # type: ignore[index]
        web.post("/hooks/gitlab", json=event, headers={"X-Gitlab-Token": GITLAB_TOKEN})
        assert fleet.show("tma:intranet:site")["state"] == "rejected"
        # Jira's hook is configured but no request is in Jira: a wrong path token is refused.
        assert (
            web.post(f"/hooks/jira/{'x' * 28}", json={"issue": {"key": "M-1"}}).status_code == 401
        )
        fine = web.post(f"/hooks/jira/{JIRA_TOKEN}", json={"issue": {"key": "M-1"}})
        assert fine.status_code == 200 and fine.json()["changes"] == []
        log = (fleet.config.parent / "serve.log").read_text()
        assert "POST /hooks/jira/*** HTTP/1.1" in log and JIRA_TOKEN not in log
        too_big = web.post(
            "/hooks/gitlab", content=b"x" * (2 << 20), headers={"X-Gitlab-Token": GITLAB_TOKEN}
        )
        assert too_big.status_code == 413
        chunked = web.post(
            "/hooks/gitlab",
            content=iter([b"x" * (1 << 19)] * 4),
            headers={"X-Gitlab-Token": GITLAB_TOKEN},
        )
        assert chunked.status_code == 413  # no length declared: counted while read


def test_a_github_signature_is_checked_before_anything(
    fleet: Fleet, fake_github: FakeGitHub
) -> None:
    _configure(fleet, "github", fake_github.url, fake_github.token, fake_github.repo)
    fleet.run()
    number = _ticket(fleet, "tma:www:site")
    issue = fake_github.issues[number]
    names = [label["name"] if isinstance(label, dict) else label for label in issue["labels"]]
    fake_github.set_labels(number, [*names, "tma:validated"], by="jane.client")
    body = json.dumps({"action": "labeled", "issue": {"number": number}}).encode()
    good = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    forged = "sha256=" + hmac.new(b"another-secret", body, hashlib.sha256).hexdigest()
    with served(fleet.config) as url, httpx.Client(base_url=url, timeout=10) as web:
        for signature in (None, forged, good.upper(), "sha1=" + good[7:]):
            headers = {"X-GitHub-Event": "issues"}
            if signature:
                headers["X-Hub-Signature-256"] = signature
            assert web.post("/hooks/github", content=body, headers=headers).status_code == 401
        assert _validations(fleet, "tma:www:site") == []
        ping = web.post(
            "/hooks/github",
            content=body,
            headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": good},
        )
        assert ping.status_code == 200 and ping.json()["changes"] == []
        done = web.post(
            "/hooks/github",
            content=body,
            headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": good},
        )
        assert done.status_code == 200, done.text
        assert _validations(fleet, "tma:www:site") == [("jane.client", "github")]
        assert web.get("/hooks/github").status_code == 405


def test_a_portal_validation_is_written_back_to_gitlab(
    fleet: Fleet, fake_gitlab: FakeGitLab
) -> None:
    _configure(fleet, "gitlab", fake_gitlab.url, fake_gitlab.token, fake_gitlab.project.path)
    fleet.run()
    (request,) = [r for r in fleet.requests() if r["fingerprint"] == "tma:www:site"]
    labels_before = list(fake_gitlab.project.issues[int(request["ticket"])]["labels"])
    with served(fleet.config) as url, logged_in(url, "acme-cto", CLIENT_PASSWORD) as web:
        page = web.get(f"/requests/{request['id']}")
        done = web.post(f"/requests/{request['id']}/validate", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        again = web.post(f"/requests/{request['id']}/validate", data={"csrf": csrf_of(page.text)})
        assert again.status_code == 303  # validating twice keeps the first, one note
    assert _validations(fleet, "tma:www:site") == [("acme-cto", "portal")]
    iid = int(request["ticket"])
    notes = [n["body"] for n in fake_gitlab.project.notes[iid] if "client portal" in n["body"]]
    assert len(notes) == 1 and notes[0].startswith("Validated by acme-cto in the client portal")
    assert fake_gitlab.project.issues[iid]["labels"] == labels_before  # fields unchanged
    outbox = fleet.show("tma:www:site")["outbox"]
    assert [o["state"] for o in outbox] == ["done", "done"]


def test_staff_syncs_now_without_a_webhook(fleet: Fleet, fake_gitlab: FakeGitLab) -> None:
    """The "sync now" button: every open request read back (Redmine has no webhooks)."""
    _configure(fleet, "gitlab", fake_gitlab.url, fake_gitlab.token, fake_gitlab.project.path)
    fleet.run()
    iid = _ticket(fleet, "tma:intranet:site")
    issue = fake_gitlab.project.issues[iid]
    fake_gitlab.set_labels(iid, [*issue["labels"], "tma::validated"], by="jane.client")
    # A client's own sync (its client's requests only): tests/test_web_sync.py.
    with served(fleet.config) as url, logged_in(url, "alice", CLIENT_PASSWORD) as staff:
        page = staff.get("/requests")
        assert staff.post("/requests/sync", data={}).status_code == 403
        done = staff.post("/requests/sync", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        shown = staff.get(done.headers["location"])
        assert "1 request(s) changed" in shown.text
    assert _validations(fleet, "tma:intranet:site") == [("jane.client", "gitlab")]


def _jira_issue_updated(fake: FakeJira, key: str, to: str, *, by: str) -> dict[str, Any]:
    """A Jira Cloud `jira:issue_updated` delivery as Jira sends it: the event, who did it, the
    issue (its id, self link, key and fields) and the changelog of the status change."""
    issue = fake.state.issue(key)
    before = issue.status
    account = {
        "self": f"{fake.url}/rest/api/3/user?accountId=id-{by.lower()}",
        "accountId": f"id-{by.lower()}",
        "displayName": by,
        "active": True,
        "timeZone": "Europe/Paris",
        "accountType": "atlassian",
    }
    number = key.rsplit("-", 1)[1]
    return {
        "timestamp": 1764662400000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": account,
        "issue": {
            "id": f"100{number}",
            "self": f"{fake.url}/rest/api/3/issue/100{number}",
            "key": key,
            "fields": {
                "summary": issue.fields["summary"],
                "labels": issue.fields["labels"],
                "status": {"name": to, "id": str(fake.state.statuses.index(to) + 1)},
                "project": {"key": fake.state.project, "id": "10000"},
            },
        },
        "changelog": {
            "id": "10200",
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": str(fake.state.statuses.index(before) + 1),
                    "fromString": before,
                    "to": str(fake.state.statuses.index(to) + 1),
                    "toString": to,
                }
            ],
        },
    }


def test_a_jira_validation_reaches_the_ledger_at_once(fleet: Fleet, fake_jira: FakeJira) -> None:
    """`POST /hooks/jira/<token>` with a Jira Cloud `jira:issue_updated` delivery: what the
    body claims is read back from Jira, never taken from the body."""
    _configure(fleet, "jira", fake_jira.url, fake_jira.token, fake_jira.state.project)
    fleet.write(
        tickets={
            "backend": "jira",
            "url": fake_jira.url,
            "user": fake_jira.email,
            "token": {"$env": TOKEN_ENV},
            "project": fake_jira.state.project,
            "search_lag": 0,
        }
    )
    fleet.run()
    www, intranet = (str(_ticket_ref(fleet, f"tma:{s}:site")) for s in ("www", "intranet"))
    fake_jira.state.move(www, "Validated", by="Jane Client")
    delivery = _jira_issue_updated(fake_jira, www, "Validated", by="Jane")
    # The intranet issue stays open in Jira: a body claiming its validation is a forgery.
    forged = _jira_issue_updated(fake_jira, intranet, "Validated", by="Mallory")
    unknown = _jira_issue_updated(fake_jira, www, "Validated", by="Jane")
    unknown["issue"]["key"] = "TMA-999"
    with served(fleet.config) as url, httpx.Client(base_url=url, timeout=10) as web:
        wrong = web.post(f"/hooks/jira/{JIRA_TOKEN[:-1]}x", json=delivery)
        assert wrong.status_code == 401
        assert _validations(fleet, "tma:www:site") == []
        for body in (unknown, forged):
            nothing = web.post(f"/hooks/jira/{JIRA_TOKEN}", json=body)
            assert nothing.status_code == 200, nothing.text
            assert nothing.json()["changes"] == []
        assert _validations(fleet, "tma:intranet:site") == []
        assert fleet.show("tma:intranet:site")["state"] == "estimated"
        done = web.post(f"/hooks/jira/{JIRA_TOKEN}", json=delivery)
        assert done.status_code == 200, done.text
        assert done.json()["changes"] == [
            {"request": "tma:www:site", "status": "Validated", "change": "validated"}
        ]
        # Recorded with who moved it in Jira (its changelog read back), not who the body names.
        assert _validations(fleet, "tma:www:site") == [("Jane Client", "jira")]
        again = web.post(f"/hooks/jira/{JIRA_TOKEN}", json=delivery)
        assert again.status_code == 200 and again.json()["changes"] == []
    log = (fleet.config.parent / "serve.log").read_text()
    assert "POST /hooks/jira/*** HTTP/1.1" in log
    assert JIRA_TOKEN not in log and JIRA_TOKEN[:-1] not in log

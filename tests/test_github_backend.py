"""The `github` ticket backend against a stateful local GitHub (tma_github.testing.FakeGitHub)
speaking the REST API: every protocol method, pull requests, labels, paging, rate limits and
every class of error."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from tma_github.backend import MAX_BODY, GitHubBackend
from tma_github.settings import GitHubSettings
from tma_github.testing import FakeGitHub, rate_limited

from tma_agent.errors import ConfigError
from tma_agent.plugin_settings import typed_settings
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.fake_api import Failure
from tma_agent.tickets import TicketDraft, TicketRefused, TicketUnavailable, marker_line
from tma_agent.tickets.forge.wire import fingerprint_label
from tma_agent.tickets.registry import meaning_of, registered_ticket_backends

Make = Callable[..., GitHubBackend]
ISSUES = "/repos/agency/maintenance/issues"


def draft(fingerprint: str = "site-a", **fields: object) -> TicketDraft:
    values: dict[str, object] = {
        "fingerprint": fingerprint,
        "title": f"Updates for {fingerprint}",
        "description": f"WordPress 6.4 → 6.5\n\n{marker_line(fingerprint)}",
        "site": fingerprint,
        "client": "acme",
        "kind": "preventive",
        "priority": "urgent",
        "estimate_minutes": 90,
        "labels": ("preventive", "security"),
    }
    values.update(fields)
    return TicketDraft(**values)  # type: ignore[arg-type]


def names(issue: dict[str, object]) -> set[str]:
    return {label["name"] for label in issue["labels"]}  # type: ignore[attr-defined]


def test_registered_through_the_entry_point() -> None:
    info = registered_ticket_backends(get_plugin_manager())["github"]
    assert info.settings_model is GitHubSettings
    assert info.reads_validations


def test_create_sends_the_documented_headers_and_fields(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    ticket = github_backend().create(draft(previous_ref="4"))
    issue = fake_github.issues[int(ticket.ref)]
    assert (ticket.ref, ticket.status) == ("1", "open")
    assert ticket.url == f"{fake_github.url}/agency/maintenance/issues/1"
    assert issue["body"].endswith("\n" + marker_line("site-a"))
    assert "**Priority:** urgent · **Estimate:** 1 h 30 min" in issue["body"]
    assert "Follows #4." in issue["body"]
    assert names(issue) == {"tma", "preventive", "security", fingerprint_label("site-a")}
    sent = {k.lower(): v for k, v in fake_github.requests[0].headers.items()}
    assert sent["accept"] == "application/vnd.github+json"
    assert sent["x-github-api-version"] == "2022-11-28"
    assert sent["authorization"] == f"Bearer {fake_github.token}"


def test_labels_over_50_characters_are_cut(fake_github: FakeGitHub, github_backend: Make) -> None:
    long = "component:" + "x" * 60
    ticket = github_backend().create(draft(labels=(long, "a, b")))
    labels = names(fake_github.issues[int(ticket.ref)])
    assert long[:50] in labels and "a b" in labels
    assert all(len(label) <= 50 for label in labels)


def test_the_fake_refuses_long_labels_as_github_does(fake_github: FakeGitHub) -> None:
    answer = httpx.post(
        f"{fake_github.url}{ISSUES}",
        json={"title": "t", "labels": ["x" * 51]},
        headers={"Authorization": f"Bearer {fake_github.token}"},
    )
    assert answer.status_code == 422
    assert answer.json()["message"] == "Validation Failed"
    assert answer.json()["errors"][0] == {
        "value": "x" * 51,
        "resource": "Label",
        "field": "name",
        "code": "invalid",
    }


def test_an_overlong_body_is_cut_before_the_marker(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    text = "x" * 70000 + "\n\n" + marker_line("site-a")
    ticket = github_backend().create(draft(description=text))
    body = fake_github.issues[int(ticket.ref)]["body"]
    assert len(body) <= MAX_BODY and body.endswith(marker_line("site-a")) and "…(cut)" in body


def test_find_open_and_closed_skipping_pull_requests(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    backend = github_backend()
    label = fingerprint_label("site-a")
    fake_github.add_issue("a PR with the label", labels=[label], pull_request=True)
    ref = backend.create(draft()).ref
    fake_github.add_issue("another PR", labels=[label], pull_request=True)
    found = backend.find("site-a")
    assert found is not None and found.ref == ref == "2"
    backend.close(ref, "Every target reached.", "d-close")
    closed = backend.find("site-a")
    assert closed is not None and closed.ref == ref and closed.status == "closed"
    assert closed.changed_by == "tma-bot"
    assert backend.find("site-b") is None


def test_find_pages_and_prefers_the_newest(fake_github: FakeGitHub, github_backend: Make) -> None:
    fake_github.page_size = 1
    backend = github_backend()
    first = backend.create(draft()).ref
    backend.close(first, "done", "d1")
    second = backend.create(draft(previous_ref=first)).ref
    found = backend.find("site-a")
    assert found is not None and found.ref == second
    assert fake_github.hits[ISSUES] == 2 + 2  # two creates, two pages


def test_find_falls_back_to_the_search_api(fake_github: FakeGitHub, github_backend: Make) -> None:
    backend = github_backend()
    fake_github.add_issue("decoy", body=f"quoting {marker_line('site-a')}x")
    fake_github.add_issue("a PR", body=marker_line("site-a"), pull_request=True)
    ref = backend.create(draft()).ref
    fake_github.set_labels(int(ref), ["tma"])  # someone removed the fingerprint label
    found = backend.find("site-a")
    assert found is not None and found.ref == ref
    [search] = [r for r in fake_github.requests if r.path == "/search/issues"]
    assert "repo%3Aagency%2Fmaintenance" in search.query and "is%3Aissue" in search.query


def test_update_adds_labels_keeps_peoples_and_comments_once(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    backend = github_backend()
    ref = backend.create(draft()).ref
    fake_github.set_labels(int(ref), ["tma", "tma:validated"])
    backend.update(ref, draft(title="Newer", labels=("preventive",)), "A newer target.", "d-7")
    issue = fake_github.issues[int(ref)]
    assert issue["title"] == "Newer"
    assert {"tma:validated", "preventive", fingerprint_label("site-a")} <= names(issue)
    [comment] = fake_github.comments[int(ref)]
    assert comment["body"] == "A newer target.\n\n<!-- tma-delivery: d-7 -->"
    assert backend.delivered(ref, "d-7") and not backend.delivered(ref, "d-8")
    labels_posts = fake_github.hits[f"{ISSUES}/{ref}/labels"]
    backend.update(ref, draft(title="Newer", labels=("preventive",)), None, "d-9")
    assert fake_github.hits[f"{ISSUES}/{ref}/labels"] == labels_posts  # nothing missing
    assert len(fake_github.comments[int(ref)]) == 1


def test_a_comment_whose_answer_was_lost_is_delivered(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    fake_github.page_size = 2
    backend = github_backend(timeout=1.0)
    ref = backend.create(draft()).ref
    for index in range(3):
        backend.update(ref, draft(), f"note {index}", f"d{index}")
    fake_github.fail("POST", rf"{ISSUES}/{ref}/comments", Failure(apply=True, hang=3.0))
    with pytest.raises(TicketUnavailable, match=r"github http://127\.0\.0\.1"):
        backend.close(ref, "Every target reached.", "d-close")
    assert fake_github.issues[int(ref)]["state"] == "closed"
    assert backend.delivered(ref, "d-close")  # found on the second page


def test_close_and_rejection_statuses(fake_github: FakeGitHub, github_backend: Make) -> None:
    backend = github_backend()
    refs = [backend.create(draft(f"site-{n}")).ref for n in range(5)]
    backend.close(refs[0], "done", "d")
    assert fake_github.issues[1]["state_reason"] == "completed"
    fake_github.issues[2].update(state="closed", state_reason="not_planned")
    fake_github.set_labels(3, ["tma:validated"])
    fake_github.set_labels(4, ["tma:rejected"])
    tickets = backend.fetch(refs)
    statuses = [t.status for t in tickets.values()]
    assert statuses == ["closed", "closed:not_planned", "tma:validated", "tma:rejected", "open"]
    info = registered_ticket_backends(get_plugin_manager())["github"]
    meanings = [meaning_of(s, backend.settings.statuses, info.default_statuses) for s in statuses]
    assert meanings == ["closed", "rejected", "validated", "rejected", "open"]
    fake_github.set_labels(3, [], by="someone")
    fake_github.set_labels(3, ["tma:validated"], by="client-cto")
    who = {ref: t.changed_by for ref, t in backend.fetch(refs).items()}
    assert who == {"1": "tma-bot", "2": None, "3": "client-cto", "4": "client-pm", "5": None}


def test_fetch_many_pages_the_label_list_and_leaves_out_missing(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    fake_github.page_size = 3
    backend = github_backend()
    refs = [backend.create(draft(f"site-{n}")).ref for n in range(7)]
    pr = fake_github.add_issue("PR", labels=["tma"], pull_request=True)["number"]
    fake_github.set_labels(int(refs[6]), [])  # no `tma` label any more: read alone
    before = len(fake_github.requests)
    tickets = backend.fetch([*refs, str(pr), "99"])
    assert list(tickets) == refs
    # 7 labelled items (6 issues and the PR), 3 a page: 3 pages; then refs[6], the PR, #99,
    # and the repository (is #99 gone, or the repository?).
    assert len(fake_github.requests) - before == 3 + 3 + 1


def test_fetch_few_reads_them_one_by_one(fake_github: FakeGitHub, github_backend: Make) -> None:
    backend = github_backend()
    ref = backend.create(draft()).ref
    pr = fake_github.add_issue("PR", pull_request=True)["number"]
    assert list(backend.fetch([ref, str(pr), "42"])) == [ref]
    with pytest.raises(TicketRefused, match="HTTP 404"):
        github_backend(project="agency/gone").fetch([ref])


@pytest.mark.parametrize(
    "failure",
    [
        rate_limited(403),
        rate_limited(429),
        Failure(
            status=403,
            headers={"retry-after": "60"},
            body='{"message":"You have exceeded a secondary rate limit."}',
        ),
        Failure(status=500),
        Failure(status=502),
        Failure(hang=3.0),
        Failure(garbage=True),
        Failure(status=201, body='{"title":"no number"}'),
        Failure(status=201, body=b"{" + b" " * (9 * 1024 * 1024) + b"}"),
    ],
    ids=[
        "403-rate",
        "429-rate",
        "403-secondary",
        "500",
        "502",
        "timeout",
        "garbage",
        "no-number",
        "huge",
    ],
)
def test_transient_failures_of_a_create(
    fake_github: FakeGitHub, github_backend: Make, failure: Failure
) -> None:
    fake_github.fail("POST", ISSUES, failure)
    with pytest.raises(TicketUnavailable) as caught:
        github_backend(timeout=1.0).create(draft())
    assert str(caught.value).startswith(f"github {fake_github.url}{ISSUES}: ")
    assert not fake_github.issues


def test_a_rate_limited_read_is_unavailable(fake_github: FakeGitHub, github_backend: Make) -> None:
    fake_github.fail("GET", ISSUES, rate_limited(403))
    with pytest.raises(TicketUnavailable, match="rate limit exceeded"):
        github_backend().find("site-a")


def test_permanent_refusals(fake_github: FakeGitHub, github_backend: Make) -> None:
    with pytest.raises(TicketRefused) as caught:
        github_backend(token="ghp_wrong_secret").create(draft())
    message = str(caught.value)
    assert caught.value.status == 401 and "Bad credentials" in message
    assert message.startswith(f"github {fake_github.url}{ISSUES}: ") and "ghp_" not in message
    with pytest.raises(TicketRefused, match=r"HTTP 404: \{\"message\":\"Not Found\""):
        github_backend(project="agency/nope").create(draft())
    with pytest.raises(TicketRefused, match=r"HTTP 422.*title") as caught:
        github_backend().create(draft(title=""))
    assert caught.value.status == 422
    fake_github.fail(
        "PATCH",
        rf"{ISSUES}/\d+",
        Failure(status=403, body='{"message":"Must have admin rights to Repository."}'),
    )
    backend = github_backend()
    ref = backend.create(draft()).ref
    with pytest.raises(TicketRefused, match=r"HTTP 403: .*admin rights") as caught:
        backend.update(ref, draft(), None, "d")
    assert caught.value.status == 403
    fake_github.has_issues = False
    with pytest.raises(TicketRefused, match="HTTP 410"):
        backend.create(draft())


def test_a_next_page_on_another_server_is_not_followed(
    fake_github: FakeGitHub, github_backend: Make
) -> None:
    link = '<http://127.0.0.2:1/repos/agency/maintenance/issues?page=2>; rel="next"'
    fake_github.fail("GET", ISSUES, Failure(status=200, body="[]", headers={"Link": link}))
    with pytest.raises(TicketUnavailable, match="another server"):
        github_backend().find("site-a")


def test_check_a_good_setup(github_backend: Make) -> None:
    assert github_backend().check() == []


def test_check_broken_setups(fake_github: FakeGitHub, github_backend: Make) -> None:
    [line] = github_backend(token="ghp_wrong_secret").check()
    assert "HTTP 401" in line and "tickets.token" in line and "ghp_" not in line
    [line] = github_backend(project="agency/nope").check()
    assert "HTTP 404" in line and "'agency/nope' does not exist" in line
    fake_github.has_issues = False
    fake_github.permissions = {"pull": True, "triage": False, "push": False, "admin": False}
    del fake_github.labels["tma:validated"]
    lines = github_backend().check()
    assert len(lines) == 3
    assert "issues are disabled" in lines[0]
    assert "Triage" in lines[1]
    assert "create the label 'tma:validated'" in lines[2]
    fake_github.fail("GET", "/repos/agency/maintenance", rate_limited())
    with pytest.raises(TicketUnavailable):
        github_backend().check()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"project": "just-a-name"}, "tickets.project: must be owner/repo"),
        ({"labels": ["x" * 51]}, "1-50 characters"),
        ({"validated_label": "a,b"}, "without a comma"),
        ({"token": None}, "tickets.token"),
    ],
)
def test_settings_are_checked(keys: dict[str, object], message: str) -> None:
    raw = {"backend": "github", "token": "t", "project": "agency/maintenance", **keys}
    with pytest.raises(ConfigError, match=message):
        typed_settings(GitHubSettings, raw, "tickets")

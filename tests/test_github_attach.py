"""`GitHubBackend.attach` against the local GitHub (tma_github.testing.FakeGitHub) through the
real HTTP client: GitHub's REST API uploads no files, so one comment links each file (the
dashboard's URL) or names it (label, name, size, SHA-256), with the delivery comment."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from tma_github.backend import GitHubBackend
from tma_github.testing import FakeGitHub, rate_limited

from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.fake_api import Failure
from tma_agent.testing.forge_fakes import screenshots
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.registry import registered_ticket_backends

Make = Callable[..., GitHubBackend]
COMMENTS = r"/repos/agency/maintenance/issues/1/comments"
DASHBOARD = "https://tma.agency.example/sites/www/applies/12/files"


@pytest.fixture
def issue(fake_github: FakeGitHub) -> str:
    return str(fake_github.add_issue("Updates for www")["number"])


def test_registered_as_attaching() -> None:
    assert registered_ticket_backends(get_plugin_manager())["github"].attaches


def test_one_comment_links_or_names_each_file(
    fake_github: FakeGitHub, github_backend: Make, issue: str
) -> None:
    before, after, diff = screenshots()
    files = [replace(before, url=f"{DASHBOARD}/before.png"), after, diff]
    backend = github_backend()
    backend.attach(issue, files, "Visual check: 0.4 % of pixels changed.", "d-vis")
    assert not [r for r in fake_github.requests if "upload" in r.path]  # nothing uploaded
    [comment] = fake_github.comments[int(issue)]
    body = comment["body"]
    assert body.startswith("Visual check: 0.4 % of pixels changed.")
    assert "linked, not uploaded" in body
    assert (
        f"- **Before**: `before.png` (1.0 KB) [on the dashboard](<{DASHBOARD}/before.png>)" in body
    )
    digest = hashlib.sha256(after.content).hexdigest()
    assert f"- **After**: `after.png` (1.0 KB) sha256 `{digest}`" in body
    assert "- **Changed pixels**: `changes_diff.png`" in body
    assert body.endswith("<!-- tma-delivery: d-vis -->")
    assert backend.delivered(issue, "d-vis") and not backend.delivered(issue, "d-x")


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "https://x.example/a b", "https://x.example/a>)[x](y", "ftp://x/a"],
)
def test_a_link_that_is_not_plain_http_is_not_shown(
    fake_github: FakeGitHub, github_backend: Make, issue: str, url: str
) -> None:
    file = replace(screenshots()[0], url=url)
    github_backend().attach(issue, [file], "Visual check.", "d1")
    body = fake_github.comments[int(issue)][0]["body"]
    assert url not in body and "sha256 `" in body


def test_a_lost_comment_answer_is_delivered_once(
    fake_github: FakeGitHub, github_backend: Make, issue: str
) -> None:
    backend = github_backend(timeout=1.0)
    fake_github.fail("POST", COMMENTS, Failure(apply=True, hang=3.0))
    with pytest.raises(TicketUnavailable, match="no answer within 1 s"):
        backend.attach(issue, screenshots(), "Visual check.", "d-lost")
    assert backend.delivered(issue, "d-lost")
    assert len(fake_github.comments[int(issue)]) == 1


@pytest.mark.parametrize(
    ("failure", "error", "reason"),
    [
        (Failure(status=422, body='{"message":"Validation Failed"}'), TicketRefused, "HTTP 422"),
        (Failure(status=403, body='{"message":"Resource not accessible"}'), TicketRefused, "HTTP 403"),
        (rate_limited(), TicketUnavailable, "rate limit exceeded"),
        (Failure(status=502), TicketUnavailable, "HTTP 502"),
    ],
    ids=["422", "403", "rate-limit", "502"],
)  # fmt: skip
def test_a_refused_or_lost_comment(
    fake_github: FakeGitHub,
    github_backend: Make,
    issue: str,
    failure: Failure,
    error: type[Exception],
    reason: str,
) -> None:
    fake_github.fail("POST", COMMENTS, failure)
    with pytest.raises(error) as caught:
        github_backend().attach(issue, screenshots(), "Visual check.", "d1")
    message = str(caught.value)
    assert message.startswith(f"github {fake_github.url}{COMMENTS}: ") and reason in message
    assert "\n" not in message and not fake_github.comments[int(issue)]

"""`GitLabBackend.attach` against the local GitLab (tma_gitlab.testing.FakeGitLab), through the
real HTTP client: each file a Markdown upload (multipart field `file`), then one note showing
them with the delivery comment; every failure a one-line error naming the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest
from tma_gitlab.backend import GitLabBackend
from tma_gitlab.testing import FakeGitLab

from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.fake_api import Failure
from tma_agent.testing.forge_fakes import form_parts, screenshots, ticket_draft
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.forge.uploads import MAX_FILE_BYTES
from tma_agent.tickets.registry import registered_ticket_backends

Make = Callable[..., GitLabBackend]
PROJECT = "/api/v4/projects/agency%2Fmaintenance"
UPLOADS = f"{PROJECT}/uploads"


@pytest.fixture
def issue(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> str:
    return gitlab_backend().create(ticket_draft()).ref


def test_registered_as_attaching() -> None:
    assert registered_ticket_backends(get_plugin_manager())["gitlab"].attaches


def test_each_file_is_uploaded_then_one_note_shows_them(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, issue: str
) -> None:
    files = screenshots()
    backend = gitlab_backend()
    backend.attach(issue, files, "Visual check: 0.4 % of pixels changed.", "d-visual")
    sent = [r for r in fake_gitlab.requests if r.path == UPLOADS]
    assert len(sent) == 3
    for request, file in zip(sent, files, strict=True):
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["private-token"] == fake_gitlab.token
        assert headers["content-type"].startswith("multipart/form-data; boundary=")
        [part] = form_parts(request.headers, request.body)
        assert (part.name, part.filename, part.content_type) == ("file", file.filename, "image/png")
        assert part.content == file.content  # byte for byte, CR LF and boundary-like lines too
    stored = {answer["url"]: content for answer, content in fake_gitlab.project.uploads.values()}
    assert sorted(stored.values()) == sorted(file.content for file in files)
    [note] = fake_gitlab.project.notes[int(issue)]
    body = note["body"]
    assert body.startswith("Visual check: 0.4 % of pixels changed.")
    for url in stored:
        assert f"]({url})" in body and body.count(url) == 1
    assert "- **Before**: `before.png` (1.0 KB) ![before](/uploads/" in body
    assert "`changes_diff.png`" in body  # an underscore in a name is kept
    assert body.endswith("<!-- tma-delivery: d-visual -->")
    assert backend.delivered(issue, "d-visual") and not backend.delivered(issue, "d-other")


def test_a_lost_note_answer_is_delivered_once(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, issue: str
) -> None:
    backend = gitlab_backend(timeout=1.0)
    fake_gitlab.fail("POST", rf"{PROJECT}/issues/{issue}/notes", Failure(apply=True, hang=3.0))
    with pytest.raises(TicketUnavailable, match=r"gitlab http://127\.0\.0\.1.*/notes: no answer"):
        backend.attach(issue, screenshots(), "Visual check.", "d-lost")
    assert backend.delivered(issue, "d-lost")  # the outbox marks it done: no second note
    assert len(fake_gitlab.project.notes[int(issue)]) == 1


def test_a_file_over_the_instances_limit_is_refused_naming_it(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, issue: str
) -> None:
    fake_gitlab.max_upload_bytes = 1500  # the diff (1,036 bytes) fits, the full page does not
    big = replace(screenshots()[0], filename="full_page.png", content=b"x" * 2000)
    with pytest.raises(TicketRefused) as caught:
        gitlab_backend().attach(issue, [screenshots()[2], big], "Visual check.", "d1")
    message = str(caught.value)
    assert caught.value.status == 413 and "\n" not in message
    assert message.startswith(f"gitlab {fake_gitlab.url}{UPLOADS}: uploading 'full_page.png'")
    assert "413 Request Entity Too Large" in message
    assert fake_gitlab.project.notes[int(issue)] == []  # no note for a half-done attach


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (Failure(status=403, body='{"message":"403 Forbidden"}'), 403),
        (Failure(status=422, body='{"message":"File type is not allowed"}'), 422),
    ],
)
def test_refused_uploads(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, issue: str, failure: Failure, status: int
) -> None:
    fake_gitlab.fail("POST", UPLOADS, failure)
    with pytest.raises(TicketRefused) as caught:
        gitlab_backend().attach(issue, screenshots(), "Visual check.", "d1")
    assert caught.value.status == status
    assert f"uploading 'before.png': HTTP {status}" in str(caught.value)
    assert "\n" not in str(caught.value) and not fake_gitlab.project.notes[int(issue)]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Failure(status=502, body="Bad Gateway"), "HTTP 502"),
        (Failure(hang=3.0), "no answer within 1 s"),
        (Failure(garbage=True), "not JSON"),
        (Failure(status=201, body='{"id": 1, "url": "/uploads/x/a.png"}'), "no 'markdown' link"),
        (Failure(status=201, body='{"markdown": "![a](/u)\\n# Owned"}'), "no 'markdown' link"),
        (Failure(status=201, body='{"markdown": "![a](/' + "u" * 3000 + ')"}'), "too long"),
        (Failure(status=201, body=b"[" + b" " * (9 * 1024 * 1024) + b"]"), "answer of"),
    ],
    ids=["502", "timeout", "garbage", "no-markdown", "two-lines", "long-markdown", "huge"],
)
def test_lost_or_hostile_upload_answers(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, issue: str, failure: Failure, reason: str
) -> None:
    fake_gitlab.fail("POST", UPLOADS, failure)
    with pytest.raises(TicketUnavailable) as caught:
        gitlab_backend(timeout=1.0).attach(issue, screenshots(), "Visual check.", "d1")
    message = str(caught.value)
    assert message.startswith(f"gitlab {fake_gitlab.url}{UPLOADS}: uploading 'before.png': ")
    assert reason in message and "\n" not in message and len(message) < 600
    assert not fake_gitlab.project.notes[int(issue)]


def test_a_file_over_the_agents_bound_is_never_sent(
    fake_gitlab: FakeGitLab, gitlab_backend: Make, issue: str
) -> None:
    huge = replace(screenshots()[0], content=b"\0" * (MAX_FILE_BYTES + 1))
    with pytest.raises(TicketRefused, match=r"'before\.png' is 20\.0 MB, over the 20\.0 MB"):
        gitlab_backend().attach(issue, [huge], "Visual check.", "d1")
    assert fake_gitlab.hits[UPLOADS] == 0


def test_a_bad_reference_uploads_nothing(fake_gitlab: FakeGitLab, gitlab_backend: Make) -> None:
    with pytest.raises(TicketRefused, match="not an issue iid"):
        gitlab_backend().attach("../1", screenshots(), "Visual check.", "d1")
    assert fake_gitlab.hits[UPLOADS] == 0


def test_the_fake_takes_only_the_file_field(fake_gitlab: FakeGitLab) -> None:
    answer = httpx.post(
        f"{fake_gitlab.url}{UPLOADS}",
        files={"upload": ("a.png", b"png", "image/png")},
        headers={"PRIVATE-TOKEN": fake_gitlab.token},
    )
    assert (answer.status_code, answer.json()) == (400, {"error": "file is missing"})
    answer = httpx.post(
        f"{fake_gitlab.url}{UPLOADS}",
        files={"file": ("report.pdf", b"%PDF", "application/pdf")},
        headers={"PRIVATE-TOKEN": fake_gitlab.token},
    )
    data = answer.json()
    assert answer.status_code == 201 and set(data) == {"id", "alt", "url", "full_path", "markdown"}
    assert data["markdown"] == f"[report.pdf]({data['url']})"  # not an image: a link
    assert data["full_path"] == f"/-/project/7{data['url']}"

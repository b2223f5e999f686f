"""`JiraBackend.attach` against the local Jira Cloud (`tma_jira.testing.fake.FakeJira`) through
the real HTTP client: each file `POST /issue/{key}/attachments` (multipart field `file`,
`X-Atlassian-Token: no-check`), then one ADF comment naming them with the delivery line; every
failure a one-line error naming the file."""

from __future__ import annotations

import base64
from dataclasses import replace

import httpx
import pytest
from tma_jira.adf import adf_text
from tma_jira.backend import DELIVERY_PREFIX, JiraBackend
from tma_jira.testing.fake import FakeJira, Fault
from tma_jira.testing.fixtures import jira_backend_for

from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.forge_fakes import form_parts, screenshots, ticket_draft
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.registry import registered_ticket_backends

ATTACHMENTS = "/issue/TMA-1/attachments"


@pytest.fixture
def issue(jira_backend: JiraBackend) -> str:
    return jira_backend.create(ticket_draft()).ref


def test_registered_as_attaching() -> None:
    assert registered_ticket_backends(get_plugin_manager())["jira"].attaches


def test_each_file_is_attached_then_one_comment_names_them(
    fake_jira: FakeJira, jira_backend: JiraBackend, issue: str
) -> None:
    files = screenshots()
    jira_backend.attach(issue, files, "Visual check: **0.4 %** of pixels changed.", "d-vis")
    sent = fake_jira.calls("POST", ATTACHMENTS)
    assert len(sent) == 3
    for seen, file in zip(sent, files, strict=True):
        headers = {k.lower(): v for k, v in seen.headers.items()}
        assert headers["x-atlassian-token"] == "no-check"
        assert headers["content-type"].startswith("multipart/form-data; boundary=")
        assert headers["authorization"].startswith("Basic ")
        [part] = form_parts(seen.headers, seen.raw)
        assert (part.name, part.filename, part.content_type) == ("file", file.filename, "image/png")
        assert part.content == file.content  # byte for byte
    kept = fake_jira.state.issue(issue).fields["attachment"]
    assert [a["filename"] for a in kept] == [f.filename for f in files]
    assert [a["size"] for a in kept] == [len(f.content) for f in files]
    [comment] = fake_jira.state.issue(issue).comments
    words = adf_text(comment["body"])
    assert words.startswith("Visual check: 0.4 % of pixels changed.")
    assert "Attached to this issue:" in words
    for file in files:
        assert file.filename in words
    assert "Changed pixels: changes_diff.png (1.0 KB)" in words
    assert words.splitlines()[-1] == f"{DELIVERY_PREFIX} d-vis"
    assert not fake_jira.state.rejections  # valid ADF
    assert jira_backend.delivered(issue, "d-vis") and not jira_backend.delivered(issue, "d-x")


def test_a_lost_comment_answer_is_delivered_once(
    fake_jira: FakeJira, jira_backend: JiraBackend, issue: str
) -> None:
    fake_jira.fail_next(Fault("drop", method="POST", path=rf"/issue/{issue}/comment"))
    with pytest.raises(TicketUnavailable, match=r"^jira http://127\.0\.0\.1:\d+/rest/api/3/issue/"):
        jira_backend.attach(issue, screenshots(), "Visual check.", "d-lost")
    assert jira_backend.delivered(issue, "d-lost")  # the outbox marks it done
    assert len(fake_jira.state.issue(issue).comments) == 1


def test_the_fake_blocks_an_upload_without_the_xsrf_header(fake_jira: FakeJira, issue: str) -> None:
    credential = base64.b64encode(f"{fake_jira.email}:{fake_jira.token}".encode()).decode()
    url = f"{fake_jira.url}/rest/api/3{ATTACHMENTS}"
    files = {"file": ("a.png", b"png", "image/png")}
    answer = httpx.post(url, files=files, headers={"Authorization": f"Basic {credential}"})
    assert (answer.status_code, answer.content) == (403, b"XSRF check failed")
    headers = {"Authorization": f"Basic {credential}", "X-Atlassian-Token": "no-check"}
    answer = httpx.post(url, files=files, headers=headers)
    [attachment] = answer.json()
    assert answer.status_code == 200 and attachment["mimeType"] == "image/png"
    assert {"self", "id", "filename", "author", "created", "size", "content"} <= set(attachment)


@pytest.mark.parametrize(
    ("fault", "status", "reason"),
    [
        (Fault(status=403, body=b"XSRF check failed"), 403, "HTTP 403: XSRF check failed"),
        (Fault(status=403, body={"errorMessages": ["You do not have permission to create attachments for this issue."]}),
         403, "HTTP 403: You do not have permission to create attachments"),
        (Fault(status=404, body={"errorMessages": ["Issue does not exist."]}), 404, "HTTP 404"),
        (Fault(status=422, body={"errorMessages": [], "errors": {"file": "invalid"}}), 422, "file: invalid"),
    ],
    ids=["xsrf", "permission", "404", "422"],
)  # fmt: skip
def test_refused_attachments(
    fake_jira: FakeJira,
    jira_backend: JiraBackend,
    issue: str,
    fault: Fault,
    status: int,
    reason: str,
) -> None:
    fake_jira.fail_next(replace(fault, method="POST", path=ATTACHMENTS))
    with pytest.raises(TicketRefused) as caught:
        jira_backend.attach(issue, screenshots(), "Visual check.", "d1")
    message = str(caught.value)
    assert caught.value.status == status and "\n" not in message
    assert message.startswith(
        f"jira {fake_jira.url}/rest/api/3{ATTACHMENTS}: uploading 'before.png'"
    )
    assert reason in message
    assert not fake_jira.state.issue(issue).comments


def test_a_file_over_the_sites_limit_is_refused_naming_it(
    fake_jira: FakeJira, jira_backend: JiraBackend, issue: str
) -> None:
    fake_jira.attachments.max_bytes = 1500
    big = replace(screenshots()[1], filename="full_page.png", content=b"x" * 2000)
    with pytest.raises(TicketRefused) as caught:
        jira_backend.attach(issue, [screenshots()[0], big], "Visual check.", "d1")
    assert caught.value.status == 413
    assert "uploading 'full_page.png': HTTP 413: The attachment is larger" in str(caught.value)
    assert [a["filename"] for a in fake_jira.state.issue(issue).fields["attachment"]] == [
        "before.png"
    ]
    assert not fake_jira.state.issue(issue).comments


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(status=503, body=b"<html>down</html>"), "HTTP 503"),
        (Fault("hang", seconds=3), "no answer within 1 s"),
        (Fault("garbage"), "not JSON"),
        (Fault(status=200, body={"id": "1"}), "no attachment listed"),
        (Fault(status=200, body=[]), "no attachment listed"),
        (Fault(status=200, body=b"[" + b" " * (9 * 1024 * 1024) + b"]"), "bytes"),
    ],
    ids=["503", "timeout", "garbage", "an-object", "empty", "huge"],
)
def test_lost_or_hostile_attachment_answers(
    fake_jira: FakeJira, issue: str, fault: Fault, reason: str
) -> None:
    backend = jira_backend_for(fake_jira, timeout=1.0)
    fake_jira.fail_next(replace(fault, method="POST", path=ATTACHMENTS))
    with pytest.raises(TicketUnavailable) as caught:
        backend.attach(issue, screenshots(), "Visual check.", "d1")
    backend.close_connection()
    message = str(caught.value)
    assert message.startswith(
        f"jira {fake_jira.url}/rest/api/3{ATTACHMENTS}: uploading 'before.png': "
    )
    assert reason in message and "\n" not in message and len(message) < 600
    assert not fake_jira.state.issue(issue).comments


def test_a_bad_key_sends_nothing(fake_jira: FakeJira, jira_backend: JiraBackend) -> None:
    with pytest.raises(TicketRefused, match=r"'TMA-1/\.\./x' is not an issue key"):
        jira_backend.attach("TMA-1/../x", screenshots(), "Visual check.", "d1")
    assert not fake_jira.calls("POST", r".*attachments")

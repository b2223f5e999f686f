"""The `jira` ticket backend against a local Jira Cloud (`tma_jira.testing.fake.FakeJira`)
speaking REST API v3: through the protocol methods only."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from tma_jira.adf import adf_text, markdown_to_adf
from tma_jira.backend import DELIVERY_PREFIX, JiraBackend
from tma_jira.issues import estimate_text, fingerprint_label
from tma_jira.settings import JiraSettings
from tma_jira.testing.adf_schema import adf_problems
from tma_jira.testing.fake import FakeJira, Fault
from tma_jira.testing.fixtures import jira_backend_for

from tma_agent.config import load_config
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.forge_fakes import ticket_draft
from tma_agent.tickets import TicketDraft, TicketRefused, TicketUnavailable, marker_line
from tma_agent.tickets.registry import (
    build_backend,
    registered_ticket_backends,
    ticket_config_problems,
    ticket_target,
)

DESCRIPTION = """## www.acme.example (production)

Site `www` of client **Acme**, read on 2026-12-01.

### Components
- drupal/core 10.2.1 → 10.2.3
  - [SA-CORE-2024-001](https://www.drupal.org/sa-core-2024-001) (CVE-2024-1234)
- drupal/token 1.13 → 1.15

| Component | Installed | Target |
|---|---|---|
| drupal/core | 10.2.1 | 10.2.3 |

An apply would run:

```sh
composer update drupal/core --with-dependencies
```

See https://www.drupal.org/project/drupal/releases.
"""


def draft(fingerprint: str = "acme/www", **changes: object) -> TicketDraft:
    values: dict[str, object] = {
        "description": f"{DESCRIPTION}\n{marker_line(fingerprint)}\n",
        "estimate_minutes": 150,
        "labels": ("tma", "preventive", "security"),
        **changes,
    }
    return ticket_draft(fingerprint, **values)


# -- ADF


def test_markdown_becomes_valid_adf_with_the_marker_as_its_own_paragraph() -> None:
    doc = markdown_to_adf(f"{DESCRIPTION}{marker_line('acme/www')}")
    assert adf_problems(doc) == []
    kinds = [node["type"] for node in doc["content"]]
    assert kinds == ["heading", "paragraph", "heading", "bulletList", "table", "paragraph",
                     "codeBlock", "paragraph", "paragraph"]  # fmt: skip
    assert doc["content"][0]["attrs"] == {"level": 2}
    intro = doc["content"][1]["content"]
    assert {"type": "text", "text": "www", "marks": [{"type": "code"}]} in intro
    assert {"type": "text", "text": "Acme", "marks": [{"type": "strong"}]} in intro
    first = doc["content"][3]["content"][0]["content"]
    assert first[0]["content"][0]["text"] == "drupal/core 10.2.1 → 10.2.3"
    nested = first[1]["content"][0]["content"][0]["content"][0]
    assert nested["marks"] == [
        {"type": "link", "attrs": {"href": "https://www.drupal.org/sa-core-2024-001"}}
    ]
    assert doc["content"][6]["attrs"] == {"language": "sh"}
    bare = doc["content"][7]["content"][1]
    assert bare["marks"][0]["attrs"]["href"] == "https://www.drupal.org/project/drupal/releases"
    assert doc["content"][-1] == {
        "type": "paragraph",
        "content": [{"type": "text", "text": marker_line("acme/www")}],
    }
    text = adf_text(doc).splitlines()
    assert marker_line("acme/www") in text
    assert "drupal/token 1.13 → 1.15" in text


CORE_STYLE = """Preventive maintenance for site `acme-www` (client `acme`), stack `drupal`.
Site URL: <https://acme.example>

| Component | Installed | Target | Update |
|---|---|---|---|
| `drupal/core` | `10.2.1` | `10.2.3` | `security` |

## Advisories

- [SA-CORE-2024-001](<https://www.drupal.org/sa-core-2024-001>): `drupal/core` (`CVE-2024-1`)

tma-fingerprint: tma:acme-www:site"""


def test_the_descriptions_the_core_writes_convert_faithfully() -> None:
    doc = markdown_to_adf(CORE_STYLE)
    assert adf_problems(doc) == []
    intro, table, _, advisories, marker = doc["content"]
    assert {"type": "hardBreak"} in intro["content"]
    assert intro["content"][-1]["marks"] == [
        {"type": "link", "attrs": {"href": "https://acme.example"}}
    ]
    cell = table["content"][1]["content"][0]["content"][0]["content"][0]
    assert cell == {"type": "text", "text": "drupal/core", "marks": [{"type": "code"}]}
    link = advisories["content"][0]["content"][0]["content"][0]
    assert link["marks"][0]["attrs"]["href"] == "https://www.drupal.org/sa-core-2024-001"
    assert adf_text(marker) == "tma-fingerprint: tma:acme-www:site"


def test_adf_edge_cases_stay_valid() -> None:
    for markdown in [
        "",
        "- ",
        "1. one\n2. two\n   - sub",
        "**`code` bold**",
        "# ",
        "---",
        "```\n```",
    ]:
        assert adf_problems(markdown_to_adf(markdown)) == [], markdown


@pytest.mark.parametrize(
    "doc",
    [
        "plain text",
        {"type": "doc", "version": 1, "content": [{"type": "text", "text": "x"}]},
        {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]},
        {"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": []}]},
        {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "x", "marks": [{"type": "code"}, {"type": "strong"}]}]}]},
        {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "x", "marks": [{"type": "link", "attrs": {}}]}]}]},
        {"type": "doc", "version": 2, "content": []},
    ],
)  # fmt: skip
def test_the_fakes_adf_rules_refuse_invalid_documents(doc: object) -> None:
    assert adf_problems(doc)


def test_estimates_are_hours_and_minutes() -> None:
    assert [estimate_text(m) for m in (60, 150, 2400)] == ["1h", "2h 30m", "40h"]


# -- create and find


def test_create_sends_every_field_and_the_fingerprint_label(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    ticket = jira_backend.create(draft())
    assert (ticket.ref, ticket.status) == ("TMA-1", "To Do")
    assert ticket.url == f"{fake_jira.url}/browse/TMA-1"
    fields = fake_jira.state.issue("TMA-1").fields
    assert fields["summary"] == "Updates for www.acme.example"
    assert fields["labels"] == ["tma", "preventive", "security", fingerprint_label("acme/www")]
    assert fields["priority"] == {"name": "High"}
    assert fields["timetracking"]["originalEstimateSeconds"] == 9000
    assert fake_jira.state.rejections == []
    assert marker_line("acme/www") in adf_text(fields["description"]).splitlines()
    assert fingerprint_label("acme/www").startswith("tma-fp-")
    assert " " not in fingerprint_label("a fingerprint with spaces")


def test_a_new_request_links_the_ticket_it_follows(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    old = jira_backend.create(draft())
    jira_backend.create(draft("acme/www#2", previous_ref=old.ref))
    assert fake_jira.state.issue("TMA-2").links == [
        {"type": {"name": "Relates"}, "outwardIssue": {"key": "TMA-1"}}
    ]


def test_find_sees_a_ticket_the_search_index_still_hides(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    fake_jira.state.index_lag = 15  # hidden for as long as the test looks, however slow
    jira_backend.create(draft())
    label = fingerprint_label("acme/www")
    hidden = list(jira_backend.api.search(f'project = TMA AND labels = "{label}"', "labels"))
    assert hidden == []  # the index really lags
    started = time.monotonic()
    found = jira_backend.find("acme/www")
    assert found is not None and found.ref == "TMA-1"
    assert time.monotonic() - started < fake_jira.state.index_lag


@pytest.mark.parametrize("kind", ["drop", "garbage"])
def test_find_after_a_create_whose_answer_was_lost(fake_jira: FakeJira, kind: str) -> None:
    fake_jira.state.index_lag = 15  # hidden for as long as the test looks, however slow
    first = jira_backend_for(fake_jira)
    fake_jira.fail_next(Fault(kind, method="POST", path="/issue"))
    with pytest.raises(
        TicketUnavailable, match=r"^jira http://127\.0\.0\.1:\d+/rest/api/3/issue: "
    ):
        first.create(draft())
    assert list(fake_jira.state.issues) == ["TMA-1"]  # Jira did create it
    # The next run: a new process that knows nothing, while the index still hides the issue.
    again = jira_backend_for(fake_jira)
    found = again.find("acme/www", recent=True)
    assert found is not None and (found.ref, found.status) == ("TMA-1", "To Do")
    assert fake_jira.calls("GET", "/issue/TMA-1")  # read where the index could not tell
    first.close_connection()
    again.close_connection()


def test_find_probes_holes_when_later_issues_are_indexed_first(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    for n in range(3):
        jira_backend.create(draft(f"other/{n}"))
    fake_jira.state.index_now()
    fake_jira.state.issue("TMA-1").indexed_at = time.monotonic() + 60
    found = jira_backend.find("acme/www")
    assert found is not None and found.ref == "TMA-1"


def test_find_falls_back_to_the_marker_line_and_checks_it(fake_jira: FakeJira) -> None:
    jira_backend_for(fake_jira).create(draft("acme/www:routine"))
    backend = jira_backend_for(fake_jira, search_lag=0)  # another run: no memory of the create
    issue = fake_jira.state.issue("TMA-1")
    issue.fields["labels"] = ["tma"]  # someone removed the fingerprint label
    fake_jira.state.index_now()
    found = backend.find("acme/www:routine")
    assert found is not None and found.ref == "TMA-1"
    assert any("text ~" in s.query["jql"][0] for s in fake_jira.calls("GET", "/search/jql"))
    # Jira's text search is fuzzy: the same words with other punctuation are not that ticket.
    assert backend.find("acme/www-routine") is None
    backend.close_connection()


def test_find_gives_up_after_the_bounded_wait(fake_jira: FakeJira) -> None:
    backend = jira_backend_for(fake_jira, search_lag=2)
    started = time.monotonic()
    assert backend.find("nobody/ever", recent=True) is None
    assert 2 <= time.monotonic() - started < 10
    # Before a first create (or long after one), one look is enough: no waiting.
    started = time.monotonic()
    assert backend.find("nobody/ever") is None
    assert time.monotonic() - started < 2
    backend.close_connection()


# -- update, comments, close


def test_update_sets_fields_adds_labels_and_notes_once(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    issue = fake_jira.state.issue("TMA-1")
    issue.fields["labels"].append("customer-asked")
    changed = draft(title="Updates for www.acme.example (core 10.2.4)", priority="urgent",
                    estimate_minutes=240)  # fmt: skip
    jira_backend.update("TMA-1", changed, "A newer target: **10.2.4**.", "d-1")
    assert issue.fields["summary"] == "Updates for www.acme.example (core 10.2.4)"
    assert issue.fields["priority"] == {"name": "Highest"}
    assert issue.fields["timetracking"]["originalEstimate"] == "4h"
    assert "customer-asked" in issue.fields["labels"]
    assert [adf_text(c["body"]) for c in issue.comments] == [
        f"A newer target: 10.2.4.\n{DELIVERY_PREFIX} d-1"
    ]
    jira_backend.update("TMA-1", changed, None, "d-2")
    assert len(issue.comments) == 1
    assert not fake_jira.state.rejections


def test_delivered_finds_a_note_whose_answer_was_lost_across_pages(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    fake_jira.fail_next(Fault("drop", method="POST", path=r"/issue/TMA-1/comment"))
    with pytest.raises(TicketUnavailable):
        jira_backend.update("TMA-1", draft(), "New advisory.", "d-7")
    issue = fake_jira.state.issue("TMA-1")
    for n in range(5):  # people talk after it: the note is no longer on the first page
        issue.comments.append({"id": str(n), "body": markdown_to_adf(f"comment {n}")})
    assert jira_backend.delivered("TMA-1", "d-7") is True
    assert jira_backend.delivered("TMA-1", "d-8") is False
    pages = fake_jira.calls("GET", "/issue/TMA-1/comment")
    assert len(pages) >= 4  # 2 a page, startAt/total followed


def test_close_takes_the_transition_and_comments(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    jira_backend.close("TMA-1", "Every target reached.", "c-1")
    issue = fake_jira.state.issue("TMA-1")
    assert issue.status == "Done"
    assert fake_jira.calls("POST", "/issue/TMA-1/transitions")[0].body == {
        "transition": {"id": "31"}
    }
    assert jira_backend.delivered("TMA-1", "c-1")
    # Sent again (its answer lost): already Done, so only the comment goes.
    jira_backend.close("TMA-1", "Every target reached.", "c-2")
    assert len(fake_jira.calls("POST", "/issue/TMA-1/transitions")) == 1
    assert len(issue.comments) == 2


def test_a_close_whose_transition_answer_was_lost_is_finished_once(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    fake_jira.fail_next(Fault("drop", method="POST", path="/issue/TMA-1/transitions"))
    with pytest.raises(TicketUnavailable):
        jira_backend.close("TMA-1", "Every target reached.", "c-1")
    issue = fake_jira.state.issue("TMA-1")
    assert issue.status == "Done" and issue.comments == []
    assert jira_backend.delivered("TMA-1", "c-1") is False  # so the outbox sends it again
    jira_backend.close("TMA-1", "Every target reached.", "c-1")
    assert len(fake_jira.calls("POST", "/issue/TMA-1/transitions")) == 1
    assert len(issue.comments) == 1 and jira_backend.delivered("TMA-1", "c-1")


def test_close_without_the_transition_says_which_exist(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    fake_jira.state.transitions = [t for t in fake_jira.state.transitions if t.name != "Done"]
    with pytest.raises(TicketRefused) as caught:
        jira_backend.close("TMA-1", "Every target reached.", "c-1")
    message = str(caught.value)
    assert "no transition 'Done' from status 'To Do'" in message
    assert "Validate (to Validated)" in message and "tickets.close_transition" in message
    assert fake_jira.state.issue("TMA-1").comments == []


# -- fetch


def test_fetch_pages_skips_deleted_keys_and_reads_who_validated(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    for n in range(5):
        jira_backend.create(draft(f"site/{n}"))
    fake_jira.state.index_now()
    fake_jira.state.move("TMA-2", "Validated", by="Claire Client")
    jira_backend.create(draft("site/new"))  # TMA-6: not in the index yet
    tickets = jira_backend.fetch(["TMA-1", "TMA-2", "TMA-3", "TMA-4", "TMA-5", "TMA-6", "TMA-99"])
    assert sorted(tickets) == ["TMA-1", "TMA-2", "TMA-3", "TMA-4", "TMA-5", "TMA-6"]
    assert (tickets["TMA-2"].status, tickets["TMA-2"].changed_by) == ("Validated", "Claire Client")
    assert tickets["TMA-1"].changed_by is None
    pages = [s for s in fake_jira.calls("GET", "/search/jql") if "TMA-99" not in s.query["jql"][0]]
    assert len(pages) == 3  # 5 indexed issues, 2 a page, followed by nextPageToken


# -- errors: one line naming the backend and the URL, never the token


def _refusal_or_outage(fake: FakeJira, backend: JiraBackend, read: bool) -> str:
    try:
        if read:
            backend.fetch(["TMA-1"])
        else:
            backend.update("TMA-1", draft(), "note", "d-1")
        return "no error"
    except (TicketRefused, TicketUnavailable) as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"jira {fake.url}/rest/api/3/")
        credential = base64.b64encode(f"{fake.email}:{fake.token}".encode()).decode()
        assert fake.token not in message and credential not in message
        return f"{type(exc).__name__}: {message}"
    raise AssertionError("no error")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(status=403, body={"errorMessages": ["You do not have permission to edit issues in this project."], "errors": {}}),
         "TicketRefused: .*HTTP 403: You do not have permission to edit issues.*check tickets.user"),
        (Fault(status=429, headers={"Retry-After": "7"}, body={"errorMessages": ["Rate limit exceeded."]}),
         "TicketUnavailable: .*HTTP 429: Rate limit exceeded. .rate limited, retry after 7 s"),
        (Fault(status=503, body=b"<html>down</html>"), "TicketUnavailable: .*HTTP 503"),
        (Fault("hang", seconds=3), "TicketUnavailable: .*no answer within 1 s"),
        (Fault("garbage", method="GET"), "TicketUnavailable: .*/search/jql: not JSON"),
        (Fault(status=200, body={"issues": [{"id": "1"}]}), "TicketUnavailable: .*an issue lacks 'key'"),
        (Fault(status=200, body={"issues": [{"key": "TMA-1"}]}), "TicketUnavailable: .*TMA-1 has no status"),
        (Fault(status=200, body={"issues": [{"key": "TMA-1", "fields": {"status": "Done"}, "changelog": []}]}),
         "TicketUnavailable: .*TMA-1 has no status"),
        (Fault(status=200, body={"issues": [], "isLast": False, "nextPageToken": 7}), "/search/jql: not the last page, but no nextPageToken"),
        (Fault(status=200, body=b"x" * (9 * 1024 * 1024)), "TicketUnavailable: .*bytes"),
    ],
)  # fmt: skip
def test_every_error_class(fake_jira: FakeJira, fault: Fault, expected: str) -> None:
    backend = jira_backend_for(fake_jira, timeout=1.0)
    backend.create(draft())
    fake_jira.fail_next(fault, times=3)
    read = fault.kind == "garbage" or (fault.body is not None and "issues" in str(fault.body))
    assert re.search(expected, _refusal_or_outage(fake_jira, backend, read))
    backend.close_connection()


def test_wrong_credentials_missing_issue_and_bad_fields_are_refused(fake_jira: FakeJira) -> None:
    wrong = jira_backend_for(fake_jira, token="not-the-token-at-all")
    with pytest.raises(TicketRefused, match="HTTP 401: Client must be authenticated") as caught:
        wrong.create(draft())
    assert caught.value.status == 401 and "not-the-token-at-all" not in str(caught.value)
    backend = jira_backend_for(fake_jira, priorities={"high": "Blocker"})
    with pytest.raises(TicketRefused, match=r"HTTP 400: priority: Specify the Priority") as bad:
        backend.create(draft())
    assert bad.value.status == 400
    with pytest.raises(TicketRefused, match="HTTP 404: Issue does not exist"):
        backend.update("TMA-404", draft(), None, "d-1")
    fake_jira.fail_next(Fault(status=201, body={"id": "1"}), times=1)
    with pytest.raises(TicketUnavailable, match="answer lacks the new key"):
        backend.create(draft())


# -- check and registration


def test_check_passes_on_a_ready_project(fake_jira: FakeJira, jira_backend: JiraBackend) -> None:
    assert jira_backend.check() == []
    jira_backend.create(draft())
    fake_jira.state.index_now()
    assert jira_backend.check() == []
    assert fake_jira.calls("GET", "/issue/TMA-1/transitions")


def test_check_reads_the_close_transition_from_an_open_ticket(
    fake_jira: FakeJira, jira_backend: JiraBackend
) -> None:
    jira_backend.create(draft())
    fake_jira.state.index_now()
    done = next(t for t in fake_jira.state.transitions if t.name == "Done")
    fake_jira.state.transitions.remove(done)
    fake_jira.state.transitions.append(replace(done, sources=("In Progress",)))
    [line] = jira_backend.check()
    assert "TMA-1 in status 'To Do' offers no transition 'Done'" in line
    assert "make 'Done' a global transition" in line


def test_check_says_what_an_admin_must_fix(fake_jira: FakeJira) -> None:
    state = fake_jira.state
    state.statuses = ["To Do", "In Progress", "Finished"]
    state.transitions = []
    state.screen.remove("timetracking")
    state.link_types = ["Blocks"]
    backend = jira_backend_for(fake_jira, priorities={"urgent": "Blocker", "low": "Low"})
    problems = backend.check()
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert "has no status 'Done': add a status and a transition named 'Done'" in text
    assert "has no status 'Validated'" in text
    assert "create screen of Task in project TMA lacks timetracking" in text
    assert "no priority 'Blocker' (tickets.priorities.urgent)" in text
    assert "no issue link type 'Relates'" in text
    assert "issue type" not in jira_backend_for(fake_jira, issue_type="Task").check()[0]
    assert (
        "has no issue type 'Story' (it has: Bug, Task)"
        in jira_backend_for(fake_jira, issue_type="Story").check()[0]
    )


def test_check_with_wrong_credentials_or_project(fake_jira: FakeJira) -> None:
    [line] = jira_backend_for(fake_jira, token="wrong-token-value").check()
    assert "are refused" in line and "HTTP 401" in line and "wrong-token-value" not in line
    [line] = jira_backend_for(fake_jira, project="NOPE").check()
    assert "project NOPE does not exist" in line


def test_the_backend_is_registered_through_the_entry_point() -> None:
    info = registered_ticket_backends(get_plugin_manager())["jira"]
    assert info.settings_model is JiraSettings and info.factory is JiraBackend
    assert info.default_statuses["closed"] == ["Done", "Closed"]


def test_settings_need_the_credentials_and_know_their_keys() -> None:
    with pytest.raises(ValueError, match="needs user, token"):
        JiraSettings(backend="jira", url="https://x.atlassian.net", project="TMA")
    with pytest.raises(ValueError, match="unknown levels"):
        JiraSettings(backend="jira", url="https://x.example", user="u", token="t", project="P",
                     priorities={"blocker": "Blocker"})  # fmt: skip
    settings = JiraSettings(
        backend="jira", url="https://x.example/", user="u", api_token="t", project="P"
    )
    assert (settings.secret, settings.url, settings.close_transition) == (
        "t",
        "https://x.example",
        "Done",
    )


def test_a_failed_search_is_an_outage_never_not_found(fake_jira: FakeJira) -> None:
    backend = jira_backend_for(fake_jira, search_lag=0)
    fake_jira.fail_next(Fault(status=502, path="/search/jql"), times=3)
    with pytest.raises(TicketUnavailable, match="/search/jql: HTTP 502"):
        backend.find("acme/www")
    backend.close_connection()


def test_a_refused_or_hung_create_creates_nothing(fake_jira: FakeJira) -> None:
    backend = jira_backend_for(fake_jira, timeout=0.5)
    fake_jira.fail_next(Fault("hang", seconds=1.5, method="POST"))
    with pytest.raises(TicketUnavailable, match=r"no answer within 0\.5 s"):
        backend.create(draft())
    description = draft(description="# \n- [x](y)\n`a`")  # still valid ADF
    assert backend.create(description).ref == "TMA-1"
    assert fake_jira.state.rejections == []
    backend.close_connection()


def test_a_config_file_builds_the_backend_and_masks_the_token(
    fake_jira: FakeJira, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", "wrong-secret-token-1234")
    config_file = tmp_path / "tma.yaml"
    config_file.write_text(
        "clients: [{id: acme, name: ACME}]\n"
        f"tickets: {{backend: jira, url: '{fake_jira.url}', user: {fake_jira.email}, "
        "token: {$env: JIRA_API_TOKEN}, project: TMA, issue_type: Task}\n"
    )
    config = load_config(config_file)
    backends = registered_ticket_backends(get_plugin_manager())
    assert ticket_config_problems(config, backends) == []
    info, backend = build_backend(config, ticket_target(config, "acme"), backends)
    assert info.name == "jira" and isinstance(backend, JiraBackend)
    with pytest.raises(TicketRefused) as caught:
        backend.create(draft())
    assert "wrong-secret-token-1234" not in str(caught.value)
    backend.close_connection()
    config_file.write_text(config_file.read_text().replace("issue_type: Task", "tracker: Task"))
    [problem] = ticket_config_problems(load_config(config_file), backends)
    assert "tracker" in problem and "tma.yaml:2" in problem


def test_odd_shapes_in_an_answer_are_read_carefully(fake_jira: FakeJira) -> None:
    backend = jira_backend_for(fake_jira)
    odd = {"key": "TMA-1", "fields": {"status": {"name": "Done"}, "labels": "tma-fp-"},
           "changelog": {"histories": [{"author": "x", "items": 3}, "y", {"items": [{"field": "status"}],
                         "author": {"displayName": "Ann"}, "created": "yesterday"}]}}  # fmt: skip
    fake_jira.fail_next(Fault(status=200, body={"issues": [odd], "isLast": True}))
    [ticket] = backend.fetch(["TMA-1"]).values()
    assert (ticket.status, ticket.labels, ticket.changed_by) == ("Done", (), None)
    backend.close_connection()


def test_the_fake_refuses_what_jira_refuses(fake_jira: FakeJira) -> None:
    auth = (fake_jira.email, fake_jira.token)
    url = f"{fake_jira.url}/rest/api/3"
    fields = {"project": {"key": "TMA"}, "issuetype": {"name": "Task"}, "summary": "s"}
    bad = [
        ({**fields, "description": "plain text"}, "description"),
        ({**fields, "description": {"type": "doc", "version": 1, "content": [{"type": "text", "text": "x"}]}}, "description"),
        ({**fields, "labels": ["two words"]}, "labels"),
        ({**fields, "timetracking": {"originalEstimate": "2 hours"}}, "timetracking"),
        ({**fields, "customfield_10001": "x"}, "customfield_10001"),
        ({**fields, "issuetype": {"name": "Epic"}}, "issuetype"),
    ]  # fmt: skip
    with httpx.Client(auth=auth) as client:
        for body, field in bad:
            answer = client.post(f"{url}/issue", json={"fields": body})
            assert answer.status_code == 400 and field in answer.json()["errors"], body
        assert client.post(f"{url}/issue", content=b"{}").status_code == 415
        assert client.get(f"{url}/search/jql", params={"jql": "ORDER BY key"}).status_code == 400
        wrong = client.get(f"{url}/search/jql", params={"jql": "project = TMA AND bogus = 1"})
        assert wrong.json()["errorMessages"] == [
            "Field 'bogus' does not exist or you do not have permission to view it."
        ]
        assert client.post(f"{url}/issue", json={"fields": fields}).status_code == 201
        tokenless = client.get(
            f"{url}/search/jql", params={"jql": "project = TMA", "nextPageToken": "x"}
        )
        assert tokenless.status_code == 400
    assert len(fake_jira.state.rejections) == 1
    assert httpx.get(f"{url}/myself").status_code == 401

"""Files on Redmine issues (issue 9): `tma apply` runs real visual checks (headless Chromium on
a local page), and its note reaches the real Redmine with the before/after/changes images
uploaded (`POST /uploads.json`, then the tokens in the note's `PUT`), read back byte for byte;
a file pruned or over `tickets.attachments.max_bytes` is left out and said; a file over
Redmine's own limit parks the note with one line, and goes out without it once the limit is
lowered; a SIGKILL of the real `tma` after Redmine
kept the note, before the agent recorded it, puts nothing twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from attach_site import BASE_URL, AttachSite
from attach_site import pages as pages  # the fixtures: pages, site
from attach_site import site_fixture as site_fixture
from tma_redmine.testing import tickets_block

from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.fixtures_redmine import RedmineProject
from tma_agent.testing.proxy import LosingProxy, Rule
from tma_agent.testing.redmine import Redmine

#: Nothing listens there: the note stays queued while the test changes the files.
DOWN = "http://127.0.0.1:9"


def _open_issue(site: AttachSite, redmine: Redmine, project: RedmineProject, **keys: Any) -> int:
    site.configure(tickets_block(redmine, project.identifier, **keys))
    (request,) = site.json("run")["requests"]
    assert request["action"] == "created"
    return int(request["ticket"])


def _issue(redmine: Redmine, issue_id: int) -> dict[str, Any]:
    with redmine.client() as client:
        answer = client.get(f"/issues/{issue_id}.json", params={"include": "attachments,journals"})
    answer.raise_for_status()
    issue: dict[str, Any] = answer.json()["issue"]
    return issue


def _downloaded(redmine: Redmine, issue: dict[str, Any]) -> dict[str, bytes]:
    with redmine.client() as client:
        return {a["filename"]: client.get(a["content_url"]).content for a in issue["attachments"]}


def _notes(issue: dict[str, Any]) -> list[str]:
    return [j["notes"] for j in issue["journals"] if j.get("notes")]


def _outbox(site: AttachSite) -> list[tuple[str, str, dict[str, Any]]]:
    with sqlite3.connect(site.ledger) as db:
        rows = db.execute("select operation, state, payload from outbox order by id").fetchall()
    return [(operation, state, json.loads(payload)) for operation, state, payload in rows]


def test_the_visual_checks_images_reach_the_redmine_issue(
    site: AttachSite, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    issue_id = _open_issue(site, redmine, redmine_project)
    applied = site.json("apply", "--site", "www")
    assert applied["state"] == "succeeded", applied
    images = site.images(applied)
    assert len(images) == 3 and all(data.startswith(b"\x89PNG") for data in images.values())

    issue = _issue(redmine, issue_id)
    shown = {a["filename"]: a for a in issue["attachments"]}
    assert {name: a["filesize"] for name, a in shown.items()} == {
        name: len(data) for name, data in images.items()
    }
    assert {a["content_type"] for a in shown.values()} == {"image/png"}
    labels = {a["label"] for a in applied["attachments"]}
    assert {a["description"] for a in shown.values()} == labels
    assert _downloaded(redmine, issue) == images  # byte for byte

    (note,) = _notes(issue)
    assert note.startswith("tma-agent applied this in staging (flatfile-update")
    for attachment in applied["attachments"]:
        name = Path(attachment["path"]).name
        assert f"- **{attachment['label']}**: `{name}` (" in note  # label, name, size
    assert str(site.tmp_path) not in note  # no local path once the files are on the ticket
    assert note.count("tma-delivery:") == 1
    (attach,) = [item for item in _outbox(site) if item[0] == "attach"]
    assert attach[1] == "done"
    journal = applied["journal"]
    assert {f["url"] for f in attach[2]["files"]} == {
        f"{BASE_URL}/sites/www/applies/{journal}/files/{name}" for name in images
    }


def test_a_pruned_file_and_one_over_the_limit_are_left_out_and_said(
    site: AttachSite, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    limit = {"max_bytes": 100_000}
    issue_id = _open_issue(site, redmine, redmine_project, attachments=limit)
    site.configure(tickets_block(redmine, redmine_project.identifier, url=DOWN, attachments=limit))
    applied = site.tma("apply", "--site", "www", "--format", "json")
    assert applied.returncode == 0, applied.stderr  # applied; the note waits for Redmine
    outcome = json.loads(applied.stdout)
    before, after, changes = (Path(a["path"]) for a in outcome["attachments"])
    before.unlink()  # pruned meanwhile
    after.write_bytes(after.read_bytes() + b"\0" * 200_000)  # over the 100 000 bytes
    kept = changes.read_bytes()

    site.configure(tickets_block(redmine, redmine_project.identifier, attachments=limit))
    retried = site.tma("requests", "retry")
    assert retried.returncode == 0, retried.stderr
    issue = _issue(redmine, issue_id)
    assert _downloaded(redmine, issue) == {changes.name: kept}
    (note,) = _notes(issue)
    labels = [a["label"] for a in outcome["attachments"]]
    assert f"- {labels[0]}: not attached (no longer on the agent's host (pruned))" in note
    assert f"- {labels[1]}: not attached ({after.stat().st_size} bytes, over " in note
    assert f"- **{labels[2]}**: `{changes.name}` (" in note


def test_a_file_over_redmines_own_limit_parks_the_note_in_one_line(
    site: AttachSite, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    issue_id = _open_issue(site, redmine, redmine_project)
    ours = {"max_bytes": 20 * 1024 * 1024}  # above Redmine's default 5 MB
    site.configure(tickets_block(redmine, redmine_project.identifier, url=DOWN, attachments=ours))
    outcome = json.loads(site.tma("apply", "--site", "www", "--format", "json").stdout)
    changes = Path(outcome["attachments"][2]["path"])
    changes.write_bytes(changes.read_bytes() + b"\0" * (6 * 1024 * 1024))

    site.configure(tickets_block(redmine, redmine_project.identifier, attachments=ours))
    retried = site.tma("requests", "retry")
    assert retried.returncode == 3, (retried.stdout, retried.stderr)
    (line,) = [x for x in retried.stderr.splitlines() if changes.name in x]
    assert "/uploads.json" in line and "maximum allowed file size" in line, line
    assert "(parked: tma requests retry)" in line and "Traceback" not in retried.stderr
    assert [state for op, state, _ in _outbox(site) if op == "attach"] == ["parked"]
    assert _notes(_issue(redmine, issue_id)) == []  # nothing half-written on the issue

    # As the line says: our limit lowered to Redmine's, the retry sends the note without it.
    lowered = {"max_bytes": 5 * 1024 * 1024}
    site.configure(tickets_block(redmine, redmine_project.identifier, attachments=lowered))
    again = site.tma("requests", "retry")
    assert again.returncode == 0, again.stderr
    issue = _issue(redmine, issue_id)
    assert sorted(a["filename"] for a in issue["attachments"]) == sorted(
        Path(a["path"]).name for a in outcome["attachments"][:2]
    )
    (note,) = _notes(issue)
    label = outcome["attachments"][2]["label"]
    assert f"- {label}: not attached ({changes.stat().st_size} bytes, over " in note


def test_a_sigkill_once_redmine_kept_the_note_puts_it_once(
    site: AttachSite, redmine: Redmine, redmine_project: RedmineProject
) -> None:
    issue_id = _open_issue(site, redmine, redmine_project)
    with LosingProxy(redmine.url) as proxy:
        held = proxy.add(Rule("PUT", f"/issues/{issue_id}.json", "hold"))
        site.configure(tickets_block(redmine, redmine_project.identifier, url=proxy.url))
        with background_tma("apply", "--site", "www", config=site.config, env=site.env) as run:
            try:
                # Redmine has the uploads and the note; its answer is held: not recorded.
                assert held.reached.wait(timeout=120), "the apply never sent its note"
                assert len(_issue(redmine, issue_id)["attachments"]) == 3
                sigkill(run)
            finally:
                held.release.set()
    assert [state for op, state, _ in _outbox(site) if op == "attach"] == ["sent"]
    site.configure(tickets_block(redmine, redmine_project.identifier))
    retried = site.tma("requests", "retry")
    assert retried.returncode == 0, retried.stderr
    issue = _issue(redmine, issue_id)
    assert len(_notes(issue)) == 1 and len(issue["attachments"]) == 3  # nothing twice
    assert [state for op, state, _ in _outbox(site) if op == "attach"] == ["done"]

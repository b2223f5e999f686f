"""`tma apply` and `tma deploy` end to end: the real CLI in a subprocess, a staging and a
production working copy on the real sshd with a bare origin, the ledger ticket backend, and
playbooks of `shell` steps in the agency's playbook directory (tests/apply_site.py)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apply_site import ApplySite

from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.sshd import SSHServer

#: Branch, write the new version, commit, push: what the Git and stack steps will do for real.
UPDATE = """
    name: flatfile-update
    stacks: [flatfile]
    variables:
      version: {required: true}
      pause: {default: "0"}
      fail: {default: "no"}
    steps:
      - name: Branch
        shell: [git, checkout, -q, -b, "tma/{{ date }}-flatfile"]
      - name: Write the version
        shell: [sh, -c, 'printf "%s\\n" "$1" > VERSION.flatfile', sh, "{{ version }}"]
      - name: Long command
        shell: [sh, -c, 'touch "$1.started"; sleep "$2"', sh, "{{ path }}", "{{ pause }}"]
      - name: Smoke check
        shell: [sh, -c, 'test "$1" != yes || { echo "smoke check failed" >&2; exit 3; }', sh, "{{ fail }}"]
      - name: Commit
        shell: [git, commit, -q, -am, "Update flatfile to {{ version }}"]
      - name: Push
        shell: [git, push, -q, origin, HEAD]
    on_failure:
      - name: Back to the branch
        shell: [git, checkout, -q, -f, "{{ branch }}"]
      - name: Clean the tree
        shell: [git, reset, -q, --hard]
      - name: Undo the marker
        shell: [rm, -f, "{{ path }}.started"]
"""


def _config_variant(site: ApplySite, **plan: str) -> None:
    """The playbook's defaults changed for one test (the stack's plan gives only `version`)."""
    text = UPDATE
    for name, value in plan.items():
        text = text.replace(f'{name}: {{default: "', f'{name}: {{default: "{value}', 1)
        text = text.replace(f'{{default: "{value}0"}}', f'{{default: "{value}"}}')
        text = text.replace(f'{{default: "{value}no"}}', f'{{default: "{value}"}}')
    site.playbook("flatfile-update", text)


@pytest.fixture
def site(sshd: SSHServer, tmp_path: Path) -> Iterator[ApplySite]:
    site = ApplySite(sshd, tmp_path)
    site.playbook("flatfile-update", UPDATE)
    try:
        yield site
    finally:
        site.close()


def _open_request(site: ApplySite) -> dict[str, Any]:
    run = site.json("run")
    (request,) = run["requests"]
    assert (request["fingerprint"], request["action"]) == ("tma:www:site", "created")
    return request


def _journal(site: ApplySite) -> list[dict[str, Any]]:
    with sqlite3.connect(site.ledger) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("select * from apply_runs order by id").fetchall()
    return [
        {**dict(r), "facts": json.loads(r["facts"]), "steps": json.loads(r["steps"])} for r in rows
    ]


def _interventions(site: ApplySite) -> list[tuple[Any, ...]]:
    with sqlite3.connect(site.ledger) as db:
        return db.execute(
            "select action, site, request_id, stack, update_kind from interventions"
        ).fetchall()


def _notes(site: ApplySite) -> list[str]:
    with sqlite3.connect(site.ledger) as db:
        rows = db.execute("select payload from outbox where operation = 'update'").fetchall()
    return [json.loads(p)["note"] for (p,) in rows]


def test_a_successful_apply_tests_the_request_and_bills_it(site: ApplySite) -> None:
    _open_request(site)
    out = site.json("apply", "--site", "www")
    assert out["state"] == "succeeded", out
    assert out["findings"] == [
        {
            "name": "flatfile",
            "kind": "core",
            "installed": "1.0",
            "recommended": "2.0",
            "update": "security",
        }
    ]
    # Staging runs the new version on its pushed branch; the origin has the tested commit.
    assert site.version(site.staging) == "2.0"
    branch = site.git(site.staging, "rev-parse", "--abbrev-ref", "HEAD")
    assert branch.startswith("tma/") and branch.endswith("-flatfile")
    assert site.git(site.staging, "status", "--porcelain") == ""
    pushed = site.git(site.origin, "rev-parse", branch)
    assert out["commit"] == pushed == site.git(site.staging, "rev-parse", "HEAD")
    shown = site.json("requests", "show", "tma:www:site")
    assert shown["state"] == "tested"
    assert [(e["from"], e["to"]) for e in shown["events"]][-2:] == [
        ("estimated", "in_staging"),
        ("in_staging", "tested"),
    ]
    (note,) = _notes(site)
    assert "`flatfile` 1.0 → 2.0 (security)" in note
    assert f"Commit `{pushed}` on branch `{branch}`" in note
    assert "1 file changed, 1 insertion(+), 1 deletion(-)" in note
    (row,) = _journal(site)
    assert (row["state"], row["action"], row["env"], row["playbook"]) == (
        "succeeded",
        "apply",
        "staging",
        "flatfile-update",
    )
    assert row["facts"]["apply.tested"]["commit"] == pushed
    assert [s["status"] for s in row["steps"]] == ["changed"] * 6
    assert row["holder"].rsplit(":", 1)[1].isdigit() and row["ended_at"]
    assert _interventions(site) == [("apply", "www", shown["id"], "flatfile", "security")]
    # Staging is up to date now: a second apply finds nothing to do.
    again = site.json("apply", "--site", "www")
    assert (again["state"], again["findings"]) == ("nothing", [])


DEPLOY = """
    name: deploy
    variables:
      commit: {required: true}
      tested_branch: {default: ""}
    steps:
      - name: Fetch
        shell: [git, fetch, -q, origin]
      - name: Fast-forward to the tested commit
        shell: [git, merge, -q, --ff-only, "{{ commit }}"]
    on_failure:
      - name: Back
        shell: [git, reset, -q, --hard, ORIG_HEAD]
"""


def test_deploy_needs_the_clients_validation_then_brings_production_to_the_tested_commit(
    site: ApplySite,
) -> None:
    site.playbook("deploy", DEPLOY)
    request = _open_request(site)
    before = site.git(site.production, "rev-parse", "HEAD")
    # Not validated: refused before anything touches production.
    refused = site.tma("deploy", "--site", "www", "--request", "tma:www:site")
    assert refused.returncode == 6, refused.stderr
    assert "is not validated by the client" in refused.stderr
    assert "tma requests validate" in refused.stderr
    assert site.git(site.production, "rev-parse", "HEAD") == before
    # Validated, but never tested in staging: still refused.
    done = site.tma("requests", "validate", "tma:www:site", "--by", "Jane Client")
    assert done.returncode == 0, done.stderr
    untested = site.tma("deploy", "--site", "www", "--request", "tma:www:site")
    assert untested.returncode == 6 and "never applied and tested in staging" in untested.stderr
    applied = site.json("apply", "--site", "www")
    assert applied["state"] == "succeeded"
    out = site.json("deploy", "--site", "www", "--request", "tma:www:site")
    assert (out["state"], out["env"], out["action"]) == ("succeeded", "production", "deploy")
    assert site.git(site.production, "rev-parse", "HEAD") == applied["commit"] != before
    assert site.version(site.production) == "2.0"
    shown = site.json("requests", "show", str(request["fingerprint"]))
    assert shown["state"] == "in_production"
    actions = [a for a, *_ in _interventions(site)]
    assert actions == ["apply", "deploy"]
    assert [(r["action"], r["env"], r["state"]) for r in _journal(site)] == [
        ("apply", "staging", "succeeded"),
        ("deploy", "production", "succeeded"),
    ]

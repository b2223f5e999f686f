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
from sqlalchemy import Engine, create_engine, text

from tma_agent.testing.cli import background_tma, sigkill
from tma_agent.testing.postgres import PostgresCluster
from tma_agent.testing.sshd import SSHServer

#: Branch, write the new version, commit, push: what the Git and stack steps will do for real.
UPDATE = """
    name: flatfile-update
    stacks: [flatfile]
    variables:
      version: {required: true}
      pause: {default: "@PAUSE@"}
      fail: {default: "@FAIL@"}
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
      - name: Drop the branch
        shell: {argv: [git, branch, -q, -D, "tma/{{ date }}-flatfile"], ok_codes: [0, 1]}
      - name: Undo the marker
        shell: [rm, -f, "{{ path }}.started"]
"""


#: The same with the core Git steps: branch, commit and push; `git.reset` undoes it.
UPDATE_GIT = """
    name: flatfile-update
    stacks: [flatfile]
    variables:
      version: {required: true}
    steps:
      - git.branch: {}
      - name: Write the version
        shell: [sh, -c, 'printf "%s\\n" "$1" > VERSION.flatfile', sh, "{{ version }}"]
      - git.commit: {}
      - git.push: {}
    on_failure:
      - git.reset: {}
"""

#: With a long command after the version is written (to be killed in), undone by `git.reset`
#: from the facts the journal kept (the starting commit and branch).
UPDATE_GIT_LONG = UPDATE_GIT.replace(
    "      - git.commit: {}\n",
    """      - name: Long command
        shell: [sh, -c, 'touch "$1.started"; sleep 120', sh, "{{ path }}"]
      - git.commit: {}
""",
).replace(
    "      - git.reset: {}\n",
    """      - git.reset: {}
      - name: Undo the marker
        shell: [rm, -f, "{{ path }}.started"]
""",
)


#: The stack's install steps after a deploy (`tma_deploy_plan`): a marker beside the checkout.
INSTALL = """
    name: flatfile-install
    variables:
      marker: {required: true}
      fail: {default: "@FAIL@"}
    steps:
      - name: Install from the lock file
        shell:
          - sh
          - -c
          - 'echo "$2" > "$1.$2"; test "$3" != yes || { echo "install failed" >&2; exit 2; }'
          - sh
          - "{{ path }}"
          - "{{ marker }}"
          - "{{ fail }}"
    on_failure:
      - name: Remove the install marker
        shell: [rm, -f, "{{ path }}.{{ marker }}"]
"""


def _install(site: ApplySite, *, fail: bool = False) -> None:
    site.playbook("flatfile-install", INSTALL.replace("@FAIL@", "yes" if fail else "no"))


def _update(site: ApplySite, *, pause: int = 0, fail: bool = False) -> None:
    """The update playbook with a long step of `pause` seconds and a failing smoke check."""
    text = UPDATE.replace("@PAUSE@", str(pause)).replace("@FAIL@", "yes" if fail else "no")
    site.playbook("flatfile-update", text)


@pytest.fixture
def site(sshd: SSHServer, tmp_path: Path) -> Iterator[ApplySite]:
    site = ApplySite(sshd, tmp_path)
    _update(site)
    _install(site)
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
    site.playbook("flatfile-update", UPDATE_GIT)
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
    assert branch.startswith("tma/")
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
    assert row["facts"]["apply.tested"]["commit"] == row["facts"]["git.commit"] == pushed
    assert [s["step"] for s in row["steps"]] == ["git.branch", "shell", "git.commit", "git.push"]
    assert {s["status"] for s in row["steps"]} == {"changed"}
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
    # The shipped deploy playbook (git.deploy), after an apply made of the core Git steps.
    site.playbook("flatfile-update", UPDATE_GIT)
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
    installed = Path(f"{site.production}.installed")
    assert site.sh('cat "$1"', str(installed)).strip() == "installed"  # the stack's steps ran
    assert out["playbook"] == "deploy+flatfile-install"
    shown = site.json("requests", "show", str(request["fingerprint"]))
    assert shown["state"] == "in_production"
    actions = [a for a, *_ in _interventions(site)]
    assert actions == ["apply", "deploy"]
    assert [(r["action"], r["env"], r["state"]) for r in _journal(site)] == [
        ("apply", "staging", "succeeded"),
        ("deploy", "production", "succeeded"),
    ]


def _clean_on_main(site: ApplySite) -> None:
    assert site.version(site.staging) == "1.0"
    assert site.git(site.staging, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert site.git(site.staging, "status", "--porcelain") == ""


def test_a_failing_step_rolls_back_notes_the_error_and_exits_4(site: ApplySite) -> None:
    _update(site, fail=True)
    _open_request(site)
    done = site.tma("apply", "--site", "www", "--format", "json")
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "rolled_back"
    assert "step 4 (Smoke check)" in out["error"] and "smoke check failed" in out["error"]
    assert [s["title"] for s in out["steps"] if s["phase"] == "on_failure"] == [
        "Back to the branch",
        "Clean the tree",
        "Drop the branch",
        "Undo the marker",
    ]
    _clean_on_main(site)
    (row,) = _journal(site)
    assert row["state"] == "rolled_back" and "smoke check failed" in row["error"]
    shown = site.json("requests", "show", "tma:www:site")
    assert shown["state"] == "estimated"  # never tested
    (note,) = _notes(site)
    assert note.startswith("tma-agent could not apply this in staging (flatfile-update")
    assert "smoke check failed" in note and "Rolled back (4 undo step(s))" in note
    assert _interventions(site) == []


def _wait_for(site: ApplySite, path: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if site.sh('test -e "$1" && echo yes || true', str(path)).strip() == "yes":
            return
        time.sleep(0.3)
    raise AssertionError(f"{path} never appeared")


def test_the_site_lock_refuses_a_second_apply_and_a_killed_apply_is_recovered(
    site: ApplySite,
) -> None:
    site.playbook("flatfile-update", UPDATE_GIT_LONG)
    _open_request(site)
    marker = Path(f"{site.staging}.started")
    with background_tma("apply", "--site", "www", config=site.config, env=site.env) as first:
        _wait_for(site, marker)
        # The first apply is in its long step: a second one is refused at once, naming it.
        second = site.tma("apply", "--site", "www")
        assert second.returncode == 5, second.stderr
        assert f"site:www is held by {_hostname()}:{first.pid}" in second.stderr
        (running,) = _journal(site)
        assert running["state"] == "running" and running["pid_file"]
        remote_pid = site.sh('cat "$1"', running["pid_file"]).strip()
        assert _alive(site, remote_pid)
        assert site.version(site.staging) == "2.0"  # half done
        # git.branch's facts were saved the moment it set them: what the recovery undoes from.
        assert running["facts"]["git.start_branch"] == "main"
        assert running["facts"]["git.start"] == site.git(site.origin, "rev-parse", "main")
        made = running["facts"]["git.branch"]
        sigkill(first)
    # The remote command outlived the agent; the next apply stops it and rolls back first.
    assert _alive(site, remote_pid)
    site.playbook("flatfile-update", UPDATE_GIT)
    out = site.json("apply", "--site", "www")
    (recovered,) = out["recovered"]
    assert recovered["remote"].startswith(f"killed (pid {remote_pid}")
    assert "left running by a killed tma" in recovered["message"]
    assert "rolled back" in recovered["message"]
    assert [(s["step"], s["status"]) for s in recovered["undone"]] == [
        ("git.reset", "changed"),
        ("shell", "changed"),
    ]
    assert not _alive(site, remote_pid)
    assert site.sh('test -e "$1" && echo yes || echo no', str(marker)).strip() == "no"
    # ...then goes on with its own work, from a clean tree (the killed run's branch is gone).
    assert out["state"] == "succeeded" and site.version(site.staging) == "2.0"
    assert out["commit"] == site.git(site.origin, "rev-parse", made)
    rows = _journal(site)
    assert [r["state"] for r in rows] == ["recovered", "succeeded"]
    assert [s["phase"] for s in rows[0]["steps"]][-2:] == ["on_failure"] * 2
    assert any("left running by a killed tma" in n for n in _notes(site))


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _alive(site: ApplySite, pid: str) -> bool:
    """Running on the host (a zombie, `Z`, waiting to be reaped is dead already)."""
    stat = site.sh('ps -o stat= -p "$1" || true', pid).strip()
    return bool(stat) and not stat.startswith("Z")


def test_a_freeze_makes_apply_wait_and_touch_nothing(site: ApplySite) -> None:
    _open_request(site)
    today = dt.date.today()
    freeze = {"from": str(today - dt.timedelta(days=1)), "to": str(today + dt.timedelta(days=1))}
    site.write(apply={"freeze": [{**freeze, "reason": "end-of-year sales"}]})
    done = site.tma("apply", "--site", "www")
    assert done.returncode == 7, done.stderr
    assert done.stderr.startswith("waiting: apply on www waits: ")
    assert "(end-of-year sales)" in done.stderr
    assert "next opening" in done.stderr
    _clean_on_main(site)
    assert _journal(site) == []


def test_tma_run_auto_applies_security_updates_in_staging_after_opening_the_request(
    site: ApplySite,
) -> None:
    from check_schema import assert_valid

    site.write(policies={"auto_apply": ["security"]})
    done = site.tma("run", "--format", "json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert_valid(run, "run-output.schema.json")
    (request,) = run["requests"]
    assert request["action"] == "created"
    (applied,) = run["applies"]
    assert (applied["site"], applied["state"], applied["error"]) == ("www", "succeeded", None)
    assert site.version(site.staging) == "2.0" and site.version(site.production) == "1.0"
    shown = site.json("requests", "show", "tma:www:site")
    assert shown["id"] == applied["request"] and shown["state"] == "tested"
    assert [a for a, *_ in _interventions(site)] == ["apply"]
    # The next run finds staging up to date: nothing more is applied, the request stays tested.
    again = site.json("run")
    assert [a["state"] for a in again["applies"]] == ["nothing"]
    assert len(_journal(site)) == 1


def test_dry_run_prints_every_command_and_changes_nothing(site: ApplySite) -> None:
    _open_request(site)
    unknown = site.tma("apply", "--site", "www", "--component", "nope;rm -rf /")
    assert unknown.returncode == 2
    assert "--component nope;rm -rf /: no update to apply in staging (updatable: flatfile)" in (
        unknown.stderr
    )
    out = site.json("apply", "--site", "www", "--component", "flatfile", "--dry-run")
    assert out["state"] == "planned" and out["dry_run"] is True
    commands = [c["command"] for s in out["steps"] for c in s["commands"] if not c["probe"]]
    assert commands[1] == 'sh -c \'printf "%s\\n" "$1" > VERSION.flatfile\' sh 2.0'
    assert commands[-1] == "git push -q origin HEAD"
    table = site.tma("apply", "--site", "www", "--dry-run", "--format", "table")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "dry run of flatfile-update on www (staging) for request #1: planned"
    assert "  flatfile 1.0 → 2.0" in lines
    assert any(line.endswith("$ git push -q origin HEAD") for line in lines)
    _clean_on_main(site)
    assert _journal(site) == []
    assert site.json("requests", "show", "tma:www:site")["state"] == "estimated"


def test_deploy_reads_the_validation_live_from_the_ticket_system(
    site: ApplySite, fake_gitlab: Any
) -> None:
    site.playbook("deploy", DEPLOY)
    site.env["TMA_TEST_GITLAB_TOKEN"] = fake_gitlab.token
    site.write(
        tickets={
            "backend": "gitlab",
            "url": fake_gitlab.url,
            "token": {"$env": "TMA_TEST_GITLAB_TOKEN"},
            "project": fake_gitlab.project.path,
        }
    )
    _open_request(site)
    (issue,) = fake_gitlab.project.issues.values()
    applied = site.json("apply", "--site", "www")
    assert applied["state"] == "succeeded"
    # The apply's note reached the issue through the outbox.
    comments = [n["body"] for n in fake_gitlab.project.notes[int(issue["iid"])]]
    assert any("tma-agent applied this in staging" in c for c in comments), comments
    refused = site.tma("deploy", "--site", "www", "--request", "tma:www:site")
    assert refused.returncode == 6 and "not validated" in refused.stderr
    # The client validates in GitLab; no `tma requests sync`: deploy reads it at that moment.
    fake_gitlab.set_labels(int(issue["iid"]), [*issue["labels"], "tma::validated"], by="jane")
    out = site.json("deploy", "--site", "www", "--request", "tma:www:site")
    assert out["state"] == "succeeded"
    assert site.git(site.production, "rev-parse", "HEAD") == applied["commit"]
    shown = site.json("requests", "show", "tma:www:site")
    assert shown["state"] == "in_production"
    assert [(v["by"], v["source"]) for v in shown["validations"]] == [("jane", "gitlab")]


def test_tma_run_recovers_an_apply_killed_in_the_middle(site: ApplySite) -> None:
    _update(site, pause=120)
    _open_request(site)
    with background_tma("apply", "--site", "www", config=site.config, env=site.env) as first:
        _wait_for(site, Path(f"{site.staging}.started"))
        (running,) = _journal(site)
        remote_pid = site.sh('cat "$1"', running["pid_file"]).strip()
        sigkill(first)
    run = site.json("run")
    (done,) = run["applies"]
    assert done["state"] == "recovered"
    (recovered,) = done["recovered"]
    assert recovered["remote"].startswith(f"killed (pid {remote_pid}")
    assert not _alive(site, remote_pid)
    _clean_on_main(site)
    assert [r["state"] for r in _journal(site)] == ["recovered"]
    assert site.json("requests", "show", "tma:www:site")["state"] == "estimated"
    # Recovered once: the next run has nothing left to clean up.
    assert "applies" not in site.json("run")


def test_a_site_left_in_maintenance_by_a_failed_apply_is_taken_out_of_it(site: ApplySite) -> None:
    # The playbook's own undo forgets maintenance: the agent turns it off all the same.
    site.playbook(
        "flatfile-update",
        """
        name: flatfile-update
        variables:
          version: {required: true}
        steps:
          - maintenance: {enable: true}
          - name: Update that fails
            shell: [sh, -c, 'echo "cannot write" >&2; exit 1']
        on_failure:
          - name: Nothing about maintenance
            shell: ["true"]
        """,
    )
    _open_request(site)
    flag = Path(f"{site.staging}.maintenance")
    done = site.tma("apply", "--site", "www", "--format", "json")
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "rolled_back" and "cannot write" in out["error"]
    assert site.sh('test -e "$1" && echo on || echo off', str(flag)).strip() == "off"
    (row,) = _journal(site)
    assert row["facts"]["maintenance"] is False
    assert "maintenance mode off" in out["notes"]


def test_a_failed_deploy_puts_production_back_and_notes_it(site: ApplySite) -> None:
    site.playbook("flatfile-update", UPDATE_GIT)
    _install(site, fail=True)
    _open_request(site)
    assert site.json("apply", "--site", "www")["state"] == "succeeded"
    assert site.tma("requests", "validate", "tma:www:site", "--by", "Jane").returncode == 0
    before = site.git(site.production, "rev-parse", "HEAD")
    done = site.tma("deploy", "--site", "www", "--request", "tma:www:site", "--format", "json")
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "rolled_back" and "install failed" in out["error"]
    # The stack's undo first, then the core's: production is back where it was.
    assert [s["title"] for s in out["steps"] if s["phase"] == "on_failure"] == [
        "Remove the install marker",
        "Back to the commit production ran before",
    ]
    assert site.git(site.production, "rev-parse", "HEAD") == before
    assert site.git(site.production, "status", "--porcelain") == ""
    assert (
        site.sh('test -e "$1" && echo yes || echo no', f"{site.production}.installed").strip()
        == "no"
    )
    assert site.json("requests", "show", "tma:www:site")["state"] == "tested"
    assert _notes(site)[-1].startswith("tma-agent could not deploy this to production (deploy+")
    assert [a for a, *_ in _interventions(site)] == ["apply"]
    assert [r["state"] for r in _journal(site)] == ["succeeded", "rolled_back"]


def test_a_kill_while_the_apply_is_recorded_leaves_it_whole_to_the_recovery(
    site: ApplySite, postgres_cluster: PostgresCluster
) -> None:
    """The apply's steps all done, its record (journal row ended, request moved, note and
    intervention queued) in one unit of work: SIGKILLed while that commit waits for the
    ledger (here: the interventions table locked by another session of PostgreSQL), no row
    says `succeeded` without its billing; the next apply recovers the run and bills once."""
    url = postgres_cluster.create_database("record")
    site.write(database={"url": url})
    site.playbook("flatfile-update", UPDATE_GIT)
    _open_request(site)
    engine = create_engine(url)
    try:
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE interventions IN EXCLUSIVE MODE"))
            with background_tma("apply", "--site", "www", config=site.config, env=site.env) as first:  # fmt: skip
                _wait_for_blocked_insert(engine)
                (row,) = _pg(engine, "select state, steps from apply_runs")
                steps = row[1] if isinstance(row[1], list) else json.loads(row[1])
                assert [s["status"] for s in steps] == ["changed"] * 4, steps
                sigkill(first)
            holder.rollback()
        assert _pg(engine, "select state from apply_runs") == [("running",)]
        assert _pg(engine, "select count(*) from interventions") == [(0,)]
        notes = _pg(engine, "select payload from outbox where operation = 'update'")
        assert not any("applied this in staging" in str(p) for (p,) in notes)
        out = site.json("apply", "--site", "www")
        (recovered,) = out["recovered"]
        assert "left running by a killed tma" in recovered["message"]
        assert out["state"] == "succeeded" and site.version(site.staging) == "2.0"
        states = _pg(engine, "select state from apply_runs order by id")
        assert states == [("recovered",), ("succeeded",)]
        assert _pg(engine, "select action, request_id is not null from interventions") == [
            ("apply", True)
        ]
        shown = site.json("requests", "show", "tma:www:site")
        assert shown["state"] == "tested"
    finally:
        engine.dispose()


def _pg(engine: Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as db:
        return [tuple(r) for r in db.execute(text(query))]


def _wait_for_blocked_insert(engine: Engine, seconds: float = 120) -> None:
    """Until a session of the ledger waits on a lock to insert a row (the record's unit of
    work: its note's outbox row references the interventions table)."""
    deadline = time.monotonic() + seconds
    query = text(
        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
        "and query ilike 'insert into %'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as db:
            if db.execute(query).scalar():
                return
        time.sleep(0.2)
    seen = _pg(engine, "select state, wait_event_type, left(query, 80) from pg_stat_activity")
    raise AssertionError(f"no insert ever waited on the lock: {seen}")

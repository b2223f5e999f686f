"""The git.* steps through the real engine (playbooks loaded from YAML, the registered steps, a
StepContext from the configuration) on real repositories, locally and over the real sshd; and
`tma playbook run --dry-run` on the command line. Every outcome leaves `git status` empty."""

from __future__ import annotations

import datetime
import os
import pwd
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tma_agent.apply.engine import PlaybookOutcome, roll_back, run_playbook
from tma_agent.apply.playbook import load_playbook
from tma_agent.apply.prepare import open_context, site_by_id
from tma_agent.apply.registry import registered_steps
from tma_agent.apply.steps.git import branch_slug, commit_message
from tma_agent.config import load_config
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.cli import run_tma
from tma_agent.testing.sshd import SSHServer

PWNED = Path("/tmp/pwned")  # noqa: S108 - a fixed path is the point: it must never appear

APPLY = """\
name: git-apply
steps:
  - git.fetch: {}
  - git.branch: {}
  - shell: [sh, -c, "printf 10.1.5 > version.txt && touch added.txt"]
  - shell: [sh, -c, "{{ fail_with }}"]
  - git.commit: {}
  - git.push: {}
on_failure:
  - git.reset: {}
variables:
  fail_with: {default: "true"}
"""

DEPLOY = """\
name: git-deploy
variables:
  commit: {required: true}
  fail_with: {default: "true"}
steps:
  - git.deploy: {commit: "{{ commit }}"}
  - shell: [sh, -c, "{{ fail_with }}"]
on_failure:
  - git.reset: {}
"""

NOOP = """\
name: git-noop
steps:
  - git.branch: {slug: "nothing to do"}
  - git.commit: {}
  - shell: [sh, -c, "touch half-done.txt && {{ fail_with }}"]
on_failure:
  - git.reset: {}
variables:
  fail_with: {default: "true"}
"""

PUSHED = """\
name: git-pushed
steps:
  - git.branch: {}
  - shell: [sh, -c, "printf 10.1.5 > version.txt"]
  - git.commit: {}
  - git.push: {}
  - shell: [sh, -c, "{{ fail_with }}"]
on_failure:
  - git.reset: {}
variables:
  fail_with: {default: "exit 5"}
"""

FINDINGS = [
    {"name": "drupal/core", "kind": "core", "installed": "10.1.0", "recommended": "10.1.5"},
    {
        "name": "$(touch /tmp/pwned);`id`",
        "kind": "module",
        "installed": "1.0",
        "recommended": "1.1",
    },
]


def git(repo: Path, *args: str) -> str:
    """git in `repo` as the user owning it (the ssh user's repositories stay theirs)."""
    argv = [
        "git",
        "-c",
        "safe.directory=*",
        "-c",
        "user.name=dev",
        "-c",
        "user.email=dev@localhost",
    ]
    uid, gid = _owner(repo)
    as_owner: dict[str, Any] = {}
    if os.getuid() == 0 and uid != 0:
        as_owner = {"user": uid, "group": gid, "extra_groups": []}
    env = {**os.environ, "HOME": str(repo.parent)}
    done = subprocess.run(
        [*argv, "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env,
        **as_owner,
    )  # fmt: skip
    return done.stdout.strip()


def _owner(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_gid


@dataclass
class Sites:
    config: Path
    staging: Path
    production: Path
    origin: Path


@pytest.fixture(params=["local", "ssh"])
def sites(request: pytest.FixtureRequest, sshd: SSHServer, tmp_path: Path) -> Iterator[Sites]:
    base = sshd.make_shared_dir(writable=True)
    origin, staging, production = base / "origin.git", base / "staging", base / "production"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(staging)], check=True)
    (staging / "version.txt").write_text("10.1.0")
    (staging / ".gitignore").write_text("files/\n")
    git(staging, "add", "-A")
    git(staging, "-c", "user.name=dev", "-c", "user.email=dev@localhost", "commit", "-qm", "init")
    git(staging, "remote", "add", "origin", str(origin))
    git(staging, "push", "-q", "origin", "main")
    git(staging, "fetch", "-q", "origin")
    subprocess.run(["git", "clone", "-q", str(origin), str(production)], check=True)
    (staging / "files").mkdir()
    (staging / "files" / "upload.jpg").write_text("ignored: must survive every outcome")
    host = "local"
    ssh: dict[str, Any] = {}
    if request.param == "ssh":
        user = pwd.getpwnam(sshd.user)
        for root, dirs, files in os.walk(base):
            for name in [*dirs, *files]:
                os.lchown(Path(root, name), user.pw_uid, user.pw_gid)
        host = f"ssh://{sshd.user}@{sshd.host}:{sshd.port}"
        ssh = sshd.settings().model_dump()
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "git-apply.yaml").write_text(APPLY)
    (playbooks / "git-deploy.yaml").write_text(DEPLOY)
    (playbooks / "git-noop.yaml").write_text(NOOP)
    (playbooks / "git-pushed.yaml").write_text(PUSHED)
    envs = {"staging": str(staging), "production": str(production)}
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "apply": {"playbook_dirs": [str(playbooks)], "backup_dir": str(base / "backups")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [
            {
                "id": "shop",
                "client": "acme",
                "environments": {k: {"host": host, "path": v} for k, v in envs.items()},
            }
        ],
    }
    if ssh:
        config["ssh"] = ssh
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    yield Sites(path, staging, production, origin)


def apply(
    sites: Sites,
    name: str,
    *,
    env: str = "staging",
    variables: dict[str, Any] | None = None,
    request: str | None = None,
    dry_run: bool = False,
    recover: dict[str, Any] | None = None,
    journal: Any = None,
    notes: list[str] | None = None,
) -> tuple[PlaybookOutcome, dict[str, Any]]:
    config = load_config(sites.config)
    pm = get_plugin_manager()
    steps = registered_steps(pm)
    playbook = load_playbook(Path(config.apply.playbook_dirs[0]) / f"{name}.yaml", steps)
    site = site_by_id(config, "shop")
    ctx = open_context(
        config, pm, site, env, playbook, variables or {}, dry_run=dry_run, request=request,
        findings=FINDINGS, stamp="20261202T040000Z-1",
    )  # fmt: skip
    try:
        if recover is not None:
            # What a later run does after a killed one: the journal's facts, then on_failure.
            ctx.facts.update(recover)
            undo = roll_back(playbook, ctx, steps)
            return PlaybookOutcome(name, "shop", env, dry_run, "recovered", steps=undo), ctx.facts
        return run_playbook(playbook, ctx, steps, journal=journal), ctx.facts
    finally:
        if notes is not None:
            notes.extend(ctx.notes)
        ctx.host.close()


def assert_clean(repo: Path) -> None:
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "files" / "upload.jpg").exists() or not (repo / "files").exists()


class _SavingJournal:
    """Records, each time a step sets a fact, the facts and the checkout's branches then."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.saves: list[tuple[dict[str, Any], str]] = []

    def started(self, ctx: Any, playbook: Any) -> None: ...

    def step_done(self, ctx: Any, outcome: Any) -> None: ...

    def finished(self, ctx: Any, outcome: Any) -> None: ...

    def save_facts(self, ctx: Any) -> None:
        self.saves.append((dict(ctx.facts), git(self.repo, "branch", "--list", "tma/*")))


def test_facts_reach_the_journal_before_what_they_undo_exists(sites: Sites) -> None:
    journal = _SavingJournal(sites.staging)
    outcome, facts = apply(sites, "git-apply", journal=journal)
    assert outcome.status == "succeeded", outcome.error
    first_with_start = next(s for s in journal.saves if "git.start" in s[0])
    # Saved while the tma branch did not exist yet: a SIGKILL right after still rolls back.
    assert first_with_start[1] == ""
    assert journal.saves[-1][0] == facts


def test_branch_commit_push_lands_on_origin(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    outcome, facts = apply(sites, "git-apply")
    assert outcome.status == "succeeded", outcome.error
    branch = "tma/2026-12-02-drupal-core-touch-tmp-pwned-id"
    pushed = git(sites.origin, "rev-parse", f"refs/heads/{branch}")
    assert facts == {
        "git.start": start,
        "git.start_branch": "main",
        "git.branch": branch,
        "git.commit": pushed,
        "git.pushed": {"remote": "origin", "branch": branch},
    }
    commit, push = outcome.steps[4], outcome.steps[5]
    assert commit.data["sha"] == pushed and commit.status == "changed"
    assert "2 files changed" in commit.data["diff_stat"]
    assert push.data == {"remote": "origin", "branch": branch, "sha": pushed}
    message = git(sites.origin, "log", "-1", "--format=%B", pushed)
    assert message.splitlines()[2:4] == [
        "drupal/core 10.1.0 → 10.1.5",
        "$(touch /tmp/pwned);`id` 1.0 → 1.1",
    ]
    assert git(sites.origin, "log", "-1", "--format=%an <%ae>", pushed) == (
        "tma-agent <tma-agent@localhost>"
    )
    assert_clean(sites.staging)
    assert not PWNED.exists()
    # The same day again: a new branch, never the pushed one reused.
    git(sites.staging, "checkout", "-q", "main")
    again, facts = apply(sites, "git-apply", request="PROJ-12")
    assert again.status == "succeeded" and facts["git.branch"] == "tma/2026-12-02-proj-12"


def test_rollback_after_push_deletes_the_tma_branch_on_origin_only(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    git(sites.staging, "push", "-q", "origin", "main:refs/heads/feature/keep")
    git(sites.staging, "push", "-q", "origin", "main:refs/heads/tma/2026-11-30-older")
    notes: list[str] = []
    outcome, facts = apply(sites, "git-pushed", notes=notes)
    assert outcome.status == "rolled_back", outcome.error
    branch = facts["git.branch"]
    assert facts["git.pushed"] == {"remote": "origin", "branch": branch}
    reset = outcome.steps[-1]
    assert reset.step == "git.reset" and reset.status == "changed"
    assert reset.data["remote_deleted"] == f"origin/{branch}"
    assert notes == [f"rollback: deleted the pushed branch {branch} from origin"]
    # Only this run's branch went: another tma branch and a non-tma one are untouched.
    assert git(sites.origin, "branch", "--list", "--format=%(refname:short)").split() == [
        "feature/keep", "main", "tma/2026-11-30-older",
    ]  # fmt: skip
    assert git(sites.origin, "rev-parse", "feature/keep") == start
    assert git(sites.staging, "rev-parse", "HEAD") == start
    assert git(sites.staging, "branch", "--list") == "* main"
    assert_clean(sites.staging)


def test_a_remote_refusing_the_delete_is_a_warning_not_a_failed_rollback(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    git(sites.origin, "config", "receive.denyDeletes", "true")
    notes: list[str] = []
    outcome, facts = apply(sites, "git-pushed", notes=notes)
    assert outcome.status == "rolled_back", outcome.error
    branch = facts["git.branch"]
    assert [s.status for s in outcome.steps if s.phase == "on_failure"] == ["changed"]
    assert "remote_deleted" not in outcome.steps[-1].data
    assert len(notes) == 1 and notes[0].startswith(
        f"warning: rollback could not delete branch {branch} from origin ("
    ), notes
    assert "delete it there by hand" in notes[0] and "\n" not in notes[0]
    assert git(sites.origin, "rev-parse", f"refs/heads/{branch}")  # still there, as said
    assert git(sites.staging, "rev-parse", "HEAD") == start
    assert_clean(sites.staging)


def test_a_failed_push_or_a_foreign_pushed_branch_deletes_nothing(sites: Sites) -> None:
    notes: list[str] = []
    # The push was refused (a hook): the fact was saved, but origin never had the branch.
    hook = sites.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho refused by policy >&2\nexit 1\n")
    hook.chmod(0o755)
    os.chown(hook, *_owner(sites.origin))
    outcome, facts = apply(sites, "git-pushed", variables={"fail_with": "true"}, notes=notes)
    assert outcome.status == "rolled_back" and "git push" in (outcome.error or "")
    assert facts["git.pushed"]["branch"] == facts["git.branch"]
    assert notes == [] and "remote_deleted" not in outcome.steps[-1].data
    hook.unlink()
    # A journal naming another branch as pushed (a hostile or stale ledger row): never deleted.
    git(sites.staging, "push", "-q", "origin", "main:refs/heads/release")
    recovered, _ = apply(
        sites, "git-pushed", notes=notes, recover={
            **facts, "git.branch": "release", "git.pushed": {"remote": "origin", "branch": "release"},
        },
    )  # fmt: skip
    assert recovered.steps[0].status == "changed", recovered.steps[0].error
    assert notes == ["rollback: 'release' is not a tma branch: not deleted from origin"]
    assert git(sites.origin, "rev-parse", "--verify", "refs/heads/release")
    assert_clean(sites.staging)


def test_dirty_checkout_is_refused_in_preflight(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    (sites.staging / "version.txt").write_text("edited by hand")
    os.chown(sites.staging / "version.txt", *_owner(sites.staging))
    outcome, facts = apply(sites, "git-apply")
    assert outcome.status == "refused" and "not clean" in (outcome.error or "")
    assert [s.status for s in outcome.steps] == ["refused"] and facts == {}
    assert git(sites.staging, "rev-parse", "HEAD") == start
    assert git(sites.staging, "branch", "--list") == "* main"
    assert not (sites.staging / "added.txt").exists()
    assert git(sites.staging, "status", "--porcelain") == "M version.txt"


def test_failure_after_changes_is_reset(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    outcome, facts = apply(sites, "git-apply", variables={"fail_with": "exit 3"})
    assert outcome.status == "rolled_back", outcome.error
    assert facts["git.start"] == start and facts["git.branch"].startswith("tma/2026-12-02-")
    assert [s.step for s in outcome.steps][-1] == "git.reset"
    assert git(sites.staging, "rev-parse", "HEAD") == start
    assert git(sites.staging, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(sites.staging, "branch", "--list") == "* main"
    assert not (sites.staging / "added.txt").exists()
    assert (sites.staging / "version.txt").read_text() == "10.1.0"
    assert_clean(sites.staging)
    assert (sites.staging / "files" / "upload.jpg").exists(), "ignored files are kept"


def test_deploy_fast_forwards_and_refuses_otherwise(sites: Sites) -> None:
    outcome, _ = apply(sites, "git-apply")
    tested = outcome.steps[4].data["sha"]
    prod_start = git(sites.production, "rev-parse", "HEAD")
    planned, _ = apply(
        sites, "git-deploy", env="production", variables={"commit": tested}, dry_run=True
    )
    assert planned.status == "planned", planned.error
    shown = [c["command"] for c in planned.steps[0].commands if not c["probe"]]
    prod = str(sites.production)
    assert shown == [
        f"env GIT_TERMINAL_PROMPT=0 git -C {prod} fetch --prune -- origin",
        f"git -C {prod} merge -q --ff-only {tested}",
    ]
    assert git(sites.production, "rev-parse", "HEAD") == prod_start
    deployed, facts = apply(sites, "git-deploy", env="production", variables={"commit": tested})
    assert_clean(sites.production)
    assert deployed.status == "succeeded", deployed.error
    assert git(sites.production, "rev-parse", "HEAD") == tested
    assert git(sites.production, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert facts == {"git.start": prod_start, "git.start_branch": "main"}
    assert deployed.steps[0].data["from"] == prod_start
    # A commit not descending from production's main: refused, rolled back, nothing moved.
    git(sites.staging, "checkout", "-q", "main")
    git(sites.staging, "commit", "-q", "--amend", "-m", "rewritten")
    git(sites.staging, "push", "-q", "origin", "HEAD:refs/heads/other")
    other = git(sites.staging, "rev-parse", "HEAD")
    refused, _ = apply(sites, "git-deploy", env="production", variables={"commit": other})
    assert refused.status == "rolled_back" and "not a fast-forward" in (refused.error or "")
    assert git(sites.production, "rev-parse", "HEAD") == tested
    assert_clean(sites.production)
    # A failing step after the fast-forward: production goes back to where it was.
    git(sites.production, "reset", "-q", "--hard", prod_start)
    failed, _ = apply(
        sites,
        "git-deploy",
        env="production",
        variables={"commit": tested, "fail_with": "touch deployed.txt && false"},
    )
    assert failed.status == "rolled_back"
    assert git(sites.production, "rev-parse", "HEAD") == prod_start
    assert not (sites.production / "deployed.txt").exists()
    assert_clean(sites.production)


def test_dry_run_prints_git_argv_and_changes_nothing(sites: Sites) -> None:
    staging = str(sites.staging)
    start = git(sites.staging, "rev-parse", "HEAD")
    done = run_tma(
        "playbook", "run", "git-apply", "--site", "shop", "--dry-run", "--format", "table",
        config=sites.config,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    branch = f"tma/{today}-update"
    for command in [
        f"env GIT_TERMINAL_PROMPT=0 git -C {staging} fetch --prune -- origin",
        f"git -C {staging} checkout -q --no-track -b {branch} origin/main",
        f"git -C {staging} add -A",
        f"git -C {staging} -c user.name=tma-agent -c user.email=tma-agent@localhost commit -q "
        "--author 'tma-agent <tma-agent@localhost>' -m 'Update the site'",
        f"env GIT_TERMINAL_PROMPT=0 git -C {staging} push --porcelain -- origin "
        f"refs/heads/{branch}:refs/heads/{branch}",
    ]:
        assert f":{staging}$ {command}\n" in out, out
    assert git(sites.staging, "rev-parse", "HEAD") == start
    assert git(sites.staging, "branch", "--list") == "* main"
    assert git(sites.origin, "branch", "--list") == "* main"
    assert not (sites.staging / "added.txt").exists()
    assert_clean(sites.staging)


def test_hostile_request_and_branch_names_are_never_run(sites: Sites) -> None:
    outcome, facts = apply(sites, "git-apply", request="$(touch /tmp/pwned)`id`;x")
    assert outcome.status == "succeeded", outcome.error
    assert facts["git.branch"] == "tma/2026-12-02-touch-tmp-pwned-id-x"
    data = yaml.safe_load(sites.config.read_text())
    data["sites"][0]["environments"]["staging"]["branch"] = "main;touch /tmp/pwned"
    sites.config.write_text(yaml.safe_dump(data))
    git(sites.staging, "checkout", "-q", "main")
    refused, _ = apply(sites, "git-apply")
    assert refused.status == "refused" and "invalid branch name" in (refused.error or "")
    assert not PWNED.exists()
    assert_clean(sites.staging)


def test_nothing_to_commit_is_no_error_and_reset_without_start_is_a_no_op(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    outcome, facts = apply(sites, "git-noop")
    assert outcome.status == "succeeded", outcome.error
    commit = outcome.steps[1]
    assert commit.status == "ok" and commit.data == {"sha": start, "diff_stat": ""}
    assert facts["git.branch"] == "tma/2026-12-02-nothing-to-do"
    git(sites.staging, "clean", "-qf")  # the playbook's own half-done.txt
    # A rollback with no git facts (the run died before git.branch): nothing to undo.
    git(sites.staging, "checkout", "-q", "main")
    undone = apply(sites, "git-apply", recover={})[0]
    assert [s.status for s in undone.steps] == ["ok"] and undone.steps[0].data == {}
    assert git(sites.staging, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(sites.staging, "branch", "--list", "tma/*") == "tma/2026-12-02-nothing-to-do"


def test_a_killed_apply_is_rolled_back_from_its_facts(sites: Sites) -> None:
    start = git(sites.staging, "rev-parse", "HEAD")
    outcome, facts = apply(sites, "git-noop", variables={"fail_with": "kill -9 $$"})
    assert outcome.status == "rolled_back"
    # As if the agent died half-way: on the tma branch, a file changed, another one added.
    git(sites.staging, "checkout", "-q", "-b", facts["git.branch"])
    (sites.staging / "version.txt").write_text("half-updated")
    (sites.staging / "half-done.txt").write_text("left behind")
    for name in ("version.txt", "half-done.txt"):
        os.chown(sites.staging / name, *_owner(sites.staging))
    recovered, _ = apply(sites, "git-noop", recover=facts)
    assert [s.status for s in recovered.steps] == ["changed"], recovered.steps[0].error
    assert git(sites.staging, "rev-parse", "HEAD") == start
    assert git(sites.staging, "branch", "--list") == "* main"
    assert not (sites.staging / "half-done.txt").exists()
    assert_clean(sites.staging)


def test_deploy_refused_in_preflight_when_dirty_or_elsewhere(sites: Sites) -> None:
    prod_start = git(sites.production, "rev-parse", "HEAD")
    (sites.production / "hotfix.php").write_text("<?php // edited in production")
    os.chown(sites.production / "hotfix.php", *_owner(sites.production))
    refused, facts = apply(sites, "git-deploy", env="production", variables={"commit": prod_start})
    assert refused.status == "refused" and "not clean" in (refused.error or "") and facts == {}
    (sites.production / "hotfix.php").unlink()
    git(sites.production, "checkout", "-q", "-b", "elsewhere")
    refused, _ = apply(sites, "git-deploy", env="production", variables={"commit": prod_start})
    assert refused.status == "refused" and "is on elsewhere, not main" in (refused.error or "")
    git(sites.production, "checkout", "-q", "main")
    same, _ = apply(sites, "git-deploy", env="production", variables={"commit": prod_start[:12]})
    assert same.status == "succeeded" and same.steps[0].status == "ok"
    assert git(sites.production, "rev-parse", "HEAD") == prod_start
    assert_clean(sites.production)


def test_message_and_slug() -> None:
    assert branch_slug(None, ["drupal/core", "drupal/views"]) == "drupal-core-drupal-views"
    assert branch_slug("PROJ-12", ["x"]) == "proj-12"
    assert branch_slug(None, []) == "update" and branch_slug("$();", []) == "update"
    message = commit_message(FINDINGS[:1], ["drush absent: updb skipped"], request="PROJ-12")
    assert message == (
        "Update drupal/core (PROJ-12)\n\ndrupal/core 10.1.0 → 10.1.5\n\ndrush absent: updb skipped"
    )
    hostile = [{"name": "a\nSigned-off-by: x", "installed": "1\n2", "recommended": None}]
    assert commit_message(hostile, ["two\nlines"]) == (
        "Update a Signed-off-by: x\n\na Signed-off-by: x 1 2 → ?\n\ntwo lines"
    )

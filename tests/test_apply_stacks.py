"""The shipped stack playbooks run through the real engine: a real `composer update` of Drupal
core in a real git working copy over the real sshd, Magento and PrestaShop consoles and Drush
as stand-ins recording their argv, a real `npm install` against a local registry with install
scripts kept off, hostile finding names refused, and `tma playbook list` showing them all.

The git, backup and check steps the shipped playbooks also name belong to other parts of the
apply work and are tested there; here each playbook's own part runs (`stack_part`), followed by
a plain `git commit` so the working copy ends clean and the commit can be checked.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tma_drupal.testing.trees import build_drupal10

from tma_agent.apply import ApplyPlan
from tma_agent.apply.context import StepContext
from tma_agent.apply.engine import PlaybookOutcome, run_playbook
from tma_agent.apply.playbook import STEP_KEYS, load_playbook
from tma_agent.apply.prepare import open_context, site_by_id
from tma_agent.apply.registry import builtin_playbook_dir, registered_steps
from tma_agent.config import load_config
from tma_agent.models import Finding
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.composer_dists import dist_release
from tma_agent.testing.composer_trees import serve_composer_repository
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.stand_ins import calls, write_stand_in

PM = get_plugin_manager()
SHIPPED = builtin_playbook_dir()
#: Step types the shipped playbooks name that other parts of the apply work provide.
OTHER_PARTS = frozenset(
    {
        "git.branch", "git.commit", "git.push", "git.reset", "db.backup", "db.restore",
        "files.backup", "files.restore", "maintenance", "http.check", "visual.check",
    }
)  # fmt: skip
COMMIT = [
    {"name": "Stage everything", "shell": ["git", "add", "-A"]},
    {"name": "Commit", "shell": ["git", "commit", "-q", "-m", "{{ message }}"]},
]


def stack_part(name: str, directory: Path) -> Path:
    """The shipped playbook `name` without the other parts' steps, then a plain git commit."""
    data = yaml.safe_load((SHIPPED / f"{name}.yaml").read_text())

    def own(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in steps if not (set(s) - STEP_KEYS) & OTHER_PARTS]

    data["steps"] = own(data["steps"]) + COMMIT
    data["on_failure"] = own(data.get("on_failure") or []) or None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None}))
    return path


@dataclass
class Applied:
    plan: ApplyPlan
    outcome: PlaybookOutcome
    ctx: StepContext

    def commands(self) -> list[str]:
        return [c["command"] for s in self.outcome.steps for c in s.commands if not c["probe"]]


def apply(
    config_path: Path,
    stack: str,
    findings: list[Finding],
    playbooks: Path,
    *,
    dry_run: bool = False,
) -> Applied:
    """What `tma apply` does for the stack's part: the plugin's plan, its playbook, the engine."""
    config = load_config(config_path)
    site = site_by_id(config, "site")
    plan = PM.hook.tma_apply_plan(site=site, stack=stack, findings=findings)
    assert isinstance(plan, ApplyPlan)
    steps = registered_steps(PM)
    playbook = load_playbook(stack_part(plan.playbook, playbooks), steps)
    ctx = open_context(
        config, PM, site, "staging", playbook, plan.variables, dry_run=dry_run, stack=stack,
        findings=[f.to_dict() for f in findings],
    )  # fmt: skip
    try:
        outcome = run_playbook(playbook, ctx, steps)
    finally:
        ctx.host.close()
    return Applied(plan, outcome, ctx)


def write_config(
    tmp_path: Path,
    site_path: Path,
    stack: str,
    *,
    sshd: SSHServer | None = None,
    backups: Path | None = None,
    options: Mapping[str, Any] | None = None,
    sources: Mapping[str, Any] | None = None,
) -> Path:
    host = f"ssh://{sshd.user}@{sshd.host}:{sshd.port}" if sshd else "local"
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "apply": {"backup_dir": str(backups or tmp_path / "backups")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [
            {
                "id": "site",
                "client": "acme",
                "stack": stack,
                "options": dict(options or {}),
                "environments": {"staging": {"host": host, "path": str(site_path)}},
            }
        ],
    }
    if sshd:
        config["ssh"] = sshd.settings().model_dump()
    if sources:
        config["sources"] = dict(sources)
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def commit_tree(repo: Path, ignore: str = "") -> None:
    """A working copy with everything committed on `main` (what a staging checkout is)."""
    (repo / ".gitignore").write_text(ignore)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Agency")
    git(repo, "config", "user.email", "dev@agency.example")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Site as deployed")


def hand_to(sshd: SSHServer, *paths: Path) -> None:
    """Give trees built by the test to the ssh user (who runs every command of the apply)."""
    if sshd.is_root:
        for path in paths:
            subprocess.run(["chown", "-R", f"{sshd.user}:", str(path)], check=True)


def composer(project: Path, home: Path, *args: str) -> None:
    env = {**os.environ, "COMPOSER_HOME": str(home), "COMPOSER_ALLOW_SUPERUSER": "1"}
    done = subprocess.run(
        ["composer", *args, "--no-interaction", "--no-progress"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def locked(project: Path) -> dict[str, str]:
    lock = json.loads((project / "composer.lock").read_text())
    return {p["name"]: p["version"] for p in lock["packages"]}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


# --- Drupal 8+: a real composer update ---------------------------------------------------------


def drupal_catalog(server: FeedServer, core: list[str], pathauto: list[str]) -> dict[str, Any]:
    def core_files(version: str) -> dict[str, str]:
        return {"lib/Drupal.php": f"<?php\nclass Drupal {{ const VERSION = '{version}'; }}\n"}

    return {
        "drupal/core": [
            dist_release(server, "drupal/core", v, type="drupal-core", files=core_files(v))
            for v in core
        ],
        "drupal/core-recommended": [
            dist_release(
                server,
                "drupal/core-recommended",
                v,
                type="metapackage",
                require={"drupal/core": v},
            )
            for v in core
        ],  # fmt: skip
        "drupal/pathauto": [
            dist_release(
                server,
                "drupal/pathauto",
                v,
                type="drupal-module",
                require={"drupal/core": "^10"},
                files={"pathauto.info.yml": "name: Pathauto\n"},
            )
            for v in pathauto
        ],  # fmt: skip
    }


def build_drupal_site(root: Path, server: FeedServer, tmp_path: Path) -> Path:
    """A Drupal 10.2.3 site as `composer create-project` leaves it (web/ docroot, composer.json
    and lock, vendor/ ignored by git), built with the real composer from the local repository;
    then 10.2.5 and pathauto 1.13.0 are published."""
    old = drupal_catalog(server, ["10.2.3"], ["1.12.0"])
    repo = serve_composer_repository(server, "/drupal", old)
    build_drupal10(root, core="10.2.3", composer=False, modules={})
    manifest = {
        "name": "acme/site",
        "type": "project",
        "require": {"drupal/core-recommended": "^10.2", "drupal/pathauto": "^1.12"},
        "repositories": [{"type": "composer", "url": repo}, {"packagist.org": False}],
        "config": {"secure-http": False, "allow-plugins": {}},
        "minimum-stability": "stable",
        "prefer-stable": True,
    }
    (root / "composer.json").write_text(json.dumps(manifest, indent=4) + "\n")
    composer(root, tmp_path / "composer-home", "update")
    assert locked(root)["drupal/core"] == "10.2.3"
    commit_tree(root, "/vendor/\n")
    serve_composer_repository(
        server, "/drupal", drupal_catalog(server, ["10.2.5", "10.2.3"], ["1.13.0", "1.12.0"])
    )
    return root


DRUPAL_FINDINGS = [
    Finding("drupal", "core", "10.2.3", "10.2.5", "10.2.5", "security"),
    Finding("pathauto", "module", "8.x-1.12", "8.x-1.13", "8.x-1.13", "bugfix"),
    Finding("token", "module", "8.x-1.13", "8.x-1.13", "8.x-1.13", "none"),
]


def test_drupal_core_update_over_ssh(sshd: SSHServer, server: FeedServer, tmp_path: Path) -> None:
    site = build_drupal_site(sshd.make_shared_dir(writable=True), server, tmp_path)
    logs = sshd.make_shared_dir(writable=True)
    # Drush as `composer require drush/drush` installs it: the project's vendor/bin/drush.
    write_stand_in(site / "vendor/bin/drush", logs / "drush.jsonl")
    backups = sshd.make_shared_dir(writable=True)
    hand_to(sshd, site, logs)
    config = write_config(tmp_path, site, "drupal", sshd=sshd, backups=backups)

    done = apply(config, "drupal", DRUPAL_FINDINGS, tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    assert done.plan.variables["packages"] == ["drupal/core", "drupal/core-*", "drupal/pathauto"]
    assert locked(site) == {
        "drupal/core": "10.2.5",
        "drupal/core-recommended": "10.2.5",
        "drupal/pathauto": "1.13.0",
    }
    assert "10.2.5" in (site / "vendor/drupal/core/lib/Drupal.php").read_text()
    assert [(c["argv"], c["cwd"], c["rc"]) for c in calls(logs / "drush.jsonl")] == [
        (["updatedb", "-y"], str(site), 0),
        (["cache:rebuild"], str(site), 0),
    ]
    assert git(site, "log", "-1", "--format=%s") == (
        "Update drupal/core 10.2.5, drupal/pathauto 1.13.0\n"
    )
    assert git(site, "show", "--name-only", "--format=", "HEAD").split() == ["composer.lock"]
    assert git(site, "status", "--porcelain") == ""
    assert "Locked: drupal/core 10.2.5, drupal/pathauto 1.13.0" in done.ctx.notes
    assert (
        "composer update drupal/core 'drupal/core-*' drupal/pathauto --with-dependencies "
        "--no-interaction --no-progress"
    ) in done.commands()


def test_drupal_without_drush_warns_and_skips_the_database_updates(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_drupal_site(tmp_path / "site", server, tmp_path)
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")
    config = write_config(tmp_path, site, "drupal")

    done = apply(config, "drupal", DRUPAL_FINDINGS[:1], tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    status = {s.title: s.status for s in done.outcome.steps}
    assert status["Run the database updates"] == "skipped"
    assert status["Rebuild the cache"] == "skipped"
    assert any(n.startswith("Warning: no Drush on local") for n in done.ctx.notes)
    assert locked(site)["drupal/core"] == "10.2.5"


def test_drupal_drush_on_the_path_and_a_target_composer_cannot_reach(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_drupal_site(tmp_path / "site", server, tmp_path)
    bin_dir, log = tmp_path / "bin", tmp_path / "drush.jsonl"
    write_stand_in(bin_dir / "drush", log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")
    config = write_config(tmp_path, site, "drupal")
    # The feed recommends 10.2.6, which the Composer repository does not have yet.
    ahead = [Finding("drupal", "core", "10.2.3", "10.2.6", "10.2.6", "security")]

    done = apply(config, "drupal", ahead, tmp_path / "playbooks")

    assert done.outcome.status == "rolled_back"  # (the undo steps are the other parts')
    assert "drupal/core 10.2.5 (wanted 10.2.6)" in (done.outcome.error or "")
    assert calls(log) == []  # Drush never ran on a lock short of its target
    assert git(site, "log", "-1", "--format=%s") == "Site as deployed\n"

    done = apply(config, "drupal", DRUPAL_FINDINGS[:1], tmp_path / "playbooks2")
    assert done.outcome.status == "succeeded", done.outcome.error
    assert [c["argv"] for c in calls(log)] == [["updatedb", "-y"], ["cache:rebuild"]]
    assert {s.title: s.data for s in done.outcome.steps}[
        "Look for Drush (a warning when the host has none)"
    ] == {
        "found": True,
        "path": str(bin_dir / "drush"),
    }

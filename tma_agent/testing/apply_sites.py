"""Run a stack's apply in tests as `tma apply` does: the stack plugin's plan for the findings,
its shipped playbook, the real engine, on a site's real git working copy (local, or over the
real sshd by its test user).

`stack_part` keeps the steps of a shipped playbook that the stack itself provides (the shell
commands, `drupal.*`, `prestashop.*`...) and drops those of the other parts of the apply work
(git, backups, checks: tested on their own), then ends with a plain `git commit` so the working
copy ends clean and the commit can be checked.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pluggy
import yaml

from tma_agent.apply import ApplyPlan
from tma_agent.apply.context import StepContext
from tma_agent.apply.engine import PlaybookOutcome, run_playbook
from tma_agent.apply.playbook import STEP_KEYS, load_playbook
from tma_agent.apply.prepare import open_context, site_by_id
from tma_agent.apply.registry import builtin_playbook_dir, registered_steps
from tma_agent.config import load_config
from tma_agent.models import Finding
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.sshd import SSHServer

__all__ = [
    "COMMIT",
    "OTHER_PARTS",
    "SHIPPED",
    "Applied",
    "apply_findings",
    "commit_tree",
    "composer",
    "git",
    "hand_to",
    "locked",
    "stack_part",
    "write_config",
]

SHIPPED = builtin_playbook_dir()
#: Step types the shipped playbooks name that other parts of the apply work provide.
OTHER_PARTS = frozenset(
    {
        "git.fetch", "git.branch", "git.commit", "git.push", "git.reset", "db.backup", "db.restore",
        "files.backup", "files.restore", "maintenance", "http.check", "visual.check",
    }
)  # fmt: skip
COMMIT = [
    {"name": "Stage everything", "shell": ["git", "add", "-A"]},
    {"name": "Commit", "shell": ["git", "commit", "-q", "-m", "Apply {{ stack }} updates"]},
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


@lru_cache(maxsize=1)
def _plugin_manager() -> pluggy.PluginManager:
    return get_plugin_manager()


def apply_findings(
    config_path: Path,
    stack: str,
    findings: list[Finding],
    playbooks: Path,
    *,
    dry_run: bool = False,
) -> Applied:
    """What `tma apply` does for the stack's part: the plugin's plan, its playbook, the engine."""
    pm = _plugin_manager()
    config = load_config(config_path)
    site = site_by_id(config, "site")
    plan = pm.hook.tma_apply_plan(site=site, stack=stack, findings=findings)
    if not isinstance(plan, ApplyPlan):
        raise AssertionError(f"no stack plans an apply for {stack}: {plan!r}")
    steps = registered_steps(pm)
    playbook = load_playbook(stack_part(plan.playbook, playbooks), steps)
    ctx = open_context(
        config, pm, site, "staging", playbook, plan.variables, dry_run=dry_run, stack=stack,
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
    if done.returncode != 0:
        raise AssertionError(f"composer {' '.join(args)} failed:\n{done.stderr}")


def locked(project: Path) -> dict[str, str]:
    lock = json.loads((project / "composer.lock").read_text())
    return {p["name"]: p["version"] for p in lock["packages"]}

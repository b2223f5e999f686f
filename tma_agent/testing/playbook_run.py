"""Run a playbook given as text on one site, in-process, through the real engine, config loader
and plugin manager, keeping the facts after every step as the ledger's journal would."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
import yaml

from tma_agent.apply import StepContext
from tma_agent.apply.engine import PlaybookOutcome, StepOutcome, run_playbook
from tma_agent.apply.playbook import Playbook, load_playbook
from tma_agent.apply.prepare import open_context
from tma_agent.apply.registry import registered_steps
from tma_agent.config import load_config

__all__ = ["Applied", "FactsJournal", "apply_playbook_text"]


@dataclass
class FactsJournal:
    """A Journal keeping (phase, step, status, facts) after every step."""

    after: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    #: The facts each time a step set one (what the ledger's journal saves at once).
    saved: list[dict[str, Any]] = field(default_factory=list)

    def started(self, ctx: StepContext, playbook: Playbook) -> None:
        return None

    def step_done(self, ctx: StepContext, outcome: StepOutcome) -> None:
        self.after.append((outcome.phase, outcome.step, outcome.status, copy.deepcopy(ctx.facts)))

    def save_facts(self, ctx: StepContext) -> None:
        self.saved.append(copy.deepcopy(dict(ctx.facts)))

    def finished(self, ctx: StepContext, outcome: PlaybookOutcome) -> None:
        return None

    def facts(self, key: str) -> list[tuple[str, Any]]:
        """(phase, facts[key]) after each step."""
        return [(phase, facts.get(key)) for phase, _, _, facts in self.after]


@dataclass
class Applied:
    outcome: PlaybookOutcome
    ctx: StepContext
    journal: FactsJournal

    def step_data(self, index: int) -> dict[str, Any]:
        return self.outcome.steps[index].data


def apply_playbook_text(
    tmp_path: Path,
    pm: pluggy.PluginManager,
    playbook: str,
    *,
    site_path: Path,
    url: str | None = None,
    stack: str | None = None,
    host: str = "local",
    ssh: dict[str, Any] | None = None,
    backup_dir: Path | None = None,
    http: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> Applied:
    """Site `shop` of client `acme`, environment `staging` at `site_path` on `host`; config,
    playbook and state under `tmp_path`. `backup_dir` (where pid files go) must be writable
    by the host's user: over the test sshd, a shared dir of its login user."""
    environment: dict[str, Any] = {"host": host, "path": str(site_path)}
    if url:
        environment["url"] = url
    site: dict[str, Any] = {
        "id": "shop",
        "client": "acme",
        "environments": {"staging": environment},
    }
    if stack:
        site["stack"] = stack
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "http": http or {"timeout": 5},
        "apply": {"backup_dir": str(backup_dir or tmp_path / "backups")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [site],
    }
    if ssh:
        config["ssh"] = ssh
    (tmp_path / "tma.yaml").write_text(yaml.safe_dump(config))
    loaded = load_config(tmp_path / "tma.yaml")
    steps = registered_steps(pm)
    (tmp_path / "playbook.yaml").write_text(playbook)
    book = load_playbook(tmp_path / "playbook.yaml", steps)
    ctx = open_context(loaded, pm, loaded.sites[0], "staging", book, {}, dry_run=dry_run)
    journal = FactsJournal()
    try:
        outcome = run_playbook(book, ctx, steps, journal=journal)
    finally:
        ctx.host.close()
    return Applied(outcome, ctx, journal)

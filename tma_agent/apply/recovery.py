"""Cleaning up after a run that was killed in the middle (SIGKILL, OOM, power cut).

Called with the site's lock held: a journal row of the site still `running` then belongs to a
process that lost the lock, which only happens when it died. Its remote command is stopped
(the pid file on the host), the playbook's `on_failure` steps run with the facts it persisted,
a site left in maintenance is turned back on, and the row is marked `recovered`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
import structlog
from sqlalchemy import select

from tma_agent.apply._types import StepInfo
from tma_agent.apply.context import StepContext
from tma_agent.apply.engine import StepOutcome, roll_back
from tma_agent.apply.journal import LedgerJournal
from tma_agent.apply.playbook import Playbook, load_playbook
from tma_agent.config import Config, Site
from tma_agent.errors import TmaError
from tma_agent.hosts import Host
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import ApplyRun, ApplyState, Request, utcnow

__all__ = ["Recovered", "kill_remote", "maintenance_off", "recover_site"]

log = structlog.get_logger()

#: Seconds a remote command gets to stop after SIGTERM before SIGKILL.
_GRACE = 5.0
#: How far the host's clock may be from the agent's when telling a reused pid.
_CLOCK_SLACK = dt.timedelta(minutes=5)


@dataclass
class Recovered:
    journal: int
    playbook: str
    env: str
    #: What happened to the remote command: `killed`, `gone`, `none recorded`.
    remote: str
    undone: list[StepOutcome]
    error: str | None = None

    @property
    def message(self) -> str:
        failed = [s for s in self.undone if s.status == "failed"]
        verdict = "rolled back" if not failed and self.error is None else "rollback incomplete"
        detail = f": {self.error or failed[0].error}" if failed or self.error else ""
        return (
            f"journal #{self.journal} ({self.playbook} on {self.env}) was left running by a "
            f"killed tma; remote command {self.remote}; {verdict}{detail}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "journal": self.journal,
            "playbook": self.playbook,
            "env": self.env,
            "remote": self.remote,
            "undone": [s.to_dict() for s in self.undone],
            "error": self.error,
            "message": self.message,
        }


def recover_site(
    ledger: Ledger,
    config: Config,
    pm: pluggy.PluginManager,
    site: Site,
    steps: dict[str, StepInfo],
) -> list[Recovered]:
    """Recover every run of `site` left `running` (the caller holds the site's lock and has
    started none yet, so each belongs to a process that died, whatever its `holder` says: a
    pid may have been reused since); the runs recovered, oldest first."""
    with ledger.session() as session:
        stale = list(
            session.scalars(
                select(ApplyRun)
                .where(ApplyRun.site == site.id, ApplyRun.state == ApplyState.RUNNING)
                .order_by(ApplyRun.id)
            )
        )
    return [_recover(ledger, config, pm, site, steps, row) for row in stale]


def _recover(
    ledger: Ledger,
    config: Config,
    pm: pluggy.PluginManager,
    site: Site,
    steps: dict[str, StepInfo],
    row: ApplyRun,
) -> Recovered:
    from tma_agent.apply.prepare import open_context

    journal = LedgerJournal.resume(ledger, row)
    context = row.context or {}
    recovered = Recovered(row.id, row.playbook, row.env, "none recorded", [])
    try:
        playbook = _playbook_of(context, steps)
        ctx = open_context(
            config,
            pm,
            site,
            row.env,
            playbook,
            _declared(playbook, context.get("vars") or {}),
            dry_run=False,
            stack=context.get("stack"),
            stamp=context.get("stamp"),
        )
    except TmaError as exc:
        recovered.error = f"cannot rebuild the run: {exc}"
        _close(journal, ledger, row, recovered)
        return recovered
    try:
        recovered.remote = kill_remote(ctx.host, row.pid_file, since=row.started_at)
        ctx.vars.update(context.get("vars") or {})
        ctx.facts.update(row.facts or {})
        recovered.undone = roll_back(playbook, ctx, steps, journal=journal)
        problem = maintenance_off(ctx, steps)
        if problem:
            recovered.error = problem
    except TmaError as exc:
        recovered.error = str(exc)
    finally:
        ctx.host.close()
    _close(journal, ledger, row, recovered)
    return recovered


def _playbook_of(context: dict[str, Any], steps: dict[str, StepInfo]) -> Playbook:
    path = context.get("playbook_path")
    if not path:
        raise TmaError("the journal names no playbook file")
    playbook = load_playbook(Path(path), steps)
    extra = context.get("extra_playbook_path")
    if extra:  # a deploy: the stack's install steps ran after the core ones
        from tma_agent.apply.deploy import combine

        playbook = combine(playbook, load_playbook(Path(extra), steps))
    return playbook


def _declared(playbook: Playbook, variables: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in variables.items() if k in playbook.variables}


def _close(journal: LedgerJournal, ledger: Ledger, row: ApplyRun, recovered: Recovered) -> None:
    journal.update(state=ApplyState.RECOVERED, error=recovered.message, ended_at=utcnow())
    if row.request_id is None:
        return
    from tma_agent.apply.requests import add_note

    with ledger.session() as session:
        request = session.get(Request, row.request_id)
        if request is not None:
            add_note(
                session,
                request,
                f"tma-agent: {recovered.message}.",
                key=f"recovered:{request.fingerprint}:{row.id}",
            )


def kill_remote(host: Host, pid_file: str | None, *, since: dt.datetime | None = None) -> str:
    """Stop the command whose pid `pid_file` holds on `host` (and its children), if it still
    runs: `killed`, `gone` or `none recorded`. A process older than `since` (the run's start)
    is not the run's: its pid was reused, and it is left alone."""
    if not pid_file:
        return "none recorded"
    read = host.run(["cat", pid_file], check=False)
    pid = read.text.strip()
    if not read.ok or not pid.isdigit():
        return "none recorded"
    if not _alive(host, pid):
        return "gone"
    if since is not None and _older_than(host, pid, since):
        return f"gone (pid {pid} now belongs to an older process, left alone)"
    # Children first: a command run through a shell may have forked its worker.
    host.run(["pkill", "-TERM", "-P", pid], check=False)
    host.run(["kill", "-TERM", pid], check=False)
    deadline = time.monotonic() + _GRACE
    while time.monotonic() < deadline:
        if not _alive(host, pid):
            return f"killed (pid {pid})"
        time.sleep(0.2)
    host.run(["pkill", "-KILL", "-P", pid], check=False)
    host.run(["kill", "-KILL", pid], check=False)
    return f"killed (pid {pid}, SIGKILL)"


def _older_than(host: Host, pid: str, since: dt.datetime) -> bool:
    elapsed = host.run(["ps", "-o", "etimes=", "-p", pid], check=False).text.strip()
    if not elapsed.isdigit():
        return False
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(elapsed))
    return started < since - _CLOCK_SLACK


def _alive(host: Host, pid: str) -> bool:
    # A zombie (`Z`) is dead already; `ps` says so where `kill -0` would not.
    state = host.run(["ps", "-o", "stat=", "-p", pid], check=False)
    return state.ok and bool(state.text.strip()) and not state.text.strip().startswith("Z")


def maintenance_off(ctx: StepContext, steps: dict[str, StepInfo]) -> str | None:
    """Turn maintenance off when the facts say the site was left in it; a problem, or None."""
    if not ctx.facts.get("maintenance"):
        return None
    info = steps.get("maintenance")
    if info is None:
        return "the site may still be in maintenance: no `maintenance` step is registered"
    try:
        info.run(ctx, info.args_model.model_validate({"enable": False}))
    except TmaError as exc:
        return f"the site is still in maintenance: {exc}"
    ctx.facts["maintenance"] = False
    return None

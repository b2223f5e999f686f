"""One journaled playbook run on a site's environment, shared by `tma apply`, `tma deploy` and
`tma playbook run`: the context, the ledger journal, maintenance always off after a failure,
and what staging tested (commit, branch, diff stat) after a success."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy
from sqlalchemy.orm import Session

from tma_agent.apply._types import StepInfo
from tma_agent.apply.context import StepContext
from tma_agent.apply.engine import NullJournal, PlaybookOutcome, run_playbook
from tma_agent.apply.journal import LedgerJournal
from tma_agent.apply.playbook import Playbook
from tma_agent.apply.recovery import maintenance_off
from tma_agent.config import Config, Site
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import utcnow

__all__ = ["TESTED", "Execution", "execute"]

#: The journal fact holding what a successful run left checked out: commit, branch, diff stat.
TESTED = "apply.tested"


@dataclass
class Execution:
    outcome: PlaybookOutcome
    ctx: StepContext
    journal_id: int | None
    started_at: Any
    ended_at: Any
    #: {commit, branch, start, diff_stat} when the tree is a Git checkout and the run succeeded.
    tested: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def execute(
    ledger: Ledger | None,
    config: Config,
    pm: pluggy.PluginManager,
    site: Site,
    env_name: str,
    playbook: Playbook,
    variables: Mapping[str, Any],
    steps: dict[str, StepInfo],
    *,
    action: str,
    dry_run: bool,
    stack: str | None = None,
    request_id: int | None = None,
    request_ref: str | None = None,
    findings: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
    record: Callable[[Session, Execution], None] | None = None,
) -> Execution:
    """Run `playbook` with a ledger journal (none in dry-run or without a ledger). `record`
    writes what the run did (the request's note and state, the intervention) in the unit of
    work that ends the journal's row: a run killed before it is recovered as a whole by the
    next one on the site, never left ended without its record."""
    from tma_agent.apply.prepare import open_context

    ctx = open_context(
        config,
        pm,
        site,
        env_name,
        playbook,
        variables,
        dry_run=dry_run,
        stack=stack,
        request=request_ref,
        findings=findings,
    )
    journal: LedgerJournal | None = None
    if ledger is not None and not dry_run:
        journal = LedgerJournal(
            ledger, action=action, request_id=request_id, context=context, deferred=True
        )
    started = utcnow()
    try:
        start = None if dry_run else _git(ctx, "rev-parse", "HEAD")
        outcome = run_playbook(playbook, ctx, steps, journal=journal or NullJournal())
        execution = Execution(outcome, ctx, journal.run_id if journal else None, started, None)
        if not dry_run and not outcome.ok:
            problem = maintenance_off(ctx, steps)
            if problem:
                execution.problems.append(problem)
                outcome.error = f"{outcome.error}; {problem}"
        if not dry_run and outcome.status == "succeeded":
            execution.tested = _tested(ctx, start)
    except BaseException:
        if journal is not None and ledger is not None:  # the engine rolled back: end the row
            with ledger.session() as session:
                journal.close(session, error="interrupted")
        raise
    finally:
        ctx.host.close()
    execution.ended_at = utcnow()
    if journal is not None and ledger is not None:
        _close(ledger, journal, execution, record)
    return execution


def _close(
    ledger: Ledger,
    journal: LedgerJournal,
    execution: Execution,
    record: Callable[[Session, Execution], None] | None,
) -> None:
    facts = {**execution.ctx.facts}
    if execution.tested:
        facts[TESTED] = execution.tested
    error = execution.outcome.error
    try:
        with ledger.session() as session:
            journal.close(session, facts=facts, error=error)
            if record is not None:
                record(session, execution)
    except Exception:
        # The record refused (a validated month, a request gone): the run still ended as it
        # did, and says so; the refusal reaches the command's user.
        with ledger.session() as session:
            journal.close(session, facts=facts, error=error)
        raise


def _git(ctx: StepContext, *args: str) -> str | None:
    result = ctx.probe(["git", *args])
    return result.text.strip() if result.ok and result.text.strip() else None


def _tested(ctx: StepContext, start: str | None) -> dict[str, Any]:
    commit = _git(ctx, "rev-parse", "HEAD")
    if commit is None:
        return {}
    tested: dict[str, Any] = {"commit": commit, "start": start}
    tested["branch"] = _git(ctx, "rev-parse", "--abbrev-ref", "HEAD")
    if start and start != commit:
        tested["diff_stat"] = _git(ctx, "diff", "--stat", start, commit)
    return tested

"""`tma apply`: the stack's playbook for a site's findings, run in staging under the site's lock,
journaled, then the request moved to `in_staging` and `tested` (or a note with the error) and
the intervention recorded for billing. Also what `tma run`'s auto-apply calls."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pluggy
from sqlalchemy.orm import Session

from tma_agent.apply.findings import STAGING, auto_appliable, check_staging, select_findings
from tma_agent.apply.gate import check_window
from tma_agent.apply.recovery import recover_site
from tma_agent.apply.running import Execution, execute
from tma_agent.config import Config, Site
from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Request, WorkState
from tma_agent.models import UPDATE_SEVERITY, Finding

__all__ = ["ApplyOutcome", "apply_site", "fill_outcome", "site_session"]


@dataclass
class ApplyOutcome:
    site: str
    env: str
    action: str = "apply"
    #: succeeded, planned (dry-run), nothing (no update to apply), rolled_back, failed, refused
    state: str = "nothing"
    playbook: str | None = None
    request: int | None = None
    journal: int | None = None
    commit: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    recovered: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("succeeded", "planned", "nothing")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextmanager
def site_session(
    config: Config, pm: pluggy.PluginManager, site: Site, *, what: str | None, dry_run: bool
) -> Iterator[tuple[Ledger | None, list[dict[str, Any]]]]:
    """The windows (for `what`: apply, deploy; None: none), the ledger, the site's lock and
    the recovery of killed runs: what every change to a site starts with. Yields (ledger, or
    None in a dry run without one; the runs recovered)."""
    from tma_agent.apply.registry import registered_steps
    from tma_agent.billing.periods import zone

    settings = config.apply_for(site)
    if what is not None and not dry_run:
        check_window(site.id, what, settings.windows, settings.freeze, zone(config.timezone))
    if dry_run:
        from tma_agent.ledger.database import open_existing_ledger

        ledger, _ = open_existing_ledger(config)
    else:
        from tma_agent.ledger import open_ledger

        ledger = open_ledger(config)
    try:
        if ledger is None or dry_run:
            yield ledger, []
            return
        from tma_agent.ledger.locks import hold_lock

        with hold_lock(ledger, f"site:{site.id}"):
            recovered = recover_site(ledger, config, pm, site, registered_steps(pm))
            yield ledger, [r.to_dict() for r in recovered]
    finally:
        if ledger is not None:
            ledger.close()


def apply_site(
    config: Config,
    pm: pluggy.PluginManager,
    site: Site,
    *,
    components: Collection[str] = (),
    request_ref: str | None = None,
    auto_levels: Collection[str] | None = None,
    dry_run: bool = False,
) -> ApplyOutcome:
    """Apply the staging findings of `site` (only `components` when given; with `auto_levels`,
    only those the policy's `auto_apply` covers)."""
    from tma_agent.apply.registry import playbook_by_name, registered_steps

    outcome = ApplyOutcome(site.id, STAGING)
    with site_session(config, pm, site, what="apply", dry_run=dry_run) as (ledger, recovered):
        outcome.recovered = recovered
        report = check_staging(config, pm, site)
        if auto_levels is not None:
            chosen = auto_appliable(report.components, auto_levels)
        else:
            chosen = select_findings(report.components, components)
        outcome.findings = [_finding(f) for f in chosen]
        if not chosen:
            return outcome
        stack = report.stack or site.stack
        plan = pm.hook.tma_apply_plan(site=site, stack=stack, findings=chosen)
        if plan is None:
            raise TmaError(f"site {site.id!r}: no plugin says how to apply updates of {stack!r}")
        steps = registered_steps(pm)
        playbook = playbook_by_name(plan.playbook, pm, config.apply_for(site), steps)
        request = _request(ledger, site.id, request_ref)
        execution = execute(
            ledger,
            config,
            pm,
            site,
            STAGING,
            playbook,
            plan.variables,
            steps,
            action="apply",
            dry_run=dry_run,
            stack=stack,
            request_id=request.id if request else None,
            request_ref=request.fingerprint if request else None,
            findings=outcome.findings,
            record=partial(_record, config, site, stack, outcome, chosen, request),
        )
        fill_outcome(outcome, execution, request)
    return outcome


def _request(ledger: Ledger | None, site_id: str, reference: str | None) -> Request | None:
    from tma_agent.apply.requests import pick_request

    if ledger is None:
        if reference is not None:
            raise TmaError(f"--request {reference}: there is no ledger yet")
        return None
    with ledger.session() as session:
        return pick_request(session, site_id, reference)


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "name": finding.name,
        "kind": finding.kind,
        "installed": finding.installed,
        "recommended": finding.recommended,
        "update": finding.update,
    }


def fill_outcome(outcome: ApplyOutcome, execution: Execution, request: Request | None) -> None:
    result, ctx = execution.outcome, execution.ctx
    outcome.state, outcome.playbook, outcome.error = result.status, result.playbook, result.error
    outcome.request = request.id if request else None
    outcome.journal = execution.journal_id
    outcome.commit = execution.tested.get("commit")
    outcome.steps = [s.to_dict() for s in result.steps]
    outcome.notes = list(ctx.notes)
    outcome.attachments = [{"label": a.label, "path": str(a.path)} for a in ctx.attachments]


def _record(
    config: Config,
    site: Site,
    stack: str | None,
    outcome: ApplyOutcome,
    chosen: list[Finding],
    picked: Request | None,
    session: Session,
    execution: Execution,
) -> None:
    """In the unit of work that ends the run's journal row (`running.execute`)."""
    from tma_agent.apply.notes import failure_note, success_note
    from tma_agent.apply.requests import add_note, files_of, move_request
    from tma_agent.billing.record import record_intervention

    fill_outcome(outcome, execution, picked)
    versions = ", ".join(f"{f.name} {f.installed} → {f.recommended}" for f in chosen)
    request = session.get(Request, outcome.request) if outcome.request else None
    key = f"apply:{request.fingerprint if request else site.id}:{outcome.journal}"
    if outcome.state == "succeeded":
        if request is not None:
            note = success_note(execution, chosen, "staging")
            move_request(
                session,
                request,
                [WorkState.IN_STAGING, WorkState.TESTED],
                note,
                key=key,
                files=files_of(config, request, execution),
            )
        record_intervention(
            session,
            config,
            site=site.id,
            kind=request.kind if request else "preventive",
            action="apply",
            description=f"Applied in staging ({outcome.playbook}): {versions}",
            actor="tma-agent",
            started_at=execution.started_at,
            ended_at=execution.ended_at,
            request_id=request.id if request else None,
            stack=stack,
            update_kind=_most_urgent(chosen),
        )
    elif request is not None:
        # A failed visual check's images show what went wrong: they go with the note.
        note = failure_note(execution, "staging")
        add_note(session, request, note, key=key, files=files_of(config, request, execution))


def _most_urgent(findings: list[Finding]) -> str | None:
    kinds = {f.update for f in findings}
    return next((k for k in UPDATE_SEVERITY if k in kinds), None)

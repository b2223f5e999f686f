"""`tma deploy`: production brought to the exact commit a request's staging apply tested, for
a request the client validated (read live from the ticket system when it can say so), through
the core `deploy` playbook followed by the stack's install steps (`tma_deploy_plan`)."""

from __future__ import annotations

import dataclasses
from functools import partial

import pluggy
from sqlalchemy import select
from sqlalchemy.orm import Session

from tma_agent.apply.playbook import Playbook
from tma_agent.apply.requests import NotValidated, move_request, require_validation
from tma_agent.apply.running import TESTED, Execution, execute
from tma_agent.apply.service import ApplyOutcome, fill_outcome, site_session
from tma_agent.config import Config, Site
from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import ApplyRun, ApplyState, Request, WorkState
from tma_agent.tickets.targets import Backends

__all__ = ["DEPLOY_PLAYBOOK", "PRODUCTION", "combine", "deploy_site", "validated_request"]

PRODUCTION = "production"
DEPLOY_PLAYBOOK = "deploy"


def combine(core: Playbook, extra: Playbook) -> Playbook:
    """The core deploy steps, then the stack's; undone in the opposite order."""
    return dataclasses.replace(
        core,
        name=f"{core.name}+{extra.name}",
        variables={**extra.variables, **core.variables},
        steps=(*core.steps, *extra.steps),
        on_failure=(*extra.on_failure, *core.on_failure),
    )


def validated_request(
    ledger: Ledger, site: Site, reference: str, backends: Backends | None, *, dry_run: bool
) -> tuple[Request, str]:
    """The request `reference` of `site` and who validated it; `NotValidated` (exit 6)."""
    from tma_agent.tickets.lookup import find_request
    from tma_agent.tickets.sync import sync_states

    with ledger.session() as session:
        request = find_request(session, reference)
    if request.site != site.id:
        raise TmaError(f"request #{request.id} is about site {request.site!r}, not {site.id!r}")

    def sync(site_id: str) -> list[str]:
        if backends is None or dry_run:
            return []  # a dry run writes nothing, not even a validation read back
        return sync_states(ledger, backends.target_of, sites=[site_id]).errors

    return request, require_validation(ledger, request.id, sync)


def _tested(ledger: Ledger, request: Request) -> ApplyRun:
    with ledger.session() as session:
        row = session.scalar(
            select(ApplyRun)
            .where(
                ApplyRun.request_id == request.id,
                ApplyRun.action == "apply",
                ApplyRun.state == ApplyState.SUCCEEDED,
            )
            .order_by(ApplyRun.id.desc())
            .limit(1)
        )
    if row is None or not (row.facts.get(TESTED) or {}).get("commit"):
        raise NotValidated(
            f"request #{request.id} {request.fingerprint} was never applied and tested in "
            "staging (tma apply): there is no tested commit to deploy"
        )
    return row


def deploy_site(
    config: Config,
    pm: pluggy.PluginManager,
    site: Site,
    reference: str,
    *,
    backends: Backends | None,
    dry_run: bool = False,
) -> ApplyOutcome:
    from tma_agent.apply.registry import playbook_by_name, registered_steps

    if PRODUCTION not in site.environments:
        raise TmaError(f"site {site.id!r} has no production environment")
    outcome = ApplyOutcome(site.id, PRODUCTION, action="deploy")
    with site_session(config, pm, site, what="deploy", dry_run=dry_run) as (ledger, recovered):
        outcome.recovered = recovered
        if ledger is None:
            raise NotValidated(f"request {reference!r}: there is no ledger yet, so no validation")
        request, _who = validated_request(ledger, site, reference, backends, dry_run=dry_run)
        tested = _tested(ledger, request)
        facts = tested.facts[TESTED]
        stack = (tested.context or {}).get("stack") or site.stack
        steps = registered_steps(pm)
        settings = config.apply_for(site)
        playbook = playbook_by_name(DEPLOY_PLAYBOOK, pm, settings, steps)
        variables = {"commit": facts["commit"], "tested_branch": facts.get("branch") or ""}
        context: dict[str, str] = {}
        plan = pm.hook.tma_deploy_plan(site=site, stack=stack) if stack else None
        if plan is not None:
            extra = playbook_by_name(plan.playbook, pm, settings, steps)
            playbook = combine(playbook, extra)
            variables = {**plan.variables, **variables}
            context["extra_playbook_path"] = str(extra.path)
        execution = execute(
            ledger,
            config,
            pm,
            site,
            PRODUCTION,
            playbook,
            variables,
            steps,
            action="deploy",
            dry_run=dry_run,
            stack=stack,
            request_id=request.id,
            request_ref=request.fingerprint,
            context=context,
            record=partial(_record, config, site, stack, outcome, facts["commit"], request),
        )
        fill_outcome(outcome, execution, request)
    return outcome


def _record(
    config: Config,
    site: Site,
    stack: str | None,
    outcome: ApplyOutcome,
    commit: str,
    picked: Request,
    session: Session,
    execution: Execution,
) -> None:
    """In the unit of work that ends the deploy's journal row (`running.execute`)."""
    from tma_agent.apply.notes import failure_note, success_note
    from tma_agent.apply.requests import add_note, files_of
    from tma_agent.billing.record import record_intervention

    fill_outcome(outcome, execution, picked)
    request = session.get(Request, outcome.request)
    if request is None:
        return
    key = f"deploy:{request.fingerprint}:{outcome.journal}"
    files = files_of(config, request, execution)
    if outcome.state != "succeeded":
        add_note(session, request, failure_note(execution, "production"), key=key, files=files)
        return
    move_request(
        session,
        request,
        [WorkState.IN_PRODUCTION],
        success_note(execution, None, "production"),
        key=key,
        files=files,
    )
    record_intervention(
        session,
        config,
        site=site.id,
        kind=request.kind,
        action="deploy",
        description=f"Deployed to production ({outcome.playbook}): commit {commit}",
        actor="tma-agent",
        started_at=execution.started_at,
        ended_at=execution.ended_at,
        request_id=request.id,
        stack=stack,
    )

"""What a `tma playbook run --request REF` leaves behind, like an apply does: a note on the
request's ticket (what ran, the commit, the checks, or the error and the rollback, with the
run's files), and, when it succeeded, the intervention billed against the client's bucket.

A playbook run without `--request` bills nothing and writes to no ticket: work typed by a
person on no request is theirs to log (`tma time log`). A playbook does not move the
request's work state either: a playbook may be anything (a cache clear, a reindex); the
states follow `tma apply` and `tma deploy`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tma_agent.apply.notes import failure_note, success_note
from tma_agent.apply.requests import add_note, files_of
from tma_agent.ledger.models import Request

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tma_agent.apply.running import Execution
    from tma_agent.config import Config, Site

__all__ = ["record_playbook_run"]


def record_playbook_run(
    config: Config,
    site: Site,
    env_name: str,
    request_id: int,
    session: Session,
    execution: Execution,
) -> None:
    """In the unit of work that ends the run's journal row (`running.execute`): the ticket
    note, queued once per run, and on success the intervention."""
    from tma_agent.billing.record import record_intervention

    result = execution.outcome
    request = session.get(Request, request_id)
    if request is None:
        return
    key = f"playbook:{request.fingerprint}:{execution.journal_id}"
    if result.status == "succeeded":
        note = success_note(execution, None, env_name, action="ran the playbook on")
    else:
        note = failure_note(execution, env_name, action="run the playbook on")
    add_note(session, request, note, key=key, files=files_of(config, request, execution))
    if result.status == "succeeded":
        record_intervention(
            session,
            config,
            site=site.id,
            kind=request.kind,
            action="playbook",
            description=f"Playbook {result.playbook} on {env_name}",
            actor="tma-agent",
            started_at=execution.started_at,
            ended_at=execution.ended_at,
            request_id=request.id,
            stack=execution.ctx.stack,
        )

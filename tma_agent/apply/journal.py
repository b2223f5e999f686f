"""The engine's journal in the ledger: one `apply_runs` row per apply, deploy or playbook run,
written before the first step and after every step (one unit of work each), so that a run
killed half-way leaves its facts and the pid file of its remote command for a later one, and
the files it attached (`context["files"]`: screenshots the dashboard shows)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.locks import holder_id
from tma_agent.ledger.models import ApplyRun, ApplyState, utcnow

if TYPE_CHECKING:
    from tma_agent.apply.context import StepContext
    from tma_agent.apply.engine import PlaybookOutcome, StepOutcome
    from tma_agent.apply.playbook import Playbook

__all__ = ["STATE_OF", "LedgerJournal"]

#: The engine's outcome status → the journal's state.
STATE_OF = {
    "succeeded": ApplyState.SUCCEEDED,
    "rolled_back": ApplyState.ROLLED_BACK,
    "failed": ApplyState.FAILED,
    "refused": ApplyState.FAILED,
}
#: A step's recorded output is cut to this many characters: the row stays small.
_KEEP_CHARS = 4000


class LedgerJournal:
    """Implements `tma_agent.apply.engine.Journal`. `run_id` is set once `started` ran; a
    recovery resumes an existing row with `LedgerJournal.resume`."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        action: str,
        request_id: int | None = None,
        context: dict[str, Any] | None = None,
        deferred: bool = False,
    ) -> None:
        self.ledger = ledger
        self.action = action
        self.request_id = request_id
        self.context = dict(context or {})
        self.run_id: int | None = None
        #: `deferred`: the engine's end leaves the row `running`; `close` ends it in the unit
        #: of work that records what the run did (its note, its intervention).
        self.deferred = deferred
        self._final: ApplyState | None = None

    @classmethod
    def resume(cls, ledger: Ledger, row: ApplyRun) -> LedgerJournal:
        journal = cls(ledger, action=row.action, request_id=row.request_id, context=row.context)
        journal.run_id = row.id
        return journal

    def started(self, ctx: StepContext, playbook: Playbook) -> None:
        if self.run_id is not None:
            return  # a recovery writes into the row of the run it cleans up
        context = {
            "playbook": playbook.name,
            "playbook_path": str(playbook.path),
            "stamp": ctx.stamp,
            "stack": ctx.stack,
            "vars": _jsonable(ctx.vars),
            **self.context,
        }
        # A recovery must undo with the playbook that ran, even if its file changed since.
        for key in ("playbook_path", "extra_playbook_path"):
            if context.get(key):
                context[f"{key}_source"] = context[key]
                context[key] = _keep_copy(Path(context[key]), ctx.workdir)
        with self.ledger.session() as session:
            row = ApplyRun(
                site=ctx.site.id,
                env=ctx.env_name,
                action=self.action,
                playbook=playbook.name,
                request_id=self.request_id,
                state=ApplyState.RUNNING,
                facts=_jsonable(ctx.facts),
                context=context,
                steps=[],
                holder=holder_id(),
                pid_file=ctx.pid_file,
                started_at=utcnow(),
            )
            session.add(row)
            session.flush()
            self.run_id = row.id

    def step_done(self, ctx: StepContext, outcome: StepOutcome) -> None:
        entry = _jsonable(outcome.to_dict())
        for key, value in list(entry.get("data", {}).items()):
            if isinstance(value, str) and len(value) > _KEEP_CHARS:
                entry["data"][key] = "…" + value[-_KEEP_CHARS:]
        with self.ledger.session() as session:
            row = self._row(session)
            # A new list: SQLAlchemy sees a changed JSON value only when it is replaced.
            row.steps = [*row.steps, entry]
            row.facts = _jsonable(ctx.facts)
            _record_files(row, ctx)

    def save_facts(self, ctx: StepContext) -> None:
        """A step set a fact (the commit it starts from, maintenance on): saved at once, so a
        run killed in the middle of that very step still knows what to undo."""
        if self.run_id is None:
            return
        with self.ledger.session() as session:
            self._row(session).facts = _jsonable(ctx.facts)

    def finished(self, ctx: StepContext, outcome: PlaybookOutcome) -> None:
        self._final = STATE_OF.get(outcome.status, ApplyState.FAILED)
        with self.ledger.session() as session:
            row = self._row(session)
            row.facts = _jsonable(ctx.facts)
            row.error = outcome.error
            _record_files(row, ctx)
            if not self.deferred:
                row.state, row.ended_at = self._final, utcnow()

    def close(
        self, session: Session, *, facts: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """End a deferred row in the caller's unit of work: its state as the engine left it,
        `facts` added. A run killed before that commit is still `running`: the next run on
        the site recovers it (rolls it back), so no run is ever ended without its record."""
        if self.run_id is None or self._final is None:
            return  # never started, or stopped before the engine's end: left to recovery
        row = self._row(session)
        if facts is not None:
            row.facts = {**row.facts, **_jsonable(facts)}
        row.state, row.error, row.ended_at = self._final, error, utcnow()

    def update(self, *, facts: dict[str, Any] | None = None, **fields: Any) -> None:
        """After the engine: the tested commit, a recovery's verdict, a final error."""
        with self.ledger.session() as session:
            row = self._row(session)
            if facts is not None:
                row.facts = {**row.facts, **_jsonable(facts)}
            for name, value in fields.items():
                setattr(row, name, value)

    def _row(self, session: Session) -> ApplyRun:
        row = session.get(ApplyRun, self.run_id) if self.run_id is not None else None
        if row is None:
            raise RuntimeError("the journal was not started")
        return row


def _record_files(row: ApplyRun, ctx: StepContext) -> None:
    """The files the run attached (screenshots), in `context["files"]`: what the dashboard
    serves for this run, and nothing else. A recovery's own files are added to the run's."""
    files = list(row.context.get("files") or [])
    known = {f["path"] for f in files}
    for attachment in ctx.attachments:
        if str(attachment.path) not in known:
            known.add(str(attachment.path))
            files.append(
                _jsonable(
                    {**attachment.details, "label": attachment.label, "path": attachment.path}
                )
            )
    if files != list(row.context.get("files") or []):
        row.context = {**row.context, "files": files}


def _keep_copy(path: Path, workdir: Path) -> str:
    """A copy of the playbook file in the run's own directory; the original when it cannot be
    made (the recovery then reads the file as it is then)."""
    copy = workdir / f"playbook-{path.name}"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    except OSError:
        return str(path)
    return str(copy)


def _jsonable(value: Any) -> Any:
    """A deep copy made of JSON types only (a path or a date becomes its string)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)

"""Run a playbook: preflight every step, run them in order, undo with `on_failure` on failure.

The engine never decides what to apply nor where: `tma playbook run`, `tma apply` and
`tma deploy` build the StepContext (site, environment, host, variables) and hand a Journal
that persists the facts after every step, so a run killed half-way can be rolled back later.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from tma_agent._masking import mask
from tma_agent.apply._types import StepInfo, StepResult
from tma_agent.apply.context import Facts, StepContext
from tma_agent.apply.playbook import Playbook, PlaybookStep
from tma_agent.apply.templates import TemplateProblem, render_value, truth
from tma_agent.errors import TmaError

__all__ = [
    "Journal",
    "NullJournal",
    "PlaybookOutcome",
    "StepOutcome",
    "roll_back",
    "run_playbook",
]


@dataclass
class StepOutcome:
    index: int
    step: str
    title: str
    #: ok, changed, skipped, failed, planned (dry-run), refused (preflight)
    status: str
    phase: str = "steps"
    error: str | None = None
    duration_ms: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "step": self.step,
            "title": self.title,
            "status": self.status,
            "phase": self.phase,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "data": self.data,
            "commands": self.commands,
        }


@dataclass
class PlaybookOutcome:
    playbook: str
    site: str
    env: str
    dry_run: bool
    #: succeeded, planned (dry-run), refused (preflight: nothing ran), rolled_back (a step
    #: failed and on_failure ran cleanly), failed (a step failed and so did the rollback)
    status: str = "running"
    error: str | None = None
    steps: list[StepOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "planned")

    def to_dict(self, ctx: StepContext | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "playbook": self.playbook,
            "site": self.site,
            "env": self.env,
            "dry_run": self.dry_run,
            "status": self.status,
            "error": self.error,
            "steps": [s.to_dict() for s in self.steps],
        }
        if ctx is not None:
            out["notes"] = list(ctx.notes)
            out["attachments"] = [{"label": a.label, "path": str(a.path)} for a in ctx.attachments]
        return out


class Journal(Protocol):
    """Where a run is persisted step by step (the ledger's `apply_journal` for real runs)."""

    def started(self, ctx: StepContext, playbook: Playbook) -> None: ...

    def step_done(self, ctx: StepContext, outcome: StepOutcome) -> None: ...

    def save_facts(self, ctx: StepContext) -> None:
        """Called each time a step sets a fact, before the step goes on."""

    def finished(self, ctx: StepContext, outcome: PlaybookOutcome) -> None: ...


class NullJournal:
    def started(self, ctx: StepContext, playbook: Playbook) -> None:
        return None

    def step_done(self, ctx: StepContext, outcome: StepOutcome) -> None:
        return None

    def save_facts(self, ctx: StepContext) -> None:
        return None

    def finished(self, ctx: StepContext, outcome: PlaybookOutcome) -> None:
        return None


def run_playbook(
    playbook: Playbook,
    ctx: StepContext,
    steps: Mapping[str, StepInfo],
    *,
    journal: Journal | None = None,
) -> PlaybookOutcome:
    """Run `playbook` in `ctx` (whose `vars` hold the resolved variables)."""
    journal = journal or NullJournal()
    outcome = PlaybookOutcome(playbook.name, ctx.site.id, ctx.env_name, ctx.dry_run)
    journal.started(ctx, playbook)
    _save_facts_with(ctx, journal)
    refusal = _preflight(playbook, ctx, steps)
    if refusal is not None:
        outcome.steps.append(refusal)
        outcome.status, outcome.error = "refused", refusal.error
        journal.finished(ctx, outcome)
        return outcome
    failed: StepOutcome | None = None
    try:
        for index, step in enumerate(playbook.steps):
            result = _run_step(index, step, ctx, steps, "steps")
            outcome.steps.append(result)
            journal.step_done(ctx, result)
            if result.status == "failed" and not step.ignore_errors:
                failed = result
                break
    except BaseException:
        # A bug or an interrupt half-way: undo what was done before letting it through.
        outcome.status, outcome.error = "failed", "interrupted"
        outcome.steps.extend(roll_back(playbook, ctx, steps, journal=journal))
        journal.finished(ctx, outcome)
        raise
    if failed is None:
        outcome.status = "planned" if ctx.dry_run else "succeeded"
        journal.finished(ctx, outcome)
        return outcome
    outcome.error = f"step {failed.index + 1} ({failed.title}): {failed.error}"
    undo = roll_back(playbook, ctx, steps, journal=journal)
    outcome.steps.extend(undo)
    clean = all(s.status != "failed" for s in undo)
    outcome.status = "rolled_back" if clean else "failed"
    journal.finished(ctx, outcome)
    return outcome


def roll_back(
    playbook: Playbook,
    ctx: StepContext,
    steps: Mapping[str, StepInfo],
    *,
    journal: Journal | None = None,
) -> list[StepOutcome]:
    """Run every `on_failure` step (each one even when an earlier one failed): the facts in
    `ctx` say what there is to undo. Also what a recovery runs after a killed apply."""
    journal = journal or NullJournal()
    _save_facts_with(ctx, journal)
    done = []
    for index, step in enumerate(playbook.on_failure):
        result = _run_step(index, step, ctx, steps, "on_failure")
        done.append(result)
        journal.step_done(ctx, result)
    return done


def _save_facts_with(ctx: StepContext, journal: Journal) -> None:
    facts = ctx.facts if isinstance(ctx.facts, Facts) else Facts(ctx.facts)
    ctx.facts = facts
    # A journal written before `save_facts` existed keeps working: it saves after each step.
    save = getattr(journal, "save_facts", None)
    facts.on_change = (lambda: save(ctx)) if save is not None and not ctx.dry_run else None


def _preflight(
    playbook: Playbook, ctx: StepContext, steps: Mapping[str, StepInfo]
) -> StepOutcome | None:
    for index, step in enumerate(playbook.steps):
        info = steps[step.step]
        if info.preflight is None:
            continue
        try:
            args = info.args_model.model_validate(render_value(step.args, ctx.vars))
        except (TemplateProblem, ValidationError):
            continue  # depends on what earlier steps register: checked when it runs
        try:
            info.preflight(ctx, args)
        except TmaError as exc:
            return StepOutcome(index, step.step, step.title, "refused", error=mask(str(exc)))
    return None


def _run_step(
    index: int, step: PlaybookStep, ctx: StepContext, steps: Mapping[str, StepInfo], phase: str
) -> StepOutcome:
    started = time.monotonic()
    first_command = len(ctx.commands)
    outcome = StepOutcome(index, step.step, step.title, "ok", phase=phase)
    try:
        if step.when is not None and not truth(step.when, ctx.vars):
            outcome.status = "skipped"
            return outcome
        info = steps[step.step]
        args = info.args_model.model_validate(render_value(step.args, ctx.vars))
        ctx.timeout = step.timeout
        result = info.run(ctx, args) or StepResult()
        outcome.data = result.data
        if ctx.dry_run:
            outcome.status = "planned"
        else:
            outcome.status = "changed" if result.changed else "ok"
        if step.register:
            ctx.vars[step.register] = {"changed": result.changed, "failed": False, **result.data}
    except (TmaError, TemplateProblem) as exc:
        outcome.status, outcome.error = "failed", mask(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        outcome.status = "failed"
        outcome.error = f"{step.where}: {step.step}: {at}: {first['msg']} (once rendered)"
    finally:
        ctx.timeout = None
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        outcome.commands = [c.to_dict() for c in ctx.commands[first_command:]]
    if outcome.status == "failed" and step.register:
        ctx.vars[step.register] = {"changed": False, "failed": True, "error": outcome.error}
    return outcome

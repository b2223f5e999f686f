"""The notes an apply or a deploy puts on its request's ticket: what changed (versions, the
commit, the diff stat), how the checks went, or the error and the rollback. The run's files
(a visual check's images) go with the note as an outbox `attach` (`apply.requests.add_note`),
which lists them by label: uploaded where the ticket system keeps files, linked elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tma_agent._masking import mask

if TYPE_CHECKING:
    from tma_agent.apply.running import Execution
    from tma_agent.models import Finding

__all__ = ["failure_note", "success_note"]

#: Step types whose result is a check worth listing (`http.check`, `visual.check`...).
_CHECK_SUFFIX = ".check"


def success_note(
    execution: Execution, findings: list[Finding] | None, where: str, *, action: str | None = None
) -> str:
    """`where`: `staging` (an apply) or `production` (a deploy), or the environment of a
    playbook run with its `action` (`ran the playbook on`)."""
    result, ctx, tested = execution.outcome, execution.ctx, execution.tested
    done = action or ("deployed this to" if where == "production" else "applied this in")
    lines = [f"tma-agent {done} {where} ({result.playbook}, journal #{execution.journal_id})."]
    for finding in findings or []:
        lines.append(
            f"- `{finding.name}` {finding.installed} → {finding.recommended} ({finding.update})"
        )
    if tested.get("commit"):
        branch = f" on branch `{tested['branch']}`" if tested.get("branch") else ""
        lines.append(f"Commit `{tested['commit']}`{branch}.")
    if tested.get("diff_stat"):
        lines += ["", "```", tested["diff_stat"], "```"]
    checks = [s for s in result.steps if s.step.endswith(_CHECK_SUFFIX) and s.phase == "steps"]
    if checks:
        lines.append("Checks:")
        lines += [f"- {s.title}: {s.status}" for s in checks]
    lines += [f"- {note}" for note in ctx.notes]
    return mask("\n".join(lines))


def failure_note(execution: Execution, where: str, *, action: str | None = None) -> str:
    result = execution.outcome
    undo = [s for s in result.steps if s.phase == "on_failure"]
    failed = [s for s in undo if s.status == "failed"]
    if result.status == "refused":
        verdict = "nothing was changed (refused before the first step)"
    elif failed:
        verdict = f"the rollback failed too ({failed[0].title}: {failed[0].error}): look at it now"
    else:
        verdict = f"rolled back ({len(undo)} undo step(s))"
    verb = action or ("deploy this to" if where == "production" else "apply this in")
    lines = [
        f"tma-agent could not {verb} {where} ({result.playbook}, journal "
        f"#{execution.journal_id}): {result.error}. {verdict.capitalize()}."
    ]
    # What the steps said on the way (a remote that kept the pushed branch, a check's
    # ratio) belongs on the ticket too: the failure is read there, not in the journal.
    lines += [f"- {note}" for note in execution.ctx.notes]
    return mask("\n".join(lines))

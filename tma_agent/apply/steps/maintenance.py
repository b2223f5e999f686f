"""The `maintenance` step: the stack's maintenance mode on or off, with the commands the stack's
plugin gives through `tma_maintenance_commands`, run on the site's host in the site's path.

`facts["maintenance"]` is set before the first command that turns the mode on and cleared once
the last one turning it off succeeded: whatever ends the apply (a failed step, a SIGKILL and the
next run's recovery), the journal says whether the site may be left in maintenance.
"""

from __future__ import annotations

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.settings import Strict

__all__ = ["MAINTENANCE_FACT", "MAINTENANCE_STEP", "MaintenanceArgs"]

MAINTENANCE_FACT = "maintenance"


class MaintenanceArgs(Strict):
    enable: bool
    #: Turn it off even when this apply did not turn it on (a mode left by someone else).
    force: bool = False


def maintenance(ctx: StepContext, args: MaintenanceArgs) -> StepResult:
    state = "on" if args.enable else "off"
    if not args.enable and not args.force and ctx.facts.get(MAINTENANCE_FACT) is not True:
        ctx.note("maintenance mode was not turned on by this apply: left as it is")
        return StepResult(changed=False, data={"enabled": False, "commands": []})
    commands = ctx.pm.hook.tma_maintenance_commands(ctx=ctx, enable=args.enable)
    if commands is None:
        ctx.note(f"no maintenance mode for stack {ctx.stack or 'unknown'}")
        return StepResult(changed=False, data={"enabled": False, "commands": []})
    if not isinstance(commands, list) or not all(_is_argv(argv) for argv in commands):
        raise StepFailed(
            f"stack {ctx.stack}: its plugin gave maintenance commands that are not argv lists"
        )
    if not commands:
        ctx.note(f"stack {ctx.stack}: no maintenance command for this site")
        return StepResult(changed=False, data={"enabled": False, "commands": []})
    if args.enable:
        # Recorded first: a run dying between the commands still turns it off on recovery.
        ctx.facts[MAINTENANCE_FACT] = True
    for argv in commands:
        ctx.run(argv)
    if not args.enable:
        ctx.facts[MAINTENANCE_FACT] = False
    ctx.note(f"maintenance mode {state}")
    return StepResult(changed=True, data={"enabled": args.enable, "commands": commands})


def _is_argv(argv: object) -> bool:
    return isinstance(argv, list) and bool(argv) and all(isinstance(a, str) for a in argv)


MAINTENANCE_STEP = StepInfo(
    name="maintenance",
    run=maintenance,
    args_model=MaintenanceArgs,
    description="Turn the stack's maintenance mode on or off",
)

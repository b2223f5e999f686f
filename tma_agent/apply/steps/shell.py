"""The `shell` step: one command, as an argv, on the site's host (never a shell line)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ConfigDict, Field

from tma_agent.apply._types import StepFailed, StepInfo, StepResult
from tma_agent.apply.context import StepContext, last_line
from tma_agent.hookspecs import hookimpl
from tma_agent.settings import Strict

__all__ = ["ShellArgs", "tma_register_steps"]

#: Output kept for `register` (and the journal): enough for a version line or an error.
_KEEP = 64 * 1024


class ShellArgs(Strict):
    # `ls -1` in YAML is the number -1: an argv item is text whatever YAML made of it.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    #: The command; every item is one argument, quoted for the host's shell.
    argv: list[str] = Field(min_length=1)
    #: Relative to the site's path, or absolute; default the site's path.
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    #: Exit codes that are not a failure.
    ok_codes: list[int] = Field(default_factory=lambda: [0])
    #: Written to the command's standard input.
    stdin: str | None = None
    #: Set true for commands that change nothing (they then run in dry-run too).
    read_only: bool = False


def _run(ctx: StepContext, args: ShellArgs) -> StepResult:
    cwd = args.cwd
    if cwd is not None and not cwd.startswith("/"):
        cwd = f"{ctx.path}/{cwd}"
    stdin = args.stdin.encode() if args.stdin is not None else None
    if args.read_only:
        result = ctx.probe(args.argv, cwd=cwd, stdin=stdin)
    else:
        result = ctx.run(args.argv, cwd=cwd, stdin=stdin, env=args.env or None, check=False)
    ran = not ctx.dry_run or args.read_only
    if ran and result.exit_code not in args.ok_codes:
        raise StepFailed(f"`{args.argv[0]}` exited {result.exit_code}: {last_line(result)}")
    return StepResult(
        changed=not args.read_only,
        data={
            "rc": result.exit_code,
            "stdout": result.stdout[-_KEEP:].decode("utf-8", errors="replace"),
            "stderr": result.stderr[-_KEEP:].decode("utf-8", errors="replace"),
        },
    )


@hookimpl
def tma_register_steps(register: Callable[[StepInfo], None]) -> None:
    register(
        StepInfo(
            name="shell",
            run=_run,
            args_model=ShellArgs,
            description="Run one command (an argv) in the site's tree on its host.",
            shorthand="argv",
        )
    )

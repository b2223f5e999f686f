"""The `<stack>.locked` step the Composer-based stacks register (`drupal.locked`,
`composer.locked`, `magento.locked`): after `composer update`, composer.lock must hold each
target version, or the apply fails and rolls back.

`composer update` stays inside composer.json's constraints and exits 0 when it could not reach
a version (a constraint, a conflict, a `conflict:` entry): without this check an apply would
report success for an update that did not happen. Written once here, registered by each stack
from its own plugin (a step name belongs to one plugin).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from pydantic import Field

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.ecosystems.apply_plans import Template
from tma_agent.settings import Strict
from tma_agent.versions import satisfies

__all__ = ["LockedArgs", "locked_step"]


class LockedArgs(Strict):
    #: Package name -> the version composer.lock must hold at least.
    expect: dict[str, str] | Template = Field(default_factory=dict)
    #: The lock file, relative to the site path.
    lock: str = "composer.lock"


def _locked_versions(ctx: StepContext, lock: str) -> dict[str, str]:
    path = posixpath.join(ctx.path, lock)
    result = ctx.probe(["cat", "--", path])
    if not result.ok:
        raise StepFailed(f"{ctx.host.name}:{path}: cannot read the lock file")
    try:
        data: Any = json.loads(result.stdout)
        entries = [*data.get("packages", []), *data.get("packages-dev", [])]
        return {str(p["name"]): str(p["version"]) for p in entries}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise StepFailed(f"{ctx.host.name}:{path}: not a composer.lock") from None


def _reached(locked: str, wanted: str) -> bool:
    try:
        return satisfies(locked, f">={wanted}")
    except ValueError:
        return locked == wanted  # a version Composer cannot compare: only itself will do


def _check(ctx: StepContext, args: LockedArgs) -> StepResult:
    if ctx.dry_run:
        # Nothing was updated: the lock still holds the old versions.
        return StepResult(changed=False, data={"versions": {}})
    if not isinstance(args.expect, dict):
        raise StepFailed(f"expect: {args.expect!r} did not render to a mapping")
    locked = _locked_versions(ctx, args.lock)
    short = []
    for name, wanted in sorted(args.expect.items()):
        have = locked.get(name)
        if have is None or not _reached(have, wanted):
            short.append(f"{name} {have or 'absent'} (wanted {wanted})")
    if short:
        raise StepFailed(
            f"{args.lock} after the update: {'; '.join(short)}; composer.json's constraints "
            "or a conflict hold it back"
        )
    versions = {name: locked[name] for name in sorted(args.expect)}
    ctx.note("Locked: " + ", ".join(f"{n} {v}" for n, v in versions.items()))
    return StepResult(changed=False, data={"versions": versions})


def locked_step(stack: str) -> StepInfo:
    return StepInfo(
        name=f"{stack}.locked",
        run=_check,
        args_model=LockedArgs,
        description="Check that composer.lock holds each target version after the update.",
    )

"""The Drupal steps playbooks may name: `drupal.find_drush` and `drupal.locked`.

`drupal.find_drush` is a read-only probe (it runs in dry-run too): the project's own
`vendor/bin/drush` first, as `composer require drush/drush` installs it, else a `drush` on the
host's PATH. A playbook registers its answer and runs Drush only `when: drush.found`; without
Drush the database updates cannot run, which the apply says in a warning and the request's note.
"""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.apply import StepContext, StepInfo, StepResult
from tma_agent.ecosystems.composer_apply import locked_step
from tma_agent.settings import Strict

__all__ = ["FindDrushArgs", "register_steps"]

#: A fixed program (no data in it): the project's Drush, else the host's.
_FIND_DRUSH = "if [ -x vendor/bin/drush ]; then echo vendor/bin/drush; else command -v drush; fi"


class FindDrushArgs(Strict):
    pass


def _find_drush(ctx: StepContext, args: FindDrushArgs) -> StepResult:
    result = ctx.probe(["sh", "-c", _FIND_DRUSH])
    lines = result.text.strip().splitlines()
    path = lines[-1].strip() if result.ok and lines else ""
    if not path:
        ctx.note(
            f"Warning: no Drush on {ctx.host.name} (neither vendor/bin/drush nor drush on the "
            "PATH): database updates and the cache rebuild did not run; run `drush updatedb` "
            "and `drush cache:rebuild` by hand"
        )
        return StepResult(changed=False, data={"found": False, "path": ""})
    return StepResult(changed=False, data={"found": True, "path": path})


def register_steps(register: Callable[[StepInfo], None]) -> None:
    register(
        StepInfo(
            name="drupal.find_drush",
            run=_find_drush,
            args_model=FindDrushArgs,
            description="Find Drush (vendor/bin/drush, else on the PATH); a warning when absent.",
        )
    )
    register(locked_step("drupal"))

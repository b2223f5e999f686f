"""`prestashop.deployed_upgrades`: after `tma deploy` moved production to the tested commit, run
`php bin/console prestashop:module upgrade <name>` for each module whose version that move
changed, as the back office would when it sees a module's files newer than its database.

Which modules: the folders under `modules/` that `git diff` lists between the commit production
ran before (`git.start`, saved by `git.deploy`) and the deployed one; the version of each on
both sides is read from the commits' trees as data (the main file's `$this->version` literal,
else config.xml's `<version>`: what the inventory reads), never executed. A module the deploy
adds or removes is not upgraded (PrestaShop installs a new one from its back office); its name
must match PrestaShop's module-name pattern, and goes to the console as one argv item.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.apply.git import Git, GitError, open_git
from tma_agent.ecosystems.apply_plans import prestashop_module_name
from tma_agent.errors import TmaError
from tma_agent.settings import Strict
from tma_prestashop.inventory import MAIN_FILE_MAX_BYTES, MODULE_NAME, module_version

__all__ = ["DeployedUpgradesArgs", "ModuleChange", "module_changes", "register_steps"]

#: config.xml is small; a bigger one is not PrestaShop's cache and says nothing.
CONFIG_MAX_BYTES = 64 * 1024


class DeployedUpgradesArgs(Strict):
    #: The deployed commit (`tma deploy` passes `commit`); empty: HEAD.
    commit: str = ""
    #: The commit production ran before; empty: the `git.start` fact of `git.deploy`.
    since: str = ""


class ModuleChange(Strict):
    name: str
    before: str | None
    after: str | None


def _version(git: Git, commit: str, folder: str, name: str) -> str | None:
    main = git.file_at(commit, posixpath.join(folder, f"{name}.php"), MAIN_FILE_MAX_BYTES)
    if main is None:
        return None  # no main file: not a module PrestaShop loads
    config = git.file_at(commit, posixpath.join(folder, "config.xml"), CONFIG_MAX_BYTES)
    return module_version(main, config)


def module_changes(git: Git, since: str, commit: str, modules_dir: str) -> list[ModuleChange]:
    """Each module folder the diff touches, with its version before and after (sorted)."""
    names: set[str] = set()
    for path in git.changed_paths(since, commit, modules_dir):
        rest = path[len(modules_dir) + 1 :].split("/") if path.startswith(modules_dir + "/") else []
        # A folder holding files, named as PrestaShop names modules (never `..`, never a path).
        if len(rest) >= 2 and MODULE_NAME.fullmatch(rest[0]):
            names.add(rest[0])
    changes = []
    for name in sorted(names):
        folder = posixpath.join(modules_dir, name)
        changes.append(
            ModuleChange(
                name=name,
                before=_version(git, since, folder, name),
                after=_version(git, commit, folder, name),
            )
        )
    return changes


def _modules_dir(ctx: StepContext, git: Git) -> str:
    prefix = ctx.probe(["git", "-C", ctx.path, "rev-parse", "--show-prefix"])
    if not prefix.ok:
        raise StepFailed(f"{ctx.path}: git rev-parse --show-prefix failed")
    return posixpath.join(prefix.text.strip().strip("/"), "modules").lstrip("/")


def _deployed_upgrades(ctx: StepContext, args: DeployedUpgradesArgs) -> StepResult:
    since = args.since or str(ctx.facts.get("git.start") or "")
    nothing = StepResult(changed=False, data={"upgraded": [], "unchanged": []})
    try:
        git = open_git(ctx.host, ctx.path, ctx)
        wanted = args.commit or git.head()
        before, commit = (git.resolve(since) if since else None), git.resolve(wanted)
        if before is None or before == commit:
            return nothing  # no deploy before this step, or it moved nothing
        if commit is None:
            # A dry run: the fetch that would bring `commit` only printed.
            ctx.note(f"modules to upgrade: unknown until {wanted} is fetched")
            return nothing
        changes = module_changes(git, before, commit, _modules_dir(ctx, git))
    except GitError as exc:
        raise StepFailed(str(exc)) from None
    upgraded, unchanged = [], []
    for change in changes:
        if change.before is None or change.after is None:
            what = "added" if change.after else "removed" if change.before else "unversioned"
            ctx.note(f"Module {change.name}: {what} by the deploy, not upgraded")
            continue
        if change.before == change.after:
            unchanged.append(change.name)
            continue
        try:
            name = prestashop_module_name(ctx.site.id, change.name)
        except TmaError as exc:
            raise StepFailed(str(exc)) from None
        ctx.run(["php", "bin/console", "prestashop:module", "upgrade", name])
        upgraded.append(name)
        ctx.note(f"Module {name}: upgraded {change.before} → {change.after}")
    data = {
        "upgraded": upgraded,
        "unchanged": unchanged,
        "versions": {c.name: [c.before, c.after] for c in changes},
    }
    return StepResult(changed=bool(upgraded), data=data)


def register_steps(register: Callable[[StepInfo], None]) -> None:
    register(
        StepInfo(
            name="prestashop.deployed_upgrades",
            run=_deployed_upgrades,
            args_model=DeployedUpgradesArgs,
            description="After git.deploy: `prestashop:module upgrade` for each module whose "
            "version the deploy changed (read from the commits' trees).",
        )
    )

"""The PrestaShop steps: `prestashop.module_zip` (each module's release files in place) and
`prestashop.module_upgrade` (`php bin/console prestashop:module upgrade <name>` for each).

`module_zip` resolves every zip URL in its preflight (nothing has run yet when one is missing),
then per module: download and check the zip on the agent machine (module_zip.py), put it in
this apply's backup directory as a tarball, unpack it into a staging folder there, move the old
`modules/<name>` aside into the backup directory and the new one in its place (two renames: the
shop never sees a half-unpacked module). `facts["prestashop.modules"]` says where the old
folders went; `prestashop.module_restore` (on_failure) puts them back.
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Callable
from pathlib import Path

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.ecosystems.apply_plans import Template, prestashop_module_name, prestashop_version
from tma_agent.settings import Strict
from tma_agent.sources import Fetcher
from tma_prestashop.distribution import SOURCE_NAME
from tma_prestashop.module_zip import download_zip, release_url, zip_to_tarball
from tma_prestashop.settings import PrestaShopSourceSettings

__all__ = ["ModuleTarget", "ModulesArgs", "RestoreArgs", "register_steps"]


class ModuleTarget(Strict):
    name: str
    version: str


class ModulesArgs(Strict):
    modules: list[ModuleTarget] | Template


def _targets(ctx: StepContext, args: ModulesArgs) -> list[ModuleTarget]:
    if isinstance(args.modules, str):
        raise StepFailed(f"modules: {args.modules!r} did not render to a list")
    # Checked again here: a playbook may be run by hand with `--var modules=...`.
    for target in args.modules:
        prestashop_module_name(ctx.site.id, target.name)
        prestashop_version(ctx.site.id, target.version)
    return list(args.modules)


def _index(ctx: StepContext) -> str | None:
    block = ctx.config.sources.get(SOURCE_NAME)
    extra: dict[str, object] = dict(block.model_extra or {}) if block else {}
    return PrestaShopSourceSettings.model_validate(extra).modules


def _urls(ctx: StepContext, fetcher: Fetcher, targets: list[ModuleTarget]) -> dict[str, str]:
    index = _index(ctx)
    return {t.name: release_url(fetcher, index, t.name, t.version) for t in targets}


def _preflight_zip(ctx: StepContext, args: ModulesArgs) -> None:
    if isinstance(args.modules, str):
        return  # rendered from a registered value: checked when it runs
    with Fetcher.from_config(ctx.config) as fetcher:
        _urls(ctx, fetcher, _targets(ctx, args))


def _module_zip(ctx: StepContext, args: ModulesArgs) -> StepResult:
    targets = _targets(ctx, args)
    moved: list[dict[str, str]] = []
    ctx.facts["prestashop.modules"] = moved
    with Fetcher.from_config(ctx.config) as fetcher, tempfile.TemporaryDirectory() as scratch:
        urls = _urls(ctx, fetcher, targets)
        backup = ctx.ensure_backup_dir()
        for target in targets:
            name = target.name
            tarball = Path(scratch) / f"module-{name}-{target.version}.tar.gz"
            zip_to_tarball(download_zip(fetcher, urls[name]), name, tarball)
            remote = posixpath.join(backup, tarball.name)
            stage = posixpath.join(backup, f"stage-{name}")
            installed = posixpath.join(ctx.path, "modules", name)
            previous = posixpath.join(backup, f"module-{name}.previous")
            if not ctx.dry_run:
                ctx.host.put(str(tarball), remote)
            ctx.run(["mkdir", "-p", "--", stage])
            ctx.run(["tar", "-xzf", remote, "-C", stage, "--no-same-owner"])
            if ctx.probe(["test", "-d", installed]).ok:
                ctx.run(["mv", "--", installed, previous])
                moved.append({"name": name, "installed": installed, "previous": previous})
            ctx.run(["mv", "--", posixpath.join(stage, name), installed])
            ctx.note(f"Module {name}: files of {target.version} in place ({urls[name]})")
    return StepResult(data={"modules": {t.name: t.version for t in targets}})


class RestoreArgs(Strict):
    pass


def _module_restore(ctx: StepContext, args: RestoreArgs) -> StepResult:
    """Undo `module_zip` from its facts: each old folder back in place (also after a SIGKILL,
    from the journal). The new files go to the backup directory, never deleted blindly."""
    moved = list(ctx.facts.get("prestashop.modules") or [])
    for entry in reversed(moved):
        installed, previous = str(entry["installed"]), str(entry["previous"])
        if not ctx.probe(["test", "-d", previous]).ok:
            continue
        if ctx.probe(["test", "-e", installed]).ok:
            ctx.run(["mv", "--", installed, f"{previous}.failed"])
        ctx.run(["mv", "--", previous, installed])
        ctx.note(f"Module {entry['name']}: previous files restored")
    ctx.facts["prestashop.modules"] = []
    return StepResult(changed=bool(moved), data={"restored": [e["name"] for e in moved]})


def _module_upgrade(ctx: StepContext, args: ModulesArgs) -> StepResult:
    targets = _targets(ctx, args)
    for target in targets:
        ctx.run(["php", "bin/console", "prestashop:module", "upgrade", target.name])
    return StepResult(data={"upgraded": [t.name for t in targets]})


def register_steps(register: Callable[[StepInfo], None]) -> None:
    register(
        StepInfo(
            name="prestashop.module_zip",
            run=_module_zip,
            args_model=ModulesArgs,
            description="Put each module's release zip (the modules index's `url`) in modules/.",
            preflight=_preflight_zip,
        )
    )
    register(
        StepInfo(
            name="prestashop.module_restore",
            run=_module_restore,
            args_model=RestoreArgs,
            description="Put back the module folders `prestashop.module_zip` moved aside.",
        )
    )
    register(
        StepInfo(
            name="prestashop.module_upgrade",
            run=_module_upgrade,
            args_model=ModulesArgs,
            description="Run `php bin/console prestashop:module upgrade <name>` for each module.",
        )
    )

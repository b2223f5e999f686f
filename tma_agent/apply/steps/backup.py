"""The backup steps: `db.backup` / `db.restore` and `files.backup` / `files.restore`.

A backup goes to the apply's own directory on the site's host (`ctx.backup_dir`, under
`<apply.backup_dir>/<site id>/`) and is recorded in the facts, so `on_failure` steps and a
later recovery know what to restore; a restore without a backup in the facts does nothing and
says so. After each successful backup only the `apply.keep_backups` newest backup directories
of the site are kept.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, field_validator

from tma_agent.apply._types import StepFailed, StepInfo, StepResult
from tma_agent.apply.context import StepContext
from tma_agent.apply.database import SiteDatabase
from tma_agent.apply.dumps import CommandRunner, dump_database, restore_database
from tma_agent.apply.tree_backup import archive_tree, check_pattern, old_backups, restore_tree
from tma_agent.errors import TmaError
from tma_agent.hookspecs import hookimpl
from tma_agent.hosts import CommandResult
from tma_agent.settings import Strict

__all__ = ["FilesArgs", "NoArgs", "prune_backups", "site_database", "tma_register_steps"]

DB_FACT = "db.backup"
FILES_FACT = "files.backup"
_TOOLS = {"mysql": ("mariadb-dump", "mysqldump"), "pgsql": ("pg_dump",)}


class NoArgs(Strict):
    pass


class FilesArgs(Strict):
    #: Paths relative to the site tree (`sites/default/files`) or names at any depth (`*.log`)
    #: left out of the backup, and left as they are by the restore.
    exclude: list[str] = Field(default_factory=list)

    @field_validator("exclude")
    @classmethod
    def _inside_the_tree(cls, value: list[str]) -> list[str]:
        return [check_pattern(pattern) for pattern in value]


def site_database(ctx: StepContext) -> SiteDatabase:
    """The environment's configured database, else what the site's stack reads from its own
    settings file; StepFailed (one line naming the site, or the file) when neither says."""
    if ctx.environment.database is not None:
        return ctx.environment.database
    try:
        found: SiteDatabase | None = ctx.pm.hook.tma_site_database(ctx=ctx)
    except TmaError as exc:
        raise StepFailed(f"site {ctx.site.id}: {exc}") from None
    if found is None:
        raise StepFailed(
            f"site {ctx.site.id}: no database credentials: set "
            f"environments.{ctx.env_name}.database, or give the site a stack whose settings "
            f"file holds them"
        )
    return found


def _runner(ctx: StepContext) -> CommandRunner:
    """`ctx.run` from `/`: a restore must work even when the update removed the site's tree."""

    def run(
        argv: Sequence[str], *, stdin: bytes | None = None, secrets: Sequence[str] = ()
    ) -> CommandResult:
        return ctx.run(argv, cwd="/", stdin=stdin, secrets=secrets)

    return run


# -- db.backup / db.restore -------------------------------------------------------------------
def _db_preflight(ctx: StepContext, _args: NoArgs) -> None:
    db = site_database(ctx)
    tools = _TOOLS[db.driver]
    found = ctx.probe(
        ["sh", "-c", 'for t; do command -v "$t" && exit 0; done; exit 1', "sh", *tools], cwd="/"
    )
    if not found.ok:
        raise StepFailed(
            f"site {ctx.site.id}: {' or '.join(tools)} is not installed on {ctx.host.name}"
        )


def _db_backup(ctx: StepContext, _args: NoArgs) -> StepResult:
    db = site_database(ctx)
    path = posixpath.join(ctx.ensure_backup_dir(), "database.sql.gz")
    size = dump_database(_runner(ctx), db, path)
    if ctx.dry_run:
        return StepResult(data={"path": path})
    fact = {"path": path, "driver": db.driver, "bytes": size, "database": db.describe()}
    ctx.facts[DB_FACT] = fact
    ctx.note(f"Database {db.describe()} backed up to {path} ({size} bytes, gzip).")
    prune_backups(ctx)
    return StepResult(data=fact)


def _db_restore(ctx: StepContext, _args: NoArgs) -> StepResult:
    fact = ctx.facts.get(DB_FACT)
    if not isinstance(fact, dict) or not fact.get("path"):
        ctx.note("No database backup in this apply: nothing to restore.")
        return StepResult(changed=False, data={"restored": False})
    db = site_database(ctx)
    restore_database(_runner(ctx), db, str(fact["path"]))
    ctx.note(f"Database {db.describe()} restored from {fact['path']}.")
    return StepResult(data={"restored": True, "path": fact["path"]})


# -- files.backup / files.restore -------------------------------------------------------------
def _files_preflight(ctx: StepContext, _args: FilesArgs) -> None:
    tree = ctx.path.rstrip("/") + "/"
    if ctx.backup_dir.startswith(tree):
        raise StepFailed(
            f"site {ctx.site.id}: apply.backup_dir ({ctx.backup_dir}) is inside the site tree "
            f"{ctx.path}: a restore would delete its own backup"
        )
    if not ctx.probe(["test", "-d", ctx.path]).ok:
        raise StepFailed(f"site {ctx.site.id}: {ctx.path} is not a directory on {ctx.host.name}")


def _files_backup(ctx: StepContext, args: FilesArgs) -> StepResult:
    path = posixpath.join(ctx.ensure_backup_dir(), "files.tar.gz")
    size = archive_tree(_runner(ctx), ctx.path, path, args.exclude)
    if ctx.dry_run:
        return StepResult(data={"path": path})
    fact: dict[str, Any] = {"path": path, "bytes": size, "exclude": list(args.exclude)}
    ctx.facts[FILES_FACT] = fact
    ctx.note(f"Files of {ctx.path} backed up to {path} ({size} bytes).")
    prune_backups(ctx)
    return StepResult(data=fact)


def _files_restore(ctx: StepContext, _args: NoArgs) -> StepResult:
    fact = ctx.facts.get(FILES_FACT)
    if not isinstance(fact, dict) or not fact.get("path"):
        ctx.note("No files backup in this apply: nothing to restore.")
        return StepResult(changed=False, data={"restored": False})
    exclude = [check_pattern(str(p)) for p in fact.get("exclude", [])]
    restore_tree(_runner(ctx), ctx.path, str(fact["path"]), exclude)
    ctx.note(f"Files of {ctx.path} restored from {fact['path']}.")
    return StepResult(data={"restored": True, "path": fact["path"]})


# -- retention --------------------------------------------------------------------------------
def prune_backups(ctx: StepContext) -> list[str]:
    """Remove the site's backup directories beyond `apply.keep_backups` (newest kept, this
    apply's always); only directories directly in `<backup_dir>/<site id>/`. What was removed."""
    site_dir = ctx.site_backups
    listing = ctx.probe(
        ["find", site_dir, "-mindepth", "1", "-maxdepth", "1", "-type", "d", "-print0"], cwd="/"
    )
    names = [
        posixpath.basename(p) for p in listing.text.split("\0") if p.startswith(site_dir + "/")
    ]
    doomed = old_backups(site_dir, names, ctx.apply_settings.keep_backups, ctx.stamp)
    if doomed:
        ctx.run(["rm", "-rf", "--", *doomed], cwd="/")
        ctx.note(
            f"Pruned {len(doomed)} old backup(s) of site {ctx.site.id} (keeping {ctx.apply_settings.keep_backups})."
        )
    return doomed


@hookimpl
def tma_register_steps(register: Callable[[StepInfo], None]) -> None:
    register(
        StepInfo(
            name="db.backup",
            run=_db_backup,
            args_model=NoArgs,
            description="Dump the site's database (gzip) into this apply's backup directory.",
            preflight=_db_preflight,
        )
    )
    register(
        StepInfo(
            name="db.restore",
            run=_db_restore,
            args_model=NoArgs,
            description="Load the database back from this apply's db.backup (none: no-op).",
        )
    )
    register(
        StepInfo(
            name="files.backup",
            run=_files_backup,
            args_model=FilesArgs,
            description="Archive the site tree (without `exclude`) into the backup directory.",
            preflight=_files_preflight,
        )
    )
    register(
        StepInfo(
            name="files.restore",
            run=_files_restore,
            args_model=NoArgs,
            description="Bring the site tree back exactly as files.backup archived it.",
        )
    )

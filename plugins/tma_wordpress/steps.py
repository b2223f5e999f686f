"""WordPress apply steps: core and plugin/theme updates from their release zips.

`wordpress.core_update` (preflight: resolve, download, verify; run: upload, swap, database),
`wordpress.package_swap` (plugins and themes) and `wordpress.restore` (their `on_failure`).

Everything that can refuse an update happens in the preflight, before the playbook's first step:
the package is downloaded on the agent's machine through the run's HTTP settings, extracted with
the core's safe extraction, and (core) every file is checked against the checksums API. The
verified tree is kept in the apply's local workdir, so the run step uploads exactly what was
checked. The swap itself is `tma_agent.apply.swap`: renames beside the live entries, the old
copies moved to the apply's backup directory once the step succeeds, put back by
`wordpress.restore` when this or a later step fails. A single-file plugin
(`plugins/<slug>.php`) is swapped as a file, or becomes a folder plugin (plugin_shapes.py).
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path
from typing import Any

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.apply.archives import ArchiveError, extract_archive, single_top_directory
from tma_agent.apply.swap import finish_swap, restore_swaps, swap_in, upload_tree
from tma_agent.errors import FeedError, TmaError
from tma_agent.sources import Fetcher
from tma_wordpress import packages
from tma_wordpress.detect import VERSION_FILE, read_core_facts
from tma_wordpress.plugin_shapes import Shape, installed_is_file, package_shape, read_back_version
from tma_wordpress.step_args import CoreUpdateArgs, NoArgs, PackageSpec, PackageSwapArgs

__all__ = ["STEPS"]

DEFAULT_API_URL = "https://api.wordpress.org"
#: Never replaced by a core update: the site's content and its configuration.
KEPT = frozenset({"wp-content", "wp-config.php"})
_VERIFIED = ".tma-verified"


def _api(ctx: StepContext) -> str:
    settings = ctx.config.sources.get("wordpress")
    return (settings.url if settings and settings.url else DEFAULT_API_URL).rstrip("/")


def _download(fetcher: Fetcher, url: str, target: Path) -> None:
    answer = fetcher.get(url, max_bytes=packages.MAX_PACKAGE_BYTES)
    target.write_bytes(answer.content)


def _checked(args: CoreUpdateArgs) -> CoreUpdateArgs:
    try:
        return args.checked()
    except packages.UnsafeValue as exc:
        raise _refusal(exc) from None


def _checked_list(args: PackageSwapArgs) -> list[PackageSpec]:
    try:
        return args.checked()
    except packages.UnsafeValue as exc:
        raise _refusal(exc) from None


def _refusal(exc: TmaError) -> StepFailed:
    return StepFailed(" ".join(str(exc).split()))


def _installed_version(ctx: StepContext) -> str:
    shown = ctx.probe(["cat", "--", posixpath.join(ctx.path, VERSION_FILE)])
    version = read_core_facts(shown.text).version if shown.ok else None
    if version is None:
        raise StepFailed(f"{ctx.host.name}:{ctx.path}: not a WordPress root (no {VERSION_FILE})")
    return version


def _core_tree(ctx: StepContext, args: CoreUpdateArgs) -> Path:
    """The verified package, without what a core update never replaces (cached per apply)."""
    prepared = ctx.workdir / f"wordpress-{args.version}-{args.locale}"
    if (prepared / _VERIFIED).is_file():
        return prepared / "wordpress"
    shutil.rmtree(prepared, ignore_errors=True)
    prepared.mkdir(parents=True)
    label = f"WordPress {args.version} package"
    try:
        with Fetcher.from_config(ctx.config) as fetcher:
            url = args.package or packages.core_package_url(
                fetcher, _api(ctx), _installed_version(ctx), args.version, args.locale
            )
            _download(fetcher, url, prepared / "package.zip")
            checksums = packages.core_checksums(fetcher, _api(ctx), args.version, args.locale)
        files = extract_archive(prepared / "package.zip", prepared / "tree", label=label)
        root = single_top_directory(prepared / "tree", label)
        prefix = root.name + "/"
        inside = [f.removeprefix(prefix) for f in files]
        packages.verify_core_tree(root, inside, checksums, args.version)
    except (FeedError, ArchiveError, packages.UnsafeValue) as exc:
        raise _refusal(exc) from None
    for kept in KEPT:
        shutil.rmtree(root / kept, ignore_errors=True)
        (root / kept).unlink(missing_ok=True)
    root.rename(prepared / "wordpress")
    (prepared / "package.zip").unlink()
    (prepared / _VERIFIED).touch()
    return prepared / "wordpress"


def _has_wp_cli(ctx: StepContext, wp_cli: str) -> bool:
    return ctx.probe(["sh", "-c", 'command -v "$1" >/dev/null', "sh", wp_cli]).ok


def _core_preflight(ctx: StepContext, args: CoreUpdateArgs) -> None:
    _core_tree(ctx, _checked(args))
    if not _has_wp_cli(ctx, args.wp_cli) and not ctx.environment.url:
        raise StepFailed(
            f"site {ctx.site.id} ({ctx.env_name}): no WP-CLI on {ctx.host.name} and no `url` "
            "for wp-admin/upgrade.php: the database upgrade could not run"
        )


def _upgrade_database(ctx: StepContext, args: CoreUpdateArgs) -> str:
    if _has_wp_cli(ctx, args.wp_cli):
        ctx.run([args.wp_cli, "core", "update-db"])
        return "wp core update-db"
    url = f"{str(ctx.environment.url).rstrip('/')}/wp-admin/upgrade.php?step=upgrade_db"
    if ctx.dry_run:
        ctx.note(f"would request {url}")
        return url
    try:
        with Fetcher.from_config(ctx.config) as fetcher:
            fetcher.get(url)
    except FeedError as exc:
        raise StepFailed(f"database upgrade: {exc}") from None
    return url


def _core_update(ctx: StepContext, args: CoreUpdateArgs) -> StepResult:
    args = _checked(args)
    previous = _installed_version(ctx)
    tree = _core_tree(ctx, args)
    try:
        names = sorted(p.name for p in tree.iterdir() if p.name not in KEPT)
        record = upload_tree(ctx, tree, ctx.path, f"WordPress {args.version}")
        swap_in(ctx, record, names)
        how = _upgrade_database(ctx, args)
        finish_swap(ctx, record)
    finally:
        # ~60 MB per apply otherwise, for hundreds of sites a night; the host keeps the old.
        shutil.rmtree(tree.parent, ignore_errors=True)
    ctx.note(f"WordPress core {previous} -> {args.version} (checksums verified; database: {how})")
    return StepResult(True, {"previous": previous, "version": args.version, "replaced": names})


def _content_dir(ctx: StepContext, args: PackageSwapArgs) -> str:
    if posixpath.isabs(args.content_dir):
        return posixpath.normpath(args.content_dir)
    joined = posixpath.normpath(posixpath.join(ctx.path, args.content_dir))
    if not joined.startswith(ctx.path.rstrip("/") + "/"):
        raise StepFailed(f"content_dir {args.content_dir!r} leaves the site's path")
    return joined


def _package_dir(ctx: StepContext, spec: PackageSpec) -> Path:
    return ctx.workdir / f"{spec.kind}-{spec.slug}-{spec.version}"


def _package_tree(ctx: StepContext, spec: PackageSpec, single: bool) -> tuple[Path, Shape]:
    """`<workdir>/<kind>-<slug>-<version>/tree`, extracted and checked (the download cached),
    and how it goes in (`single`: the installed plugin is one file)."""
    prepared = _package_dir(ctx, spec)
    label = f"{spec.kind} {spec.slug} {spec.version} package"
    if not (prepared / _VERIFIED).is_file():
        shutil.rmtree(prepared, ignore_errors=True)
        prepared.mkdir(parents=True)
        try:
            with Fetcher.from_config(ctx.config) as fetcher:
                url = spec.package or packages.extension_package_url(
                    fetcher, _api(ctx), spec.kind, spec.slug, spec.version
                )
                _download(fetcher, url, prepared / "package.zip")
            extract_archive(prepared / "package.zip", prepared / "tree", label=label)
        except (FeedError, ArchiveError, packages.UnsafeValue) as exc:
            raise _refusal(exc) from None
        (prepared / "package.zip").unlink()
    shape = package_shape(prepared / "tree", spec.slug, spec.version, label, single=single)
    (prepared / _VERIFIED).touch()
    return prepared / "tree", shape


def _kind_dir(content: str, spec: PackageSpec) -> str:
    return posixpath.join(content, f"{spec.kind}s")


def _swap_preflight(ctx: StepContext, args: PackageSwapArgs) -> None:
    content = _content_dir(ctx, args)
    for spec in _checked_list(args):
        single = installed_is_file(ctx, _kind_dir(content, spec), spec.kind, spec.slug)
        _package_tree(ctx, spec, single)


def _package_swap(ctx: StepContext, args: PackageSwapArgs) -> StepResult:
    content = _content_dir(ctx, args)
    records = []
    specs = _checked_list(args)
    try:
        for spec in specs:
            target = _kind_dir(content, spec)
            single = installed_is_file(ctx, target, spec.kind, spec.slug)
            tree, shape = _package_tree(ctx, spec, single)
            record = upload_tree(ctx, tree, target, f"{spec.kind} {spec.slug} {spec.version}")
            swap_in(ctx, record, shape.names, removed=shape.removed)
            read_back_version(ctx, target, shape, spec.version)
            records.append(record)
            if shape.removed:
                ctx.note(
                    f"Plugin {spec.slug}: {shape.removed[0]} is now the folder plugin "
                    f"{shape.main}; WordPress deactivates the old file's entry: activate it again"
                )
        for record in records:
            finish_swap(ctx, record)
    finally:
        for spec in specs:
            shutil.rmtree(_package_dir(ctx, spec), ignore_errors=True)
    swapped = [f"{s.kind} {s.slug} {s.version}" for s in specs]
    ctx.note("Swapped in: " + ", ".join(swapped))
    return StepResult(True, {"swapped": swapped})


def _restore(ctx: StepContext, args: Any) -> StepResult:
    restored = restore_swaps(ctx)
    if restored:
        ctx.note("Put back the previous " + ", ".join(restored))
    return StepResult(bool(restored), {"restored": restored})


STEPS = (
    StepInfo(
        "wordpress.core_update",
        _core_update,
        CoreUpdateArgs,
        "WordPress core from the offer's package, checksums verified, wp-content and "
        "wp-config.php kept; then the database upgrade",
        preflight=_core_preflight,
    ),
    StepInfo(
        "wordpress.package_swap",
        _package_swap,
        PackageSwapArgs,
        "plugins and themes from their zip, swapped in by renames",
        preflight=_swap_preflight,
    ),
    StepInfo(
        "wordpress.restore",
        _restore,
        NoArgs,
        "on failure: put back what the WordPress steps swapped out",
    ),
)

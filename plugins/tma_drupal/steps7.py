"""Drupal 7 core from its release archive: `drupal7.core_replace` and `drupal7.restore`.

Drupal 7 has no Composer: its core is updated by replacing every core file with the release's,
keeping `sites/` (settings, contrib modules, themes and files). As the Drupal 7 UPGRADE.txt
asks, `.htaccess` and `robots.txt` that the site customised are kept and noted (reapply the
release's changes by hand), unless `replace_customised` is set; `profiles/` is replaced profile
by profile, so a custom install profile stays.

The preflight (before the playbook's first step) downloads the archive on the agent's machine
through the run's HTTP settings (the release feed's `download_link` unless `package` is given),
checks its `mdhash` when the feed has one, extracts it with the core's safe extraction and checks
its `includes/bootstrap.inc` declares the planned version. The swap is `tma_agent.apply.swap`:
renames beside the live entries, the old copies moved to the apply's backup directory once the step succeeds, put back by
`drupal7.restore` when this or a later step fails.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.apply.archives import ArchiveError, extract_archive, single_top_directory
from tma_agent.apply.swap import finish_swap, restore_swaps, swap_in, upload_tree
from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher
from tma_drupal.detect import parse_core_constant
from tma_drupal.releases import feed_url

__all__ = ["STEPS", "CoreReplaceArgs", "check_drupal7_version", "check_url"]

DEFAULT_FEED_URL = "https://updates.drupal.org/release-history"
BOOTSTRAP = "includes/bootstrap.inc"
#: Files a site may have customised: kept (and noted) when they differ from the release's.
CUSTOMISABLE = ("robots.txt", ".htaccess")
_VERSION = re.compile(r"7\.[0-9]{1,4}")
_MD5 = re.compile(r"[0-9a-f]{32}")
_MAX_BYTES = 64 * 1024 * 1024
_WHOLE_TEMPLATE = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")


def check_drupal7_version(value: object) -> str:
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise ValueError(f"refused Drupal 7 version {str(value)[:40]!r}")
    return value


def check_url(value: object) -> str:
    text = value if isinstance(value, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c <= " " for c in text):
        raise ValueError(f"refused URL {str(value)[:80]!r}: only http(s) URLs are downloaded")
    return text


class CoreReplaceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    #: The release archive; empty: the release feed's `download_link` for `version`.
    package: str = ""
    #: The site's Drupal root, relative to its path (a `docroot/` layout).
    docroot: str = ""
    #: Replace a customised `.htaccess`/`robots.txt` with the release's (kept by default).
    replace_customised: bool = False

    _version = field_validator("version")(lambda cls, v: _lenient(check_drupal7_version, v))
    _package = field_validator("package")(lambda cls, v: v and _lenient(check_url, v))

    def checked(self) -> CoreReplaceArgs:
        """The rendered arguments, each value checked again (no template passes now)."""
        try:
            check_drupal7_version(self.version)
            if self.package:
                check_url(self.package)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        return self


def _lenient(check: Callable[[object], str], value: object) -> object:
    """A playbook's `{{ name }}` passes when the playbook is loaded; `checked()` runs on the
    rendered value before the step does anything."""
    if isinstance(value, str) and _WHOLE_TEMPLATE.fullmatch(value):
        return value
    return check(value)


def _root(ctx: StepContext, args: CoreReplaceArgs) -> str:
    root = posixpath.normpath(posixpath.join(ctx.path, args.docroot))
    if root != ctx.path and not root.startswith(ctx.path.rstrip("/") + "/"):
        raise StepFailed(f"docroot {args.docroot!r} leaves the site's path")
    return root


def _feed_release(fetcher: Fetcher, ctx: StepContext, version: str) -> tuple[str, str | None]:
    settings = ctx.config.sources.get("drupal")
    base = (settings.url if settings and settings.url else DEFAULT_FEED_URL).rstrip("/")
    url = feed_url(base, "drupal", drupal7=True)
    root = fetcher.get(url).xml()
    for release in root.iterfind("releases/release"):
        if (release.findtext("version") or "").strip() == version:
            link = check_url((release.findtext("download_link") or "").strip())
            md5 = (release.findtext("mdhash") or "").strip().lower()
            return link, md5 if _MD5.fullmatch(md5) else None
    raise FeedError(url, f"no Drupal {version} release in the feed")


def _installed(ctx: StepContext, root: str) -> str:
    shown = ctx.probe(["cat", "--", posixpath.join(root, BOOTSTRAP)])
    version = parse_core_constant(shown.text, drupal7=True) if shown.ok else None
    if version is None or not version.startswith("7."):
        raise StepFailed(f"{ctx.host.name}:{root}: not a Drupal 7 root (no {BOOTSTRAP} VERSION)")
    return version


def _release_tree(ctx: StepContext, args: CoreReplaceArgs) -> Path:
    """The checked release, `<workdir>/drupal-<version>/drupal` (cached per apply)."""
    prepared = ctx.workdir / f"drupal-{args.version}"
    if (prepared / ".tma-verified").is_file():
        return prepared / "drupal"
    shutil.rmtree(prepared, ignore_errors=True)
    prepared.mkdir(parents=True)
    label = f"Drupal {args.version} archive"
    archive = prepared / "release.tar.gz"
    try:
        with Fetcher.from_config(ctx.config) as fetcher:
            url, md5 = (
                (args.package, None) if args.package else _feed_release(fetcher, ctx, args.version)
            )
            archive.write_bytes(fetcher.get(url, max_bytes=_MAX_BYTES).content)
        if md5 and hashlib.md5(archive.read_bytes(), usedforsecurity=False).hexdigest() != md5:
            raise StepFailed(f"{label}: does not match the feed's mdhash")
        extract_archive(archive, prepared / "tree", label=label)
        top = single_top_directory(prepared / "tree", label)
    except (FeedError, ArchiveError, ValueError) as exc:
        raise StepFailed(" ".join(str(exc).split())) from None
    bootstrap = top / BOOTSTRAP
    declared = (
        parse_core_constant(bootstrap.read_text(errors="replace"), drupal7=True)
        if bootstrap.is_file()
        else None
    )
    if declared != args.version:
        raise StepFailed(f"{label}: {BOOTSTRAP} declares {declared!r}, not {args.version}")
    top.rename(prepared / "drupal")
    archive.unlink()
    (prepared / ".tma-verified").touch()
    return prepared / "drupal"


def _preflight(ctx: StepContext, args: CoreReplaceArgs) -> None:
    args = args.checked()
    _installed(ctx, _root(ctx, args))
    _release_tree(ctx, args)


def _customised(ctx: StepContext, root: str, release: Path) -> list[str]:
    """The customisable files the site has that differ from the release's."""
    found = []
    for name in CUSTOMISABLE:
        shown = ctx.probe(["cat", "--", posixpath.join(root, name)])
        ours = release / name
        if shown.ok and ours.is_file() and shown.stdout != ours.read_bytes():
            found.append(name)
    return found


def _split_tree(release: Path, scratch: Path, skipped: set[str]) -> tuple[Path, Path | None]:
    """Two local trees to upload: the top-level entries, and the release's profiles."""
    top, profiles = scratch / "top", scratch / "profiles"
    shutil.rmtree(scratch, ignore_errors=True)
    top.mkdir(parents=True)
    for entry in release.iterdir():
        if entry.name in skipped or entry.name in ("sites", "profiles"):
            continue
        _copy(entry, top / entry.name)
    if (release / "profiles").is_dir():
        shutil.copytree(release / "profiles", profiles)
        return top, profiles
    return top, None


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def _swap_release(
    ctx: StepContext, args: CoreReplaceArgs, root: str, release: Path, customised: list[str]
) -> None:
    scratch = ctx.workdir / f"drupal-{args.version}-upload"
    try:
        top, profiles = _split_tree(release, scratch, set(customised))
        records: list[dict[str, Any]] = []
        record = upload_tree(ctx, top, root, f"Drupal {args.version} core")
        swap_in(ctx, record, sorted(p.name for p in top.iterdir()))
        records.append(record)
        if profiles is not None:
            target = posixpath.join(root, "profiles")
            record = upload_tree(ctx, profiles, target, f"Drupal {args.version} profiles")
            swap_in(ctx, record, sorted(p.name for p in profiles.iterdir()))
            records.append(record)
        for done in records:
            finish_swap(ctx, done)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _core_replace(ctx: StepContext, args: CoreReplaceArgs) -> StepResult:
    args = args.checked()
    root = _root(ctx, args)
    previous = _installed(ctx, root)
    release = _release_tree(ctx, args)
    try:
        customised = [] if args.replace_customised else _customised(ctx, root, release)
        _swap_release(ctx, args, root, release, customised)
    finally:
        shutil.rmtree(release.parent, ignore_errors=True)
    ctx.note(f"Drupal core {previous} -> {args.version} from the release archive (sites/ kept)")
    for name in customised:
        ctx.note(
            f"{name} is customised: kept as it was; apply the changes of Drupal "
            f"{args.version}'s {name} by hand"
        )
    return StepResult(
        True, {"previous": previous, "version": args.version, "customised": customised}
    )


def _restore(ctx: StepContext, args: Any) -> StepResult:
    restored = restore_swaps(ctx)
    if restored:
        ctx.note("Put back the previous " + ", ".join(restored))
    return StepResult(bool(restored), {"restored": restored})


class _NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


STEPS = (
    StepInfo(
        "drupal7.core_replace",
        _core_replace,
        CoreReplaceArgs,
        "Drupal 7 core files replaced from the release archive, sites/ kept",
        preflight=_preflight,
    ),
    StepInfo("drupal7.restore", _restore, _NoArgs, "on failure: put back the previous core files"),
)

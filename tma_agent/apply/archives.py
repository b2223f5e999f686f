"""Release archives (zip, tar, tar.gz) opened safely on the agent's machine.

Upstream packages are hostile input until proven otherwise. Every member is checked before
anything is written: no absolute path, no `..`, no backslash or NUL, no symlink, hard link,
device or FIFO, no duplicate, and bounds on the member count, each member's size and the total
(a zip bomb is caught while reading too, since a zip's declared sizes can lie). Only regular
files and directories are ever created, with modes reduced to 0644/0755.

`pack_tree` turns a checked tree back into a tar.gz of regular files and directories only: what
is uploaded to a site's host, where plain `tar` unpacks it (a host needs no unzip, and never
sees the upstream archive itself).
"""

from __future__ import annotations

import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tma_agent.errors import TmaError

__all__ = ["ArchiveError", "ArchiveLimits", "extract_archive", "pack_tree", "single_top_directory"]

_CHUNK = 1024 * 1024


class ArchiveError(TmaError):
    """An archive that is unreadable, or holds a member the agent refuses to extract."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 20_000
    max_member_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class _Member:
    name: str  # normalised, relative, without a trailing slash
    is_dir: bool
    size: int
    executable: bool


def _safe_name(raw: str, label: str) -> str:
    if not raw or "\x00" in raw or "\\" in raw:
        raise ArchiveError(f"{label}: refused member {raw!r} (empty name, NUL or backslash)")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ArchiveError(f"{label}: refused member {raw!r} (absolute path)")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if not parts:
        raise ArchiveError(f"{label}: refused member {raw!r} (no name)")
    if ".." in parts:
        raise ArchiveError(f"{label}: refused member {raw!r} (path traversal)")
    return posixpath.join(*parts)


def _zip_members(archive: zipfile.ZipFile, label: str) -> list[_Member]:
    members = []
    for info in archive.infolist():
        mode = info.external_attr >> 16
        name = _safe_name(info.filename, label)
        kind = stat.S_IFMT(mode)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            what = "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
            raise ArchiveError(f"{label}: refused member {info.filename!r} ({what})")
        members.append(_Member(name, info.is_dir(), info.file_size, bool(mode & 0o111)))
    return members


def _tar_members(archive: tarfile.TarFile, label: str) -> list[_Member]:
    members = []
    for info in archive.getmembers():
        name = _safe_name(info.name, label)
        if info.issym() or info.islnk():
            raise ArchiveError(f"{label}: refused member {info.name!r} (a link)")
        if not (info.isfile() or info.isdir()):
            raise ArchiveError(f"{label}: refused member {info.name!r} (not a regular file)")
        members.append(_Member(name, info.isdir(), info.size, bool(info.mode & 0o111)))
    return members


def _check_bounds(members: list[_Member], limits: ArchiveLimits, label: str) -> None:
    if len(members) > limits.max_members:
        raise ArchiveError(f"{label}: {len(members)} members, over {limits.max_members}")
    total = 0
    seen: dict[str, bool] = {}
    for member in members:
        if member.size > limits.max_member_bytes:
            raise ArchiveError(f"{label}: member {member.name!r} is over the size limit")
        total += member.size
        if member.name in seen and not (member.is_dir and seen[member.name]):
            raise ArchiveError(f"{label}: member {member.name!r} appears twice")
        seen[member.name] = member.is_dir
    if total > limits.max_total_bytes:
        raise ArchiveError(f"{label}: {total} bytes uncompressed, over the limit")
    # A file may not also be a parent directory of another member.
    files = {m.name for m in members if not m.is_dir}
    for member in members:
        parent = posixpath.dirname(member.name)
        while parent:
            if parent in files:
                raise ArchiveError(f"{label}: {parent!r} is both a file and a directory")
            parent = posixpath.dirname(parent)


def _copy_bounded(source: IO[bytes], target: Path, budget: list[int], label: str) -> None:
    with target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise ArchiveError(f"{label}: more data than its members declare (refused)")
            out.write(chunk)


def _write(
    dest: Path, member: _Member, stream: IO[bytes] | None, budget: list[int], label: str
) -> None:
    path = dest / member.name
    if member.is_dir:
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        return
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if stream is None:
        raise ArchiveError(f"{label}: member {member.name!r} cannot be read")
    _copy_bounded(stream, path, budget, label)
    path.chmod(0o755 if member.executable else 0o644)


def _extract_zip(archive: Path, dest: Path, limits: ArchiveLimits, label: str) -> list[_Member]:
    budget = [limits.max_total_bytes]
    with zipfile.ZipFile(archive) as zipped:
        members = _zip_members(zipped, label)
        _check_bounds(members, limits, label)
        for info, member in zip(zipped.infolist(), members, strict=True):
            if member.is_dir:
                _write(dest, member, None, budget, label)
                continue
            with zipped.open(info) as stream:
                _write(dest, member, stream, budget, label)
    return members


def _extract_tar(archive: Path, dest: Path, limits: ArchiveLimits, label: str) -> list[_Member]:
    budget = [limits.max_total_bytes]
    with tarfile.open(archive) as tarred:
        infos = tarred.getmembers()
        members = _tar_members(tarred, label)
        _check_bounds(members, limits, label)
        for info, member in zip(infos, members, strict=True):
            stream = None if member.is_dir else tarred.extractfile(info)
            _write(dest, member, stream, budget, label)
    return members


def extract_archive(
    archive: Path, dest: Path, *, label: str | None = None, limits: ArchiveLimits = ArchiveLimits()
) -> list[str]:
    """Extract a zip or a tar (any compression) into the empty or new directory `dest`.
    Every member is checked first: on a refusal nothing is written. Returns the files
    extracted (relative paths, sorted)."""
    label = label or archive.name
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ArchiveError(f"{label}: extraction directory {dest} is not empty")
    try:
        if zipfile.is_zipfile(archive):
            members = _extract_zip(archive, dest, limits, label)
        else:
            members = _extract_tar(archive, dest, limits, label)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ArchiveError(f"{label}: unreadable archive ({reason})") from None
    except ArchiveError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return sorted(m.name for m in members if not m.is_dir)


def single_top_directory(root: Path, label: str) -> Path:
    """The one directory a release archive wraps everything in (`wordpress/`, `akismet/`,
    `drupal-7.103/`); anything else at the top is refused."""
    entries = list(root.iterdir())
    if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
        names = sorted(e.name for e in entries)[:5]
        raise ArchiveError(f"{label}: expected one top-level directory, found {names}")
    return entries[0]


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise ArchiveError(f"{path}: not a regular file or directory (refused)")
        yield path


def _add_tree(tarred: tarfile.TarFile, root: Path) -> None:
    for path in _walk(root):
        info = tarred.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755 if path.is_dir() or info.mode & 0o111 else 0o644
        if path.is_dir():
            tarred.addfile(info)
        else:
            with path.open("rb") as content:
                tarred.addfile(info, content)


def pack_tree(root: Path, target: Path, *, compress: bool = True) -> None:
    """A tar (gzipped with `compress`) of `root`'s content (paths relative to it), regular
    files and directories only, owned by nobody in particular: `tar -xf` on the host creates
    them as its user."""
    if compress:
        # compresslevel 1: most of the size gain for a fraction of the CPU.
        with tarfile.open(target, "w:gz", compresslevel=1) as tarred:
            _add_tree(tarred, root)
    else:
        with tarfile.open(target, "w") as tarred:
            _add_tree(tarred, root)

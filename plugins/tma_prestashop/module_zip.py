"""A module's release zip, checked and turned into a tarball the site's host can unpack.

The zip comes from the `url` of the agency's modules index (`sources.prestashop.modules`,
FORMATS.md), downloaded on the agent machine. PrestaShop's own installer unpacks a module zip
as is; here every member must sit under `<name>/` (PrestaShop's layout, `<name>/<name>.php`
inside), with no absolute path, no `..`, no link and a bounded size, so a hostile archive cannot
write outside `modules/<name>`. The host then needs only `tar` (always there; `unzip` is not).
"""

from __future__ import annotations

import io
import stat
import tarfile
import time
import zipfile
from pathlib import Path

from tma_agent.apply import StepFailed
from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher
from tma_prestashop.indexes import _read_json, parse_modules_index

__all__ = ["MAX_ZIP_BYTES", "download_zip", "release_url", "zip_to_tarball"]

MAX_ZIP_BYTES = 128 * 1024 * 1024
_MAX_UNPACKED = 512 * 1024 * 1024


def release_url(fetcher: Fetcher, index: str | None, name: str, version: str) -> str:
    """The zip URL of `name` at `version` in the modules index; StepFailed when unknown."""
    if not index:
        raise StepFailed("sources.prestashop.modules is not set: no module zip to download")
    try:
        releases = parse_modules_index(_read_json(fetcher, index), index).get(name, [])
    except FeedError as exc:
        raise StepFailed(str(exc)) from None
    found = next((r for r in releases if r.version == version), None)
    if found is None:
        raise StepFailed(f"{index}: module {name} has no release {version}")
    if not found.url or not found.url.startswith(("https://", "http://")):
        raise StepFailed(f"{index}: module {name} {version} has no zip `url`")
    return found.url


def download_zip(fetcher: Fetcher, url: str) -> bytes:
    try:
        return fetcher.get(url, max_bytes=MAX_ZIP_BYTES).content
    except FeedError as exc:
        raise StepFailed(str(exc)) from None


def zip_to_tarball(content: bytes, name: str, target: Path) -> Path:
    """Check the zip of module `name` and write its files as a gzip tarball at `target`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise StepFailed(f"the zip of module {name} is not a zip archive") from None
    members = archive.infolist()
    total = 0
    for member in members:
        _check_member(member, name)
        total += member.file_size
    if total > _MAX_UNPACKED:
        raise StepFailed(f"the zip of module {name} unpacks to more than {_MAX_UNPACKED} bytes")
    names = {m.filename.rstrip("/") for m in members}
    if f"{name}/{name}.php" not in names:
        raise StepFailed(f"the zip of module {name} has no {name}/{name}.php")
    with tarfile.open(target, "w:gz") as tar:
        for member in members:
            info = tarfile.TarInfo(member.filename.rstrip("/"))
            info.mtime = int(time.mktime((*member.date_time, 0, 0, -1)))  # zip times: local
            if member.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            data = archive.read(member)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return target


def _check_member(member: zipfile.ZipInfo, name: str) -> None:
    path = member.filename
    parts = path.rstrip("/").split("/")
    bad = (
        path.startswith("/")
        or "\\" in path
        or ".." in parts
        or parts[0] != name
        or stat.S_ISLNK(member.external_attr >> 16)
    )
    if bad:
        raise StepFailed(
            f"the zip of module {name} has a member outside {name}/ or a link: {path[:120]!r}"
        )

"""What a plugin or theme is on disk and in its package, for `wordpress.package_swap`.

Installed, a plugin is a folder `plugins/<slug>/` or a single file `plugins/<slug>.php`
(WordPress loads both; the inventory names the latter by its stem, as `hello`). A theme is
always a folder. The package of a folder extension holds exactly one directory named like the
slug. The package of a single-file plugin holds either that one file, `<slug>.php` (swapped
over the installed file), or one directory `<slug>/` (installed as a folder plugin and the old
file moved aside, as WordPress's own upgrader turns a file into the folder its package has).

The plugin's main file (the file, or the folder's top-level `.php` whose header has a
`Plugin Name:`, `<slug>.php` first, as `get_plugins()` finds it) must declare the planned
`Version:` in the package, and again once swapped in, read back from the host.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from tma_agent.apply import StepContext, StepFailed
from tma_wordpress.headers import HEADER_READ_BYTES, PLUGIN_HEADERS, read_file_headers

__all__ = ["Shape", "installed_is_file", "package_shape", "read_back_version"]


@dataclass(frozen=True)
class Shape:
    """How one package goes in: `names` swapped, `removed` only moved aside, `main` the main
    file to check (relative to the kind's directory; None: not checked, a folder as before)."""

    names: list[str]
    removed: list[str]
    main: str | None


def installed_is_file(ctx: StepContext, kind_dir: str, kind: str, slug: str) -> bool:
    """False for a folder; True for a single-file plugin; refused when neither is there."""
    if ctx.probe(["test", "-d", posixpath.join(kind_dir, slug)]).ok:
        return False
    single = posixpath.join(kind_dir, f"{slug}.php")
    if kind == "plugin" and ctx.probe(["test", "-f", single]).ok:
        return True
    what = "plugin directory or file" if kind == "plugin" else "theme directory"
    raise StepFailed(f"{ctx.host.name}:{posixpath.join(kind_dir, slug)}: no such {what}")


def _headers(path: Path) -> dict[str, str]:
    with path.open("rb") as stream:
        head = stream.read(HEADER_READ_BYTES).decode("utf-8", "replace")
    return read_file_headers(head, PLUGIN_HEADERS)


def _folder_main(folder: Path, slug: str) -> Path | None:
    candidates = sorted(folder.glob("*.php"), key=lambda p: (p.name != f"{slug}.php", p.name))
    return next((p for p in candidates if p.is_file() and "Name" in _headers(p)), None)


def package_shape(tree: Path, slug: str, version: str, label: str, *, single: bool) -> Shape:
    """Check the extracted package `tree` (its top level) against what is installed."""
    entries = sorted(tree.iterdir())
    names = [e.name for e in entries]
    folder = tree / slug
    if names == [slug] and folder.is_dir() and not folder.is_symlink():
        if not single:
            return Shape([slug], [], None)
        main = _folder_main(folder, slug)
        if main is None:
            raise StepFailed(f"{label}: {slug}/ has no main file with a Plugin Name header")
        shape = Shape([slug], [f"{slug}.php"], f"{slug}/{main.name}")
    elif single and names == [f"{slug}.php"] and entries[0].is_file():
        shape = Shape([f"{slug}.php"], [], f"{slug}.php")
    else:
        wanted = f"{slug}.php or one directory {slug}/" if single else f"one directory {slug}/"
        raise StepFailed(f"{label}: expected {wanted}, found {names[:5]}")
    headers = _headers(tree / shape.main) if shape.main else {"Name": slug, "Version": version}
    if "Name" not in headers:
        raise StepFailed(f"{label}: {shape.main} has no Plugin Name header")
    declared = headers.get("Version")
    if declared != version:
        raise StepFailed(f"{label}: {shape.main} declares Version {declared!r}, not {version}")
    return shape


def read_back_version(ctx: StepContext, kind_dir: str, shape: Shape, version: str) -> None:
    """After the swap: the main file on the host must declare `version` (a dry run: nothing
    was swapped, nothing to read)."""
    if shape.main is None or ctx.dry_run:
        return
    path = posixpath.join(kind_dir, shape.main)
    shown = ctx.probe(["head", "-c", str(HEADER_READ_BYTES), "--", path])
    declared = read_file_headers(shown.text, PLUGIN_HEADERS).get("Version") if shown.ok else None
    if declared != version:
        raise StepFailed(
            f"{ctx.host.name}:{path}: declares Version {declared!r} after the swap, not {version}"
        )

"""Replace directories and files of a site's tree from a checked local tree, by renames.

Shared by the stack steps that install release archives (WordPress core, plugins and themes,
Drupal 7 core). On the host:

1. the checked tree is packed (`archives.pack_tree`; gzipped for a remote host), put in the
   apply's backup directory and unpacked by plain `tar` into `<target>/.tma-swap-<stamp>-<n>/new` — beside what it replaces,
   on the same filesystem, so the swap is made of renames;
2. for each top-level name: the old entry is renamed into `.../old`, the new one renamed in;
3. when the step is done (`finish_swap`) the old entries move to the apply's backup directory
   (outside the tree, so the checkout stays clean; pruned with the backups) and the work
   directory goes. If this step or any later one fails, `restore_swaps` (from an `on_failure`
   step) moves the old entries back, wherever they are, and removes the added ones.

What was swapped is recorded in `ctx.facts["archive.swaps"]` before the first rename, so a
restore knows what to undo even after a failure in the middle. Names and paths are argv items
of fixed scripts: a name from an archive is data, never shell code.
"""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tma_agent.apply._types import StepFailed
from tma_agent.apply.archives import pack_tree
from tma_agent.hosts import LocalHost

if TYPE_CHECKING:
    from tma_agent.apply.context import StepContext

__all__ = ["SWAP_FACTS", "finish_swap", "restore_swaps", "swap_in", "upload_tree"]

SWAP_FACTS = "archive.swaps"

_EXISTING = 't=$1; shift; for n do if [ -e "$t/$n" ] || [ -L "$t/$n" ]; then echo "$n"; fi; done'
_SWAP = (
    "t=$1; nw=$2; o=$3; shift 3; for n do "
    'if [ -e "$t/$n" ] || [ -L "$t/$n" ]; then mv -- "$t/$n" "$o/$n" || exit 1; fi; '
    'mv -- "$nw/$n" "$t/$n" || exit 1; done'
)
_PUT_BACK = (
    't=$1; o=$2; shift 2; for n do if [ -e "$o/$n" ] || [ -L "$o/$n" ]; then '
    'rm -rf -- "$t/$n" && mv -- "$o/$n" "$t/$n" || exit 1; fi; done'
)
_REMOVE_ADDED = 't=$1; nw=$2; shift 2; for n do [ -e "$nw/$n" ] || rm -rf -- "$t/$n"; done'


def _checked_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise StepFailed(f"refused to swap the entry {name!r}: not a plain name")
    return name


def upload_tree(ctx: StepContext, local_root: Path, target: str, label: str) -> dict[str, Any]:
    """Put `local_root`'s content on the host under a new work directory beside `target`'s
    entries; returns the swap record (already in the facts)."""
    swaps: list[dict[str, Any]] = ctx.facts.setdefault(SWAP_FACTS, [])
    work = posixpath.join(target, f".tma-swap-{ctx.stamp}-{len(swaps)}")
    record: dict[str, Any] = {
        "label": label,
        "target": target,
        "work": work,
        "new": posixpath.join(work, "new"),
        "old": posixpath.join(work, "old"),
        "names": [],
        "existed": [],
        "state": "uploaded",
    }
    # In the facts before anything exists on the host: a failure from here on is cleaned up.
    swaps.append(record)
    backup_dir = ctx.ensure_backup_dir()
    # Compressing only pays over a network; on this machine it would only cost CPU.
    compress = not isinstance(ctx.host, LocalHost)
    suffix = ".tar.gz" if compress else ".tar"
    remote_archive = posixpath.join(backup_dir, posixpath.basename(work) + suffix)
    if ctx.dry_run:
        ctx.note(f"would upload {label} to {remote_archive}")
    else:
        with tempfile.TemporaryDirectory(prefix="tma-pack-") as scratch:
            packed = Path(scratch) / ("tree" + suffix)
            pack_tree(local_root, packed, compress=compress)
            ctx.host.put(str(packed), remote_archive)
    ctx.run(["mkdir", "-p", "-m", "700", record["new"], record["old"]], cwd="/")
    flags = "-xzf" if compress else "-xf"
    unpack = ["tar", flags, remote_archive, "-C", record["new"], "--no-same-owner"]
    ctx.run(unpack, cwd="/")
    ctx.run(["rm", "-f", "--", remote_archive], cwd="/")
    return record


def swap_in(ctx: StepContext, record: dict[str, Any], names: list[str]) -> None:
    """Rename each of `names` aside and the new one in (the names are recorded first)."""
    checked = [_checked_name(n) for n in names]
    target = record["target"]
    listed = ctx.probe(["sh", "-c", _EXISTING, "sh", target, *checked], check=True)
    record["names"] = checked
    record["existed"] = [n for n in listed.text.splitlines() if n in checked]
    record["state"] = "swapping"
    ctx.run(["sh", "-c", _SWAP, "sh", target, record["new"], record["old"], *checked], cwd="/")
    record["state"] = "swapped"


def finish_swap(ctx: StepContext, record: dict[str, Any]) -> None:
    """The step succeeded: the old copies leave the tree for the backup directory, where a
    later failure of the playbook still finds them."""
    kept = posixpath.join(ctx.backup_dir, posixpath.basename(record["work"]) + "-old")
    ctx.run(["mv", "--", record["old"], kept], cwd="/")
    record["old"] = kept
    ctx.run(["rm", "-rf", "--", record["work"]], cwd="/")
    record["state"] = "kept"


def restore_swaps(ctx: StepContext) -> list[str]:
    """Undo every swap of this apply, newest first; returns their labels."""
    restored = []
    for record in reversed(ctx.facts.get(SWAP_FACTS, [])):
        if record.get("state") == "restored":
            continue
        target, work = record["target"], record["work"]
        existed = [_checked_name(n) for n in record.get("existed", [])]
        added = [_checked_name(n) for n in record.get("names", []) if n not in existed]
        if existed:
            ctx.run(["sh", "-c", _PUT_BACK, "sh", target, record["old"], *existed], cwd="/")
        if added:
            ctx.run(["sh", "-c", _REMOVE_ADDED, "sh", target, record["new"], *added], cwd="/")
        ctx.run(["rm", "-rf", "--", work], cwd="/")
        record["state"] = "restored"
        restored.append(str(record["label"]))
    return restored

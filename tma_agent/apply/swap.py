"""Replace directories and files of a site's tree from a checked local tree, by renames.

Shared by the stack steps that install release archives (WordPress core, plugins and themes,
Drupal 7 core). On the host:

1. the checked tree is packed (`archives.pack_tree`; gzipped for a remote host), put in the
   apply's backup directory and unpacked by plain `tar` into `<target>/.tma-swap-<stamp>-<n>/new`
   — beside what it replaces, on the same filesystem, so the swap is made of renames;
2. for each top-level name: the old entry is renamed into `.../old`, the new one renamed in
   (a file over a file: its old copy linked into `.../old`, the new one renamed over it);
3. when the step is done (`finish_swap`) the old entries move to the apply's backup directory
   (outside the tree, so the checkout stays clean; pruned with the backups) and the work
   directory goes. If this step or any later one fails, `restore_swaps` (from an `on_failure`
   step) moves the old entries back, wherever they are, and removes the added ones.

Each swap is recorded twice before its first rename: in `ctx.facts["archive.swaps"]`, and as
`<backup_dir>/.tma-swap-<stamp>-<n>.json` on the host, because the engine persists facts only
after a step: a run killed in the middle of a swap is still undone by the recovery's
`restore_swaps`. Every restore command is idempotent (an entry is put back only when its old
copy is there, an added one removed only once moved in), so running it twice is harmless.
Names and paths are argv items of fixed scripts: a name from an archive is data, never code.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Sequence
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
#: A file replacing a file is renamed over it (one atomic rename: never a moment without it),
#: its old copy kept first as a hard link (a copy where links fail); anything else is moved
#: aside, then the new entry moved in.
_SWAP = (
    "t=$1; nw=$2; o=$3; shift 3; for n do "
    'if [ -f "$t/$n" ] && [ ! -L "$t/$n" ] && [ -f "$nw/$n" ] && [ ! -L "$nw/$n" ]; then '
    '{ ln -- "$t/$n" "$o/$n" 2>/dev/null || cp -p -- "$t/$n" "$o/$n"; } '
    '&& mv -f -- "$nw/$n" "$t/$n" || exit 1; continue; fi; '
    'if [ -e "$t/$n" ] || [ -L "$t/$n" ]; then mv -- "$t/$n" "$o/$n" || exit 1; fi; '
    'mv -- "$nw/$n" "$t/$n" || exit 1; done'
)
#: Entries the new tree replaces under another name (a single-file plugin becoming a folder).
_SET_ASIDE = (
    't=$1; o=$2; shift 2; for n do if [ -e "$t/$n" ] || [ -L "$t/$n" ]; then '
    'mv -- "$t/$n" "$o/$n" || exit 1; fi; done'
)
#: The old copy is in the work directory (`$2`) or, once the step finished, the kept one (`$3`).
_PUT_BACK = (
    't=$1; o=$2; k=$3; shift 3; for n do for d in "$o" "$k"; do '
    'if [ -e "$d/$n" ] || [ -L "$d/$n" ]; then rm -rf -- "$t/$n" && mv -- "$d/$n" "$t/$n" '
    "|| exit 1; break; fi; done; done"
)
_REMOVE_ADDED = 't=$1; nw=$2; shift 2; for n do [ -e "$nw/$n" ] || rm -rf -- "$t/$n"; done'
_WRITE = 'cat > "$1"'
_READ_RECORDS = 'for f in "$1"/.tma-swap-*.json; do [ -f "$f" ] && cat "$f" && echo; done; true'


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\x00" in name:
        raise StepFailed(f"refused to swap the entry {name!r}: not a plain name")
    return name


def _save(ctx: StepContext, record: dict[str, Any]) -> None:
    ctx.run(
        ["sh", "-c", _WRITE, "sh", record["journal"]], cwd="/", stdin=json.dumps(record).encode()
    )


def upload_tree(ctx: StepContext, local_root: Path, target: str, label: str) -> dict[str, Any]:
    """Put `local_root`'s content on the host under a new work directory beside `target`'s
    entries; returns the swap record (already in the facts and on the host)."""
    swaps: list[dict[str, Any]] = ctx.facts.setdefault(SWAP_FACTS, [])
    work = posixpath.join(target, f".tma-swap-{ctx.stamp}-{len(swaps)}")
    backup_dir = ctx.ensure_backup_dir()
    base = posixpath.join(backup_dir, posixpath.basename(work))
    record: dict[str, Any] = {
        "label": label,
        "target": target,
        "work": work,
        "new": posixpath.join(work, "new"),
        "old": posixpath.join(work, "old"),
        "kept": base + "-old",
        "journal": base + ".json",
        "names": [],
        "existed": [],
        "state": "uploaded",
    }
    # Recorded before anything exists on the host: a failure from here on is cleaned up.
    swaps.append(record)
    _save(ctx, record)
    # Compressing only pays over a network; on this machine it would only cost CPU.
    compress = not isinstance(ctx.host, LocalHost)
    remote_archive = base + (".tar.gz" if compress else ".tar")
    if ctx.dry_run:
        ctx.note(f"would upload {label} to {remote_archive}")
    else:
        with tempfile.TemporaryDirectory(prefix="tma-pack-") as scratch:
            packed = Path(scratch) / "tree.tar"
            pack_tree(local_root, packed, compress=compress)
            ctx.host.put(str(packed), remote_archive)
    ctx.run(["mkdir", "-p", "-m", "700", record["new"], record["old"]], cwd="/")
    flags = "-xzf" if compress else "-xf"
    ctx.run(["tar", flags, remote_archive, "-C", record["new"], "--no-same-owner"], cwd="/")
    ctx.run(["rm", "-f", "--", remote_archive], cwd="/")
    return record


def swap_in(
    ctx: StepContext, record: dict[str, Any], names: list[str], *, removed: Sequence[str] = ()
) -> None:
    """Rename each of `names` aside and the new one in (the names are recorded first);
    `removed`: entries only moved aside (the new tree has them under another name), put back
    like the others by `restore_swaps`."""
    checked = [_checked_name(n) for n in names]
    aside = [_checked_name(n) for n in removed if n not in checked]
    target = record["target"]
    listed = ctx.probe(["sh", "-c", _EXISTING, "sh", target, *checked, *aside], check=True)
    record["names"] = [*checked, *aside]
    record["existed"] = [n for n in listed.text.splitlines() if n in record["names"]]
    record["state"] = "swapping"
    _save(ctx, record)
    if aside:
        ctx.run(["sh", "-c", _SET_ASIDE, "sh", target, record["old"], *aside], cwd="/")
    ctx.run(["sh", "-c", _SWAP, "sh", target, record["new"], record["old"], *checked], cwd="/")
    record["state"] = "swapped"


def finish_swap(ctx: StepContext, record: dict[str, Any]) -> None:
    """The step succeeded: the old copies leave the tree for the backup directory, where a
    later failure of the playbook still finds them."""
    ctx.run(["mv", "--", record["old"], record["kept"]], cwd="/")
    ctx.run(["rm", "-rf", "--", record["work"]], cwd="/")
    record["state"] = "kept"


def _host_records(ctx: StepContext) -> list[dict[str, Any]]:
    """The swaps recorded on the host for this apply (a killed step's are only there)."""
    shown = ctx.probe(["sh", "-c", _READ_RECORDS, "sh", ctx.backup_dir])
    records = []
    for line in shown.text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        keys = ("target", "work", "new", "old", "kept", "label")
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in keys):
            continue
        # Only what upload_tree writes: a work directory of this apply, inside its target.
        expected = posixpath.join(record["target"], f".tma-swap-{ctx.stamp}-")
        if record["work"].startswith(expected) and record["work"][len(expected) :].isdigit():
            records.append(record)
    return records


def restore_swaps(ctx: StepContext) -> list[str]:
    """Undo every swap of this apply, newest first; returns their labels."""
    by_work = {r["work"]: r for r in _host_records(ctx)}
    by_work.update({r["work"]: r for r in ctx.facts.get(SWAP_FACTS, [])})
    restored = []
    for work in sorted(by_work, key=lambda w: int(w.rsplit("-", 1)[-1]), reverse=True):
        record = by_work[work]
        if record.get("state") == "restored":
            continue
        existed = [_checked_name(n) for n in record.get("existed", [])]
        added = [_checked_name(n) for n in record.get("names", []) if n not in existed]
        target = record["target"]
        if existed:
            put_back = [_PUT_BACK, "sh", target, record["old"], record["kept"], *existed]
            ctx.run(["sh", "-c", *put_back], cwd="/")
        if added:
            ctx.run(["sh", "-c", _REMOVE_ADDED, "sh", target, record["new"], *added], cwd="/")
        ctx.run(["rm", "-rf", "--", work, record["kept"]], cwd="/")
        record["state"] = "restored"
        _save(ctx, record)
        restored.append(str(record["label"]))
    return restored

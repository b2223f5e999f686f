"""Back up a site tree on its host (a tar.gz), bring it back exactly; prune old backups.
(Release archives from upstream are `archives`' business: this is the site's own tree.)

One `find` expression decides which paths belong to the backup, for the archive and for the
restore alike: an `exclude` pattern containing `/` matches a path relative to the site tree
(`sites/default/files`, `var/cache/*`), one without matches a name at any depth (`*.log`);
an excluded directory is skipped whole. A restore removes every non-excluded entry of the tree
(files added since the backup included), then extracts the archive: the tree is as it was,
excluded paths untouched. Nothing outside the tree is touched (`find` never follows symlinks).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from tma_agent.apply.dumps import CommandRunner
from tma_agent.errors import TmaError

__all__ = ["archive_tree", "check_pattern", "old_backups", "restore_tree"]

_ARCHIVE = r"""
set -u
umask 077
tree=$1 file=$2
shift 2
cd "$tree" || exit 66
d=$(mktemp -d) || exit 70
trap 'rm -rf "$d"' EXIT
( find . -mindepth 1 "$@" -print0 2>"$d/find-err"; echo $? > "$d/find-rc" ) \
  | tar --null --no-recursion -T - -czf "$file.part" 2>"$d/err"
rc=$?
# tar's 1: a file changed while it was read (a live site's log): the archive is still whole.
if [ "$rc" -gt 1 ] || [ "$(cat "$d/find-rc")" != 0 ]; then
  cat "$d/find-err" "$d/err" | grep -v 'Exiting with failure status' | tail -n 3 >&2
  rm -f "$file.part"
  exit 1
fi
mv -f "$file.part" "$file" && wc -c < "$file"
"""

_RESTORE = r"""
set -u
tree=$1 file=$2
shift 2
gzip -t "$file" || exit 65
# A broken update may have removed the tree itself: it comes back too.
mkdir -p "$tree" && cd "$tree" || exit 66
# Drupal makes sites/default read-only: its files could not go. tar -p puts the modes back.
find . -mindepth 1 "$@" -type d ! -perm -u+w -exec chmod u+w {} + || exit 1
# Everything the backup covered goes: files and links first, then directories deepest first
# (one still holding an excluded path stays, and rmdir says nothing).
find . -mindepth 1 "$@" ! -type d -print0 | xargs -0 rm -f -- || exit 1
find . -mindepth 1 "$@" -type d -print0 | sort -rz | xargs -0 rmdir -- 2>/dev/null
tar -xzpf "$file" || exit 1
"""


def check_pattern(pattern: str) -> str:
    """An `exclude` pattern as given, refused when it could name something outside the tree."""
    cleaned = pattern.strip()
    parts = cleaned.split("/")
    if not cleaned or cleaned.startswith("/") or ".." in parts or "\0" in cleaned:
        raise ValueError(f"exclude pattern {pattern!r}: must be relative to the site tree")
    return cleaned.removeprefix("./").rstrip("/")


def _prune_args(exclude: Sequence[str]) -> list[str]:
    """`( -path ./a -o -name b ) -prune -o` for `find`, or nothing."""
    if not exclude:
        return []
    tests: list[str] = []
    for pattern in exclude:
        if tests:
            tests.append("-o")
        tests += ["-path", "./" + pattern] if "/" in pattern else ["-name", pattern]
    return ["(", *tests, ")", "-prune", "-o"]


def archive_tree(run: CommandRunner, tree: str, path: str, exclude: Sequence[str] = ()) -> int:
    """A gzip tar of `tree` (without `exclude`) at `path` on the host; its size in bytes."""
    argv = ["sh", "-c", _ARCHIVE, "sh", tree, path, *_prune_args(exclude)]
    text = run(argv).stdout.decode("utf-8", errors="replace").strip()
    return int(text) if text.isdigit() else 0


def restore_tree(run: CommandRunner, tree: str, path: str, exclude: Sequence[str] = ()) -> None:
    """`tree` exactly as archived in `path` (excluded paths left as they are)."""
    run(["sh", "-c", _RESTORE, "sh", tree, path, *_prune_args(exclude)])


def old_backups(site_dir: str, names: Sequence[str], keep: int, current: str) -> list[str]:
    """The backup directories of a site to remove so that `keep` newest remain (by name: the
    apply stamps sort by time), the current one always kept. Full paths, all in `site_dir`."""
    if keep < 1:
        raise TmaError(f"apply.keep_backups must be at least 1 (got {keep})")
    valid = sorted({n for n in names if n not in ("", ".", "..") and "/" not in n}, reverse=True)
    kept = [current, *[n for n in valid if n != current][: keep - 1]]
    return [posixpath.join(site_dir, n) for n in valid if n not in kept]

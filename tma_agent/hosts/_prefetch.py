"""Globs read ahead, in the round trip that reads the detection files.

A stack knows before detection which trees its inventory will glob (`tma_prefetch_globs`), but
not yet which of its layouts the site has; the runner asks for all of them at once, in the same
session as the detection read (roots that do not exist cost a shell test each). A later
`read_glob` asking for part of that answer (its roots among the roots read ahead, its names
among the names, no deeper, the same `max_bytes`) is served from it, exactly as the host would
have answered, without a second session.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["GlobRequest", "answer_from", "merge_requests"]


@dataclass(frozen=True)
class GlobRequest:
    """A `read_glob` a stack's inventory is likely to make; roots relative to the site path."""

    roots: tuple[str, ...]
    names: tuple[str, ...]
    max_depth: int = 4
    max_bytes: int = 0


def merge_requests(requests: Sequence[GlobRequest], site_path: str) -> GlobRequest | None:
    """One request covering all (absolute roots), or None when they cannot share a read."""
    if not requests or len({r.max_bytes for r in requests}) > 1:
        return None
    roots = sorted(
        {posixpath.normpath(posixpath.join(site_path, r)) for q in requests for r in q.roots}
    )
    names = sorted({n for q in requests for n in q.names})
    depth = max(q.max_depth for q in requests)
    return GlobRequest(tuple(roots), tuple(names), depth, requests[0].max_bytes)


def answer_from(
    ahead: GlobRequest,
    files: Mapping[str, str],
    problems: Mapping[str, str],
    roots: Sequence[str],
    names: Sequence[str],
    max_depth: int,
    max_bytes: int,
) -> tuple[dict[str, str], dict[str, str]] | None:
    """The part of a read-ahead answer a `read_glob(roots, names, ...)` would have given, or
    None when the question is not covered by what was read ahead."""
    if max_bytes != ahead.max_bytes or max_depth > ahead.max_depth:
        return None
    if not set(roots) <= set(ahead.roots) or not set(names) <= set(ahead.names):
        return None

    def depth_under(path: str) -> int | None:
        for root in roots:
            if path == root:
                return 0
            prefix = root.rstrip("/") + "/"
            if path.startswith(prefix):
                return path[len(prefix) :].count("/") + 1
        return None

    def matches(path: str, patterns: Sequence[str]) -> bool:
        base = posixpath.basename(path)
        return any(fnmatch.fnmatchcase(base, p) for p in patterns)

    def wanted(path: str) -> bool:
        depth = depth_under(path)
        return depth is not None and depth <= max_depth

    found = {p: c for p, c in files.items() if wanted(p) and matches(p, names)}
    # A problem record names a file (it matched a name read ahead: keep it only if it matches
    # this question's names) or a directory (it matches none: kept, as read_glob keeps them).
    kept = {
        p: why
        for p, why in problems.items()
        if wanted(p) and (matches(p, names) or not matches(p, ahead.names))
    }
    return found, kept

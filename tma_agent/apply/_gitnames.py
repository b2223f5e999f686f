"""Names that reach git are checked first: git reads an argument starting with `-` as an
option, so a hostile branch name could otherwise become one (`--upload-pack=...`). Every
argument is still one argv item, quoted by the Host, never a shell string."""

from __future__ import annotations

import re

from tma_agent.errors import TmaError

__all__ = ["GitError", "check_branch", "check_commit", "check_ref", "check_remote", "split_author"]

# git check-ref-format's rules, narrowed: no leading `-` (an option) nor `+` (a forced refspec),
# no `..`, `@{`, `\`, `:`, control characters, spaces or glob characters, no component starting
# with `.` or ending `.lock`.
_BRANCH = re.compile(r"^(?![-+])(?!.*\.\.)(?!.*@\{)(?!.*//)[A-Za-z0-9._/+-]+$")
# A remote's name, never a path or URL (`.` would be the checkout itself).
_REMOTE = re.compile(r"^(?![-.])[A-Za-z0-9._-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


class GitError(TmaError):
    """A git operation failed or was refused (one line naming the checkout)."""


def check_branch(name: str) -> str:
    parts = name.split("/")
    if (
        not _BRANCH.match(name)
        or name in ("HEAD", "@")
        or any(p.startswith(".") or p.endswith(".lock") or not p for p in parts)
        or name.endswith(".")
    ):
        raise GitError(f"invalid branch name {name!r}")
    return name


def check_remote(name: str) -> str:
    if not _REMOTE.match(name):
        raise GitError(f"invalid remote name {name!r}")
    return name


def check_commit(sha: str) -> str:
    if not _COMMIT.match(sha):
        raise GitError(f"invalid commit {sha!r}: expected a hexadecimal sha (7 to 64 digits)")
    return sha


def check_ref(ref: str) -> str:
    """A ref a read may name: HEAD, a sha, or a branch-like name (`refs/heads/x`, `origin/main`)."""
    if ref == "HEAD" or _COMMIT.match(ref):
        return ref
    return check_branch(ref)


def split_author(author: str) -> tuple[str, str]:
    """`Name <email>` as its two parts (apply.commit_author)."""
    match = re.fullmatch(r"\s*([^<>\n]+?)\s*<([^<>\s]+)>\s*", author)
    if not match:
        raise GitError(f"invalid commit author {author!r}: expected `Name <email>`")
    return match.group(1), match.group(2)

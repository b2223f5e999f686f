"""One small Git interface, two twins (as for hosts): `LocalGit` works on a repository on the
agent's machine with GitPython, `HostGit` runs the git CLI through the Host protocol.

Every change is first written as the `git ...` argv the CLI twin runs; in dry-run both twins
only hand that argv to the runner (`ctx.run`, which records it), so what a dry-run prints is
exactly what would run on the host. Reads (status, HEAD, refs) run in dry-run too. Branch,
remote and commit names are checked before they reach git (`_gitnames`).
"""

from __future__ import annotations

from tma_agent.apply._gitbase import NETWORK_ENV, NETWORK_TIMEOUT, Git, GitRunner
from tma_agent.apply._githost import HostGit, HostRunner
from tma_agent.apply._gitnames import (
    GitError,
    check_branch,
    check_commit,
    check_ref,
    check_remote,
    split_author,
)
from tma_agent.hosts import Host, LocalHost

__all__ = [
    "NETWORK_ENV",
    "NETWORK_TIMEOUT",
    "Git",
    "GitError",
    "GitRunner",
    "HostGit",
    "HostRunner",
    "check_branch",
    "check_commit",
    "check_ref",
    "check_remote",
    "open_git",
    "split_author",
]


def open_git(host: Host, path: str, runner: GitRunner) -> Git:
    """The twin for `host`: GitPython for a LocalHost, the git CLI over any other Host. The
    checkout's top level is looked up first (a site's tree may be a subfolder of it)."""
    top = runner.probe(["git", "-C", path, "rev-parse", "--show-toplevel"])
    if not top.ok:
        lines = top.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"{path}: not a git checkout ({lines[-1] if lines else 'no repository'})")
    root = top.text.strip() or path
    if isinstance(host, LocalHost):
        # GitPython is slow to import: only applies to local checkouts pay for it.
        from tma_agent.apply._gitlocal import LocalGit

        return LocalGit(root, runner)
    return HostGit(root, runner)

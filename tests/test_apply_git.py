"""The Git twins on real repositories (a bare origin and a working copy): LocalGit with GitPython
on the agent's machine, HostGit with the git CLI over the real sshd. Both must leave the same
repositories behind."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tma_agent.apply.git import Git, GitError, HostGit, HostRunner, open_git
from tma_agent.hosts import Host, LocalHost, SSHHost
from tma_agent.testing.sshd import SSHServer

# The brief's own marker too: a name that ran would leave /tmp/pwned behind.
PWNED = Path("/tmp/pwned")  # noqa: S108 - a fixed path is the point: it must never appear
HOSTILE = [
    "$(touch /tmp/pwned)",
    "$(touch {marker})",
    "a;touch {marker}",
    "`touch {marker}`",
    "-fdx",
    "x y",
]


def git(repo: Path, *args: str) -> str:
    # The checkout may belong to the ssh test user: root inspects it anyway.
    argv = ["git", "-c", "safe.directory=*", "-C", str(repo), *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Checkout:
    git: Git
    runner: HostRunner
    work: Path
    origin: Path
    marker: Path
    owner: tuple[int, int] | None

    def write(self, name: str, text: str) -> None:
        """Change the working copy as the site's user would (the ssh user owns it)."""
        path = self.work / name
        made = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for item in [path, *made] if self.owner else []:
            os.chown(item, *self.owner)


def make_repos(base: Path) -> tuple[Path, Path]:
    origin, work = base / "origin.git", base / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "composer.lock").write_text('{"drupal/core": "10.1.0"}\n')
    (work / ".gitignore").write_text("settings.local.php\n")
    (work / "settings.local.php").write_text("<?php // ignored, must survive a reset\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=dev", "-c", "user.email=dev@localhost", "commit", "-qm", "init")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    git(work, "fetch", "-q", "origin")
    return origin, work


@pytest.fixture(params=["local", "ssh"])
def checkout(request: pytest.FixtureRequest, sshd: SSHServer) -> Iterator[Checkout]:
    base = sshd.make_shared_dir(writable=True)
    origin, work = make_repos(base)
    host: Host
    owner = None
    if request.param == "local":
        host = LocalHost()
    else:
        user = pwd.getpwnam(sshd.user)
        owner = (user.pw_uid, user.pw_gid)
        for root, dirs, files in os.walk(base):
            for name in [*dirs, *files]:
                os.lchown(Path(root, name), *owner)
        host = SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings())
    runner = HostRunner(host)
    try:
        twin = open_git(host, str(work), runner)
        assert isinstance(twin, HostGit) == (request.param == "ssh")
        yield Checkout(twin, runner, work, origin, base / "pwned", owner)
    finally:
        host.close()


def test_branch_commit_push_lands_on_origin(checkout: Checkout) -> None:
    g = checkout.git
    start = g.head()
    assert g.status() == [] and g.current_branch() == "main"
    g.fetch("origin")
    g.create_branch("tma/2026-12-02-drupal-core", "origin/main")
    checkout.write("composer.lock", '{"drupal/core": "10.1.5"}\n')
    checkout.write("new.txt", "added\n")
    assert sorted(g.status()) == [" M composer.lock", "?? new.txt"]
    message = "Update drupal/core\n\n- drupal/core 10.1.0 → 10.1.5\n"
    sha = g.commit_all(message, "tma-agent <tma-agent@localhost>")
    assert sha is not None and sha != start and g.head() == sha
    assert g.status() == []
    assert g.commit_all("nothing", "tma-agent <tma-agent@localhost>") is None
    g.push("origin", "tma/2026-12-02-drupal-core")
    origin = checkout.origin
    assert git(origin, "rev-parse", "refs/heads/tma/2026-12-02-drupal-core") == sha
    assert git(origin, "log", "-1", "--format=%B", sha).strip() == message.strip()
    assert git(origin, "log", "-1", "--format=%an <%ae>|%cn", sha) == (
        "tma-agent <tma-agent@localhost>|tma-agent"
    )
    stat = g.diff_stat(start, sha)
    assert "composer.lock" in stat and "new.txt" in stat and "2 files changed" in stat
    # Both twins account for the same changes, as the argv the CLI twin runs.
    w = str(checkout.work)
    assert [r[r.index(w) + 1 :] for r in checkout.runner.recorded] == [
        ["fetch", "--prune", "--", "origin"],
        ["checkout", "-q", "--no-track", "-b", "tma/2026-12-02-drupal-core", "origin/main"],
        ["add", "-A"],
        ["-c", "user.name=tma-agent", "-c", "user.email=tma-agent@localhost", "commit", "-q",
         "--author", "tma-agent <tma-agent@localhost>", "-m", message],
        ["push", "--porcelain", "--", "origin",
         "refs/heads/tma/2026-12-02-drupal-core:refs/heads/tma/2026-12-02-drupal-core"],
    ]  # fmt: skip
    assert checkout.runner.recorded[0][:2] == ["env", "GIT_TERMINAL_PROMPT=0"]


def test_reset_restores_head_and_removes_untracked(checkout: Checkout) -> None:
    g, work = checkout.git, checkout.work
    start = g.head()
    g.create_branch("tma/x", "main")
    checkout.write("composer.lock", "changed\n")
    g.commit_all("change", "tma-agent <tma-agent@localhost>")
    checkout.write("composer.lock", "changed again, uncommitted\n")
    checkout.write("vendor/junk.php", "<?php\n")
    g.checkout("main", force=True)
    g.reset_hard(start)
    g.delete_branch("tma/x")
    assert g.head() == start and g.current_branch() == "main" and g.status() == []
    assert not (work / "vendor").exists()
    assert (work / "settings.local.php").exists(), "ignored files are kept"
    assert git(work, "branch", "--list", "tma/x") == ""


def test_fast_forward_and_refusal(checkout: Checkout) -> None:
    g = checkout.git
    start = g.head()
    g.create_branch("tma/ff", "main")
    checkout.write("a.txt", "a\n")
    tested = g.commit_all("tested", "tma-agent <tma-agent@localhost>")
    assert tested is not None
    g.checkout("main")
    g.fast_forward("main", tested)
    assert g.head() == tested and g.current_branch() == "main" and g.status() == []
    # A commit not descending from main: refused, nothing moved.
    g.checkout_detached(start)
    checkout.write("b.txt", "b\n")
    other = g.commit_all("diverged", "tma-agent <tma-agent@localhost>")
    assert other is not None
    g.checkout("main", force=True)
    with pytest.raises(GitError, match="not a fast-forward of main"):
        g.fast_forward("main", other)
    with pytest.raises(GitError, match="not found"):
        g.fast_forward("main", "0123456789abcdef0123456789abcdef01234567")
    assert g.head() == tested and g.status() == []


def test_a_refused_push_says_why(checkout: Checkout) -> None:
    g = checkout.git
    start = g.head()
    checkout.write("a.txt", "a\n")
    g.commit_all("ahead", "tma-agent <tma-agent@localhost>")
    g.push("origin", "main")
    g.reset_hard(start)
    with pytest.raises(GitError) as failed:
        g.push("origin", "main")
    assert "git push" in str(failed.value) and "\n" not in str(failed.value)
    assert re.search(r"rejected|non-fast-forward|fetch first", str(failed.value)), failed.value
    assert g.head() == start and g.status() == []


def test_hostile_names_are_refused_never_run(checkout: Checkout) -> None:
    g = checkout.git
    marker = str(checkout.marker)
    for pattern in HOSTILE:
        name = pattern.format(marker=marker)
        with pytest.raises(GitError, match="invalid branch name"):
            g.create_branch(name, "main")
        with pytest.raises(GitError, match="invalid"):
            g.push(name, "main")
    with pytest.raises(GitError, match="invalid commit"):
        g.reset_hard(f"$(touch {marker})")
    # In a commit message such text is data: stored verbatim, never run.
    checkout.write("x.txt", "x\n")
    message = f"Update $(touch {marker}); `touch {marker}`"
    sha = g.commit_all(message, "tma-agent <tma-agent@localhost>")
    assert sha and git(checkout.work, "log", "-1", "--format=%B").strip() == message
    assert not checkout.marker.exists() and not PWNED.exists()


def test_dry_run_records_git_argv_and_changes_nothing(checkout: Checkout) -> None:
    g, work = checkout.git, checkout.work
    start = g.head()
    checkout.runner.dry_run = True
    checkout.write("composer.lock", "changed\n")
    g.fetch("origin")
    g.create_branch("tma/dry", "origin/main")
    g.commit_all("msg", "tma-agent <tma-agent@localhost>")
    g.push("origin", "tma/dry")
    g.reset_hard(start)
    w = str(work)
    assert checkout.runner.recorded == [
        ["env", "GIT_TERMINAL_PROMPT=0", "git", "-C", w, "fetch", "--prune", "--", "origin"],
        ["git", "-C", w, "checkout", "-q", "--no-track", "-b", "tma/dry", "origin/main"],
        ["git", "-C", w, "add", "-A"],
        ["git", "-C", w, "-c", "user.name=tma-agent", "-c", "user.email=tma-agent@localhost",
         "commit", "-q", "--author", "tma-agent <tma-agent@localhost>", "-m", "msg"],
        ["env", "GIT_TERMINAL_PROMPT=0", "git", "-C", w, "push", "--porcelain", "--", "origin",
         "refs/heads/tma/dry:refs/heads/tma/dry"],
        ["git", "-C", w, "reset", "-q", "--hard", start],
        ["git", "-C", w, "clean", "-q", "-fd"],
    ]  # fmt: skip
    assert g.head() == start and g.current_branch() == "main"
    assert g.status() == [" M composer.lock"]
    assert git(checkout.origin, "branch", "--list") == "* main"


def test_remote_branch_deleted_by_both_twins_and_shown_in_dry_run(checkout: Checkout) -> None:
    g, w = checkout.git, str(checkout.work)
    g.create_branch("tma/2026-12-02-x", "main")
    g.push("origin", "tma/2026-12-02-x")
    assert g.remote_has_branch("origin", "tma/2026-12-02-x")
    checkout.runner.recorded.clear()
    checkout.runner.dry_run = True
    g.delete_remote_branch("origin", "tma/2026-12-02-x")
    assert checkout.runner.recorded == [
        ["env", "GIT_TERMINAL_PROMPT=0", "git", "-C", w, "push", "--porcelain", "--delete", "--",
         "origin", "tma/2026-12-02-x"],
    ]  # fmt: skip
    assert git(checkout.origin, "rev-parse", "--verify", "refs/heads/tma/2026-12-02-x")
    checkout.runner.dry_run = False
    g.delete_remote_branch("origin", "tma/2026-12-02-x")
    assert not g.remote_has_branch("origin", "tma/2026-12-02-x")
    assert git(checkout.origin, "branch", "--list") == "* main"
    # Gone already: a one-line error naming the checkout, as every git failure.
    with pytest.raises(GitError) as gone:
        g.delete_remote_branch("origin", "tma/2026-12-02-x")
    assert str(gone.value).startswith(f"{w}: git push") and "\n" not in str(gone.value)
    for name in ("-fdx", "--upload-pack=touch /tmp/pwned", "a..b"):
        with pytest.raises(GitError, match="invalid"):
            g.delete_remote_branch("origin", name)
    assert not PWNED.exists()


def test_changed_paths_and_file_at_read_commits_as_data(checkout: Checkout) -> None:
    g = checkout.git
    old = g.head()
    checkout.write("shop/modules/a/a.php", "<?php // a 1.1\n")
    checkout.write("shop/modules/$(touch {marker})/x.php", "<?php\n")
    checkout.write("other/modules/b/b.php", "<?php\n")
    new = g.commit_all("two modules", "tma-agent <tma-agent@localhost>")
    assert new
    assert g.changed_paths(old, new, "shop/modules") == [
        "shop/modules/$(touch {marker})/x.php",
        "shop/modules/a/a.php",
    ]
    assert g.changed_paths(old, new, "shop/mod*") == []  # a folder, never a glob
    assert g.file_at(new, "shop/modules/a/a.php", 1000) == "<?php // a 1.1\n"
    assert g.file_at(old, "shop/modules/a/a.php", 1000) is None  # not there yet
    assert g.file_at(new, "shop/modules/a/a.php", 5) is None  # over the bound: not read
    assert g.file_at(new, "shop/modules", 1000) is None  # a folder is no file
    with pytest.raises(GitError, match="invalid commit"):
        g.file_at("--output=/tmp/pwned", "x", 10)
    assert not checkout.marker.exists() and not PWNED.exists()

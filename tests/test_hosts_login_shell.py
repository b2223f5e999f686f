"""The line the SSH twin sends to the remote login shell (`login_shell_line`), run by real
shells on a real tree: a plain POSIX shell runs the program itself, bash execs a clean `sh`
(its rc files may define functions that must not reach the program); both answer exactly what
the local twin's `sh -c PROGRAM` answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tma_agent.hosts import LocalHost, TreePolicy
from tma_agent.hosts._base import login_shell_line
from tma_agent.hosts._programs import INSIDE, READ_GLOB, READ_MANY


def _tree(base: Path) -> Path:
    site = base / "site"
    for name, text in {
        "composer.lock": "{}\n",
        "web/modules/a/a.info.yml": "name: a\n",
        "web/modules/b c/b c.info.yml": "name: 'b c'\n",
        "web/modules/-x/-x.info.yml": "name: x\n",
    }.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (site / "web/modules/out").symlink_to(base)
    return site


def _programs(site: Path) -> list[list[str]]:
    tree = ["16777216", "0", str(site), "1"]
    return [
        ["sh", "-c", READ_MANY, "sh", *tree, f"{site}/composer.lock", f"{site}/missing"],
        ["sh", "-c", READ_GLOB, "sh", INSIDE, *tree, "4", "1", f"{site}/web", "*.info.yml"],
    ]


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_login_shells_answer_like_the_local_twin(shell: str, tmp_path: Path) -> None:
    site = _tree(tmp_path)
    rc = tmp_path / "rc"
    # What a careless ~/.bashrc may hold; bash reads BASH_ENV for `bash -c` as it reads the
    # rc file when sshd starts it.
    rc.write_text("find() { echo HIJACKED; }\ncd() { echo HIJACKED; }\nset -u\n")
    local = LocalHost()
    local.tree = TreePolicy(str(site))
    for argv in _programs(site):
        expected = local.run(argv).stdout
        assert b"a.info.yml" in expected or b"composer.lock" in expected
        done = subprocess.run(
            [shell, "-c", login_shell_line(argv)],
            capture_output=True,
            check=False,
            env={"PATH": "/usr/bin:/bin", "BASH_ENV": str(rc)},
        )
        assert (done.returncode, done.stdout) == (0, expected)


def test_other_commands_are_execed_with_every_argument_quoted() -> None:
    line = login_shell_line(["cat", "--", "a b", "$(touch x)", "-n"])
    assert line == "exec cat -- 'a b' '$(touch x)' -n"
    # Not one of the embedded programs: an ordinary argv, even when it starts with sh -c.
    assert login_shell_line(["sh", "-c", "echo hi", "sh"]) == "exec sh -c 'echo hi' sh"

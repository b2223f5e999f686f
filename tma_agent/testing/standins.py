"""Stand-in executables for the site tools that cannot exist here (drush, bin/magento,
PrestaShop's bin/console, wp-cli): each records where and with what argv it ran, and exits with
the code a test asks for, printing the error it was given."""

from __future__ import annotations

import os
import pwd
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Call", "StandIn", "give_tree_to", "install_standin"]

_SEPARATOR = "\x1f"
_SCRIPT = """#!/bin/sh
# A test stand-in for {name}: records the call, exits as asked.
state={state}
{{ printf '%s' "$PWD"; for arg in "$@"; do printf '\\037%s' "$arg"; done; printf '\\n'; }} >> "$state/calls"
if [ -f "$state/exit" ]; then
    if [ ! -f "$state/only" ] || printf '%s\n' "$@" | grep -qxF -f "$state/only"; then
        cat "$state/stderr" >&2
        exit "$(cat "$state/exit")"
    fi
fi
echo "{name}: ok"
"""


@dataclass(frozen=True)
class Call:
    cwd: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class StandIn:
    path: Path
    state: Path

    def calls(self) -> list[Call]:
        log = self.state / "calls"
        if not log.exists():
            return []
        calls = []
        for line in log.read_text().splitlines():
            cwd, *argv = line.split(_SEPARATOR)
            calls.append(Call(cwd, tuple(argv)))
        return calls

    def fail(
        self, exit_code: int, stderr: str = "stand-in failure", *, only_with: str | None = None
    ) -> None:
        """Every later call exits with `exit_code`, printing `stderr`; with `only_with`, only
        the calls having that exact argument."""
        (self.state / "stderr").write_text(stderr + "\n")
        if only_with is None:
            (self.state / "only").unlink(missing_ok=True)
        else:
            (self.state / "only").write_text(only_with + "\n")
        (self.state / "exit").write_text(f"{exit_code}\n")

    def succeed(self) -> None:
        (self.state / "exit").unlink(missing_ok=True)


def install_standin(path: Path, *, name: str | None = None, owner: str | None = None) -> StandIn:
    """Write an executable stand-in at `path` (its state in a sibling directory); `owner`
    (a user name) gets both, for a stand-in run by the sshd's login user."""
    state = path.parent / f".{path.name}.standin"
    state.mkdir(parents=True, exist_ok=True)
    path.write_text(_SCRIPT.format(name=name or path.name, state=shlex.quote(str(state))))
    path.chmod(0o755)
    if owner is not None:
        give_tree_to(state, owner)
        give_tree_to(path, owner)
    return StandIn(path, state)


def give_tree_to(root: Path, user: str) -> None:
    """chown -R `root` to `user` (a no-op unless the tests run as root)."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    paths = [root, *root.rglob("*")] if root.is_dir() else [root]
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

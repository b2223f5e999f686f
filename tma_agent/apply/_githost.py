"""The git CLI twin: every command one argv through the runner, quoted by the Host (local or
over SSH); and a runner straight on a Host for use outside an apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tma_agent.apply._gitbase import NETWORK_TIMEOUT, Git
from tma_agent.apply._gitnames import check_commit, check_ref
from tma_agent.hosts import CommandResult, Host

__all__ = ["HostGit", "HostRunner", "push_refusal"]


class HostRunner:
    """A GitRunner straight on a Host, outside an apply (tools, tests): `run` records every
    argv in `recorded` and, in dry-run, runs nothing."""

    def __init__(self, host: Host, *, dry_run: bool = False) -> None:
        self.host = host
        self.dry_run = dry_run
        self.recorded: list[list[str]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        # The same form as StepContext.run: `env K=V command...`.
        argv = [*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []), *argv]
        self.recorded.append(list(argv))
        if self.dry_run:
            return CommandResult(" ".join(argv), 0, b"", b"")
        return self.host.run(argv, check=check, timeout=timeout)

    def probe(
        self, argv: Sequence[str], *, check: bool = False, timeout: float | None = None
    ) -> CommandResult:
        return self.host.run(argv, check=check, timeout=timeout)


class HostGit(Git):
    """The git CLI through the runner: every command one argv, quoted by the Host."""

    def _probe(self, *args: str) -> CommandResult:
        return self.runner.probe(self.argv(*args))

    def _read(self, what: str, *args: str) -> str:
        result = self._probe(*args)
        if not result.ok:
            raise self._fail(what, result.stderr.decode("utf-8", "replace"))
        return result.text

    def status(self) -> list[str]:
        return [line for line in self._read("status", "status", "--porcelain").splitlines() if line]

    def head(self) -> str:
        return self._read("rev-parse", "rev-parse", "--verify", "HEAD").strip()

    def current_branch(self) -> str | None:
        result = self._probe("symbolic-ref", "-q", "--short", "HEAD")
        return result.text.strip() or None if result.ok else None

    def resolve(self, ref: str) -> str | None:
        result = self._probe("rev-parse", "--verify", "--quiet", check_ref(ref) + "^{commit}")
        return result.text.strip() or None if result.ok else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        result = self._probe("merge-base", "--is-ancestor", check_ref(older), check_ref(newer))
        if result.exit_code not in (0, 1):
            raise self._fail("merge-base", result.stderr.decode("utf-8", "replace"))
        return result.ok

    def diff_stat(self, old: str, new: str) -> str:
        return self._read("diff", "diff", "--stat", check_ref(old), check_ref(new), "--").strip()

    def changed_paths(self, old: str, new: str, under: str) -> list[str]:
        out = self._read("diff", *self.diff_names_args(old, new, under))
        return [name for name in out.split("\0") if name]

    def file_at(self, commit: str, path: str, max_bytes: int) -> str | None:
        # `<sha>:<path>` starts with hex digits: never read as an option.
        obj = f"{check_commit(commit)}:{path}"
        size = self._probe("cat-file", "-s", obj)
        if not size.ok or not size.text.strip().isdigit() or int(size.text) > max_bytes:
            return None
        blob = self._probe("cat-file", "blob", obj)
        return blob.stdout.decode("utf-8", "replace") if blob.ok else None

    def remote_has_branch(self, remote: str, name: str) -> bool:
        args = self.ls_remote_args(remote, name)
        result = self.runner.probe(self.shown_argv(args), timeout=NETWORK_TIMEOUT)
        if not result.ok:
            raise self._fail("ls-remote", result.stderr.decode("utf-8", "replace"))
        return bool(result.text.strip())

    def _do(self, args: list[str]) -> None:
        result = self._send(args)
        if not result.ok:
            what = next(a for a in args if not a.startswith("-") and "=" not in a)
            detail = result.stderr.decode("utf-8", "replace")
            if what == "push":
                detail += push_refusal(result.text)
            raise self._fail(what, detail)


def push_refusal(porcelain: str) -> str:
    """Why `git push --porcelain` refused a ref (`!<TAB>src:dst<TAB>[rejected] (reason)`): the
    line to show, as its stderr's last line only says that the push failed."""
    for line in porcelain.splitlines():
        fields = line.split("\t")
        if fields[0] == "!" and len(fields) >= 3:
            return f"\n{fields[1].rpartition(':')[2]}: {fields[2]}"
    return ""

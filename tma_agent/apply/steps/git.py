"""The core Git steps: `git.fetch`, `git.branch`, `git.commit`, `git.push`, `git.reset` (the
rollback) and `git.deploy` (production: fast-forward to the tested commit).

They share facts through the journal: `git.start` (the sha before anything changed),
`git.start_branch` and `git.branch` (the tma branch), so `git.reset` in `on_failure`, or a later
recovery, can bring the checkout back exactly. Every outcome leaves `git status` empty.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.apply.git import Git, GitError, check_branch, check_commit, check_remote, open_git
from tma_agent.hookspecs import hookimpl

__all__ = ["branch_slug", "commit_message", "tma_register_steps"]

#: A commit subject longer than this is cut (git's own tools show ~72 columns).
SUBJECT_WIDTH = 72
#: The branches `git.branch` makes (`_free_branch`'s `-2`... included): the only ones a
#: rollback ever deletes on a remote.
TMA_BRANCH = re.compile(r"^tma/[0-9]{4}-[0-9]{2}-[0-9]{2}-[a-z0-9]+(?:-[a-z0-9]+)*$")


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FetchArgs(_Args):
    remote: str | None = None  # default: the environment's `remote`


class BranchArgs(_Args):
    slug: str | None = None  # default: from the request ref, else the components
    start: Literal["auto", "remote", "local"] = "auto"  # `<remote>/<branch>` or the local one


class CommitArgs(_Args):
    subject: str | None = None  # default: "Update <components>"
    notes: list[str] = []  # more body lines (the apply's own notes are added)


class PushArgs(_Args):
    remote: str | None = None
    branch: str | None = None  # default: the branch `git.branch` made


class ResetArgs(_Args):
    remove_ignored: bool = False


class DeployArgs(_Args):
    commit: str
    branch: str | None = None  # default: the environment's `branch`
    remote: str | None = None


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except GitError as exc:
        raise StepFailed(str(exc)) from None


def _git(ctx: StepContext) -> Git:
    with _one_line():
        return open_git(ctx.host, ctx.path, ctx)


def _refuse_dirty(git: Git, what: str) -> None:
    changes = git.status()
    if changes:
        shown = ", ".join(line[3:] for line in changes[:5]) + (", ..." if len(changes) > 5 else "")
        raise StepFailed(
            f"{git.path}: the checkout is not clean ({len(changes)} changes: {shown}); "
            f"{what} refused, nothing was changed"
        )


def _must_be_clean(git: Git, ctx: StepContext) -> None:
    if not ctx.dry_run and git.status():
        left = ", ".join(line[3:] for line in git.status()[:5])
        raise StepFailed(f"{git.path}: the checkout is still not clean afterwards: {left}")


def branch_slug(request: str | None, names: Sequence[str]) -> str:
    """`tma/<date>-<slug>`'s slug: the request ref, else the first components, as `a-z0-9-`."""
    source = request or "-".join(names[:3])
    slug = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")[:40].strip("-")
    return slug or "update"


def commit_message(
    findings: Sequence[Mapping[str, Any]],
    notes: Sequence[str],
    *,
    request: str | None = None,
    subject: str | None = None,
) -> str:
    """A subject, one line `name installed → recommended` per finding, then the notes."""
    # One line each, whatever a feed put in a name: no injected body lines or trailers.
    findings = [{k: " ".join(str(v).split()) for k, v in f.items() if v} for f in findings]
    names = [str(f.get("name", "?")) for f in findings]
    if subject is None:
        subject = "Update " + (", ".join(names) if names else "the site")
        if request:
            subject += f" ({request})"
    subject = " ".join(subject.split())
    if len(subject) > SUBJECT_WIDTH:
        subject = subject[: SUBJECT_WIDTH - 1].rstrip() + "…"
    changes = [
        f"{f.get('name', '?')} {f.get('installed') or '?'} → {f.get('recommended') or '?'}"
        for f in findings
    ]
    body = "\n".join(changes)
    lines = "\n".join(" ".join(n.split()) for n in notes if n.strip())
    return "\n\n".join(part for part in (subject, body, lines) if part)


def _date(ctx: StepContext) -> str:
    value = ctx.vars.get("date")
    return str(value) if value else datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")


def _free_branch(git: Git, name: str, remote: str) -> str:
    # A second apply on the same day and request gets `-2`, `-3`...: never reuse a branch.
    candidate, n = name, 1
    while git.branch_exists(candidate) or git.branch_exists(candidate, remote):
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _branch_preflight(ctx: StepContext, args: BranchArgs) -> None:
    with _one_line():
        check_branch(ctx.environment.branch)
        check_remote(ctx.environment.remote)
        _refuse_dirty(_git(ctx), "the apply")


def _fetch(ctx: StepContext, args: FetchArgs) -> StepResult:
    git = _git(ctx)
    remote = args.remote or ctx.environment.remote
    with _one_line():
        git.fetch(remote)
    return StepResult(changed=False, data={"remote": remote})


def _branch(ctx: StepContext, args: BranchArgs) -> StepResult:
    git = _git(ctx)
    env = ctx.environment
    with _one_line():
        _refuse_dirty(git, "git.branch")
        remote_ref = f"{env.remote}/{env.branch}"
        if args.start == "remote" or (
            args.start == "auto" and git.branch_exists(env.branch, env.remote)
        ):
            start = remote_ref
        elif git.branch_exists(env.branch):
            start = env.branch
        else:
            raise GitError(
                f"{git.path}: no branch {env.branch!r} (nor {remote_ref!r}) to start from"
            )
        names = [str(f.get("name", "")) for f in ctx.vars.get("findings") or []]
        request = ctx.vars.get("request")
        slug = branch_slug(args.slug or (str(request) if request else None), names)
        name = _free_branch(git, f"tma/{_date(ctx)}-{slug}", env.remote)
        # Recorded before the branch exists: a crash right after still rolls back to here.
        ctx.facts["git.start"] = git.head()
        ctx.facts["git.start_branch"] = git.current_branch()
        ctx.facts["git.branch"] = name
        git.create_branch(name, start)
    return StepResult(data={"branch": name, "from": start, "start": ctx.facts["git.start"]})


def _commit(ctx: StepContext, args: CommitArgs) -> StepResult:
    git = _git(ctx)
    findings = list(ctx.vars.get("findings") or [])
    request = ctx.vars.get("request")
    message = commit_message(
        findings,
        [*ctx.notes, *args.notes],
        request=str(request) if request else None,
        subject=args.subject,
    )
    with _one_line():
        before = git.head()
        sha = git.commit_all(message, ctx.apply_settings.commit_author)
        if sha is None:
            return StepResult(changed=False, data={"sha": before, "diff_stat": ""})
        stat = git.diff_stat(str(ctx.facts.get("git.start") or before), sha)
        _must_be_clean(git, ctx)
    # The commit staging tests and production later deploys (`git.deploy: {commit: ...}`).
    ctx.facts["git.commit"] = sha
    return StepResult(data={"sha": sha, "diff_stat": stat, "message": message})


def _push(ctx: StepContext, args: PushArgs) -> StepResult:
    git = _git(ctx)
    remote = args.remote or ctx.environment.remote
    branch = args.branch or ctx.facts.get("git.branch")
    if not branch:
        raise StepFailed("git.push: no branch to push (run git.branch first, or give `branch:`)")
    with _one_line():
        # Saved before the push: an agent killed during it still deletes the branch on rollback.
        ctx.facts["git.pushed"] = {"remote": check_remote(remote), "branch": str(branch)}
        git.push(remote, str(branch))
        sha = git.resolve(f"refs/heads/{branch}") or git.head()
    return StepResult(data={"remote": remote, "branch": branch, "sha": sha})


def _reset(ctx: StepContext, args: ResetArgs) -> StepResult:
    start = ctx.facts.get("git.start")
    if not start:
        return StepResult(changed=False)
    git = _git(ctx)
    start_branch = ctx.facts.get("git.start_branch")
    made = ctx.facts.get("git.branch")
    with _one_line():
        if start_branch:
            git.checkout(str(start_branch), force=True)
        else:
            git.checkout_detached(str(start))
        git.reset_hard(str(start), remove_ignored=args.remove_ignored)
        if made and made != start_branch and git.branch_exists(str(made)):
            git.delete_branch(str(made))
        _must_be_clean(git, ctx)
    data: dict[str, Any] = {"sha": start, "branch": start_branch}
    if made and made != start_branch:
        deleted = _delete_pushed(ctx, git, str(made))
        if deleted:
            data["remote_deleted"] = deleted
    return StepResult(data=data)


def _delete_pushed(ctx: StepContext, git: Git, made: str) -> str | None:
    """Delete on its remote the tma branch this run made and pushed; `remote/branch` when
    deleted. A remote that refuses is a warning in the note: the checkout is back already."""
    pushed = ctx.facts.get("git.pushed")
    if not isinstance(pushed, Mapping) or pushed.get("branch") != made:
        return None  # never pushed, or a branch other than the one this run made
    remote = str(pushed.get("remote") or "")
    if not TMA_BRANCH.match(made):
        ctx.note(f"rollback: {made!r} is not a tma branch: not deleted from {remote}")
        return None
    try:
        git.delete_remote_branch(remote, made)
    except GitError as exc:
        try:
            if not git.remote_has_branch(remote, made):
                return None  # the push never reached it (or someone deleted it)
        except GitError:
            pass
        ctx.note(f"warning: rollback could not delete branch {made} from {remote} ({exc}): "
                 "delete it there by hand")  # fmt: skip
        return None
    ctx.note(f"rollback: deleted the pushed branch {made} from {remote}")
    return f"{remote}/{made}"


def _deploy_checks(git: Git, branch: str) -> None:
    _refuse_dirty(git, "git.deploy")
    current = git.current_branch()
    if current != branch:
        raise GitError(
            f"{git.path}: the checkout is on {current or 'a detached HEAD'}, not {branch}"
        )


def _deploy_preflight(ctx: StepContext, args: DeployArgs) -> None:
    git = _git(ctx)
    with _one_line():
        check_commit(args.commit)
        _deploy_checks(git, args.branch or ctx.environment.branch)


def _deploy(ctx: StepContext, args: DeployArgs) -> StepResult:
    git = _git(ctx)
    branch = args.branch or ctx.environment.branch
    with _one_line():
        _deploy_checks(git, branch)
        git.fetch(args.remote or ctx.environment.remote)
        start = git.head()
        target = git.resolve(check_commit(args.commit)) or args.commit
        ctx.facts["git.start"] = start
        ctx.facts["git.start_branch"] = branch
        if target == start:
            return StepResult(changed=False, data={"sha": start, "branch": branch})
        git.fast_forward(branch, target)
        stat = "" if ctx.dry_run else git.diff_stat(start, target)
        _must_be_clean(git, ctx)
    return StepResult(data={"sha": target, "from": start, "branch": branch, "diff_stat": stat})


_STEPS: list[tuple[str, Callable[..., StepResult], type[BaseModel], str, Any]] = [
    ("git.fetch", _fetch, FetchArgs, "Fetch the environment's remote.", None),
    ("git.branch", _branch, BranchArgs, "Branch tma/<date>-<slug> off the environment's branch; "
     "a dirty checkout is refused before anything runs.", _branch_preflight),
    ("git.commit", _commit, CommitArgs, "Commit everything, the message listing the changes.", None),
    ("git.push", _push, PushArgs, "Push the tma branch to the environment's remote.", None),
    ("git.reset", _reset, ResetArgs, "Roll back to the starting commit and branch.", None),
    ("git.deploy", _deploy, DeployArgs, "Fetch, then fast-forward the environment's branch to "
     "`commit`; refused when dirty or not a fast-forward.", _deploy_preflight),
]  # fmt: skip


@hookimpl
def tma_register_steps(register: Callable[[StepInfo], None]) -> None:
    for name, run, model, description, preflight in _STEPS:
        register(StepInfo(name, run, model, description, preflight=preflight))

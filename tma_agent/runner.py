"""Orchestration only: open hosts, ask the plugins, collect reports. Never imports a stack."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import pluggy
import structlog

from tma_agent.config import Config, Policy, Site
from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError, TmaError, UnreachableError
from tma_agent.hosts import GlobRequest, Host, TreePolicy, merge_requests, open_host
from tma_agent.models import Component, Finding, SiteReport, SiteStatus, SourceError
from tma_agent.plugins import registered_sources
from tma_agent.policies import apply_policy, needs_work
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher

__all__ = ["CheckRun", "DetectionReads", "check_site", "detection_reads"]

log = structlog.get_logger()


class _OtherStack(Exception):
    """The site is not of the stack asked for with `--stack`: leave it out of the run."""


@dataclass(frozen=True)
class DetectionReads:
    """What the detection round trip reads: `tma_detect_paths` (relative to the site path)
    and the `tma_prefetch_globs` read ahead with them."""

    paths: tuple[str, ...]
    prefetch: tuple[GlobRequest, ...]


def detection_reads(pm: pluggy.PluginManager, stack: str | None = None) -> DetectionReads:
    """The detection reads of every plugin; for a site whose `stack` is configured, without
    the plugins registering only other stacks: only that stack answers `tma_detect_stack`
    (and its inventory reads its own files), so their paths would be read for nothing (a
    Drupal site: 7 detection paths instead of 37, and 21 fewer glob roots)."""
    others: list[object] = []
    if stack is not None:
        owners = _stack_owners(pm)
        if any(stack in names for names in owners.values()):
            others = [p for p, names in owners.items() if names and stack not in names]
    paths = pm.subset_hook_caller("tma_detect_paths", others)()
    globs = pm.subset_hook_caller("tma_prefetch_globs", others)()
    return DetectionReads(
        tuple(sorted({p for found in paths for p in found})),
        tuple(r for found in globs for r in found),
    )


def _stack_owners(pm: pluggy.PluginManager) -> dict[object, set[str]]:
    """plugin -> the stacks it registers (plugins registering none are left out)."""
    owners: dict[object, set[str]] = {}
    for impl in pm.hook.tma_register_stacks.get_hookimpls():
        names: set[str] = set()
        alone = [p for p in pm.get_plugins() if p is not impl.plugin]
        pm.subset_hook_caller("tma_register_stacks", alone)(
            register=lambda info, names=names: names.add(info.name)
        )
        owners[impl.plugin] = names
    return owners


def check_site(
    site: SiteContext,
    pm: pluggy.PluginManager,
    *,
    only_stack: str | None = None,
    policy: Policy | None = None,
    today: date | None = None,
    reads: DetectionReads | None = None,
) -> SiteReport | None:
    """Detect, inventory and evaluate one site whose host is open, then apply its update
    policy. Never raises: a failure becomes the report's status and one-line error. None when
    `only_stack` rules the site out. `reads` default: `detection_reads(pm, site.stack)`."""
    try:
        findings = _check(site, pm, only_stack, reads or detection_reads(pm, site.stack))
        if policy is not None:
            apply_policy(findings, policy, today=today or date.today(), log=site.log)
    except _OtherStack:
        return None
    except UnreachableError as exc:
        return _failed(site, "unreachable", str(exc))
    except TmaError as exc:
        return _failed(site, "error", str(exc))
    except Exception as exc:  # a plugin bug must not stop the fleet
        site.log.exception("plugin failure")
        return _failed(site, "error", f"internal error ({type(exc).__name__}: {exc})")
    # Sorted: parallel requests fail in any order, a report must not change from run to run.
    errors = sorted(site.source_errors, key=lambda e: (e.source, e.url))
    if errors:
        # A component counts as evaluated when some source gave a verdict or an advisory.
        evaluated = any(f.update != "unknown" or f.advisories for f in findings)
        summary = _source_summary(errors)
        if not evaluated:
            summary = f"nothing could be evaluated: {summary}"
        status: SiteStatus = "partial" if evaluated else "error"
        return SiteReport(site.site_id, site.stack, site.env, status, summary, findings, errors)
    status = "updates" if any(needs_work(f) for f in findings) else "ok"
    return SiteReport(site.site_id, site.stack, site.env, status, None, findings)


def _failed(site: SiteContext, status: SiteStatus, error: str) -> SiteReport:
    errors = sorted(site.source_errors, key=lambda e: (e.source, e.url))
    return SiteReport(site.site_id, site.stack, site.env, status, error, [], errors)


def _source_summary(errors: Sequence[SourceError]) -> str:
    """One line for the report's `error`: the first failed source, and how many others."""
    first, others = errors[0], len(errors) - 1
    more = (
        f" (and {others} more failed source request{'s' if others > 1 else ''})" if others else ""
    )
    return f"source {first.source} failed: {first.url}: {first.error}{more}"


def _check(
    site: SiteContext, pm: pluggy.PluginManager, only_stack: str | None, reads: DetectionReads
) -> list[Finding]:
    absolute = {rel: posixpath.join(site.path, rel) for rel in reads.paths}
    ahead = merge_requests(reads.prefetch, site.path)
    contents = site.host.read_many(list(absolute.values()), prefetch=ahead)
    site.remember(contents)
    files = {rel: contents.get(path) for rel, path in absolute.items()}
    detection = pm.hook.tma_detect_stack(site=site, files=files)
    if detection is None:
        if only_stack and site.stack is None:
            raise _OtherStack
        # One more round trip, on the failure path only, for a message that says what to fix.
        if not site.host.run(["test", "-d", site.path], check=False).ok:
            raise SiteTreeError(f"{site.host.name}:{site.path}: no such directory")
        expected = f"a {site.stack} site" if site.stack else "a site of any known stack"
        raise SiteTreeError(f"{site.host.name}:{site.path} is not {expected}")
    if only_stack and detection.stack != only_stack:
        raise _OtherStack
    site.stack, site.root = detection.stack, detection.root
    site.log.debug("detected", stack_name=site.stack, root=site.root)
    components = pm.hook.tma_inventory(site=site)
    if components is None:
        raise TmaError(f"no plugin lists the components of stack {site.stack!r}")
    # A component whose file was bad is reported as such here, so no stack has to know.
    healthy = [c for c in components if c.problem is None]
    findings = pm.hook.tma_evaluate(site=site, components=healthy)
    if findings is None:
        raise TmaError(f"no plugin evaluates stack {site.stack!r}")
    return [*findings, *(_problem_finding(c) for c in components if c.problem is not None)]


def _problem_finding(component: Component) -> Finding:
    return Finding(
        component.name,
        component.kind,
        component.installed,
        latest=None,
        recommended=None,
        update="unknown",
        reason=component.problem,
    )


class CheckRun:
    """One `tma check`: a fetcher shared by every site, a bounded pool of site workers."""

    def __init__(
        self,
        config: Config,
        pm: pluggy.PluginManager,
        *,
        fetcher: Fetcher,
        today: date | None = None,
    ) -> None:
        self.config = config
        #: The day policies are judged on (release ages, ignore expiry); fixed for the run.
        self.today = today or date.today()
        self.pm = pm
        self.fetcher = fetcher
        #: What the sites of this run share besides the fetcher (parsed feeds, indexes...).
        self.scope = RunScope()
        defaults = {name: info.default_url for name, info in registered_sources(pm).items()}
        overrides = {n: s.url for n, s in config.sources.items() if s.url}
        self.source_urls = {**defaults, **overrides}
        #: Round trips each site's host took, for the benchmark.
        self.round_trips: dict[str, int] = {}
        # The hooks' answers depend on nothing but the plugins: asked once per run, not per site.
        self._reads = {name: detection_reads(pm, name) for name in {s.stack for s in config.sites}}

    def run(
        self,
        sites: Sequence[Site],
        *,
        only_stack: str | None = None,
        concurrency: int | None = None,
        on_done: Callable[[Site, SiteReport | None], None] | None = None,
    ) -> list[SiteReport]:
        workers = max(1, min(concurrency or self.config.concurrency, len(sites) or 1))

        def one(site: Site) -> SiteReport | None:
            report = self.check_one(site, only_stack)
            if on_done:
                on_done(site, report)
            return report

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tma-site") as pool:
            reports = list(pool.map(one, sites))
        return [r for r in reports if r is not None]

    def check_one(self, site: Site, only_stack: str | None = None) -> SiteReport | None:
        env_name = site.check_env
        env = site.environments[env_name]
        site_log = log.bind(site=site.id, env=env_name)
        if only_stack and site.stack and site.stack != only_stack:
            return None
        try:
            host: Host = open_host(env.host, self.config.ssh_for(site, env_name))
        except UnreachableError as exc:
            return SiteReport(site.id, site.stack, env_name, "unreachable", str(exc))
        host.tree = TreePolicy(env.path, site.follow_symlinks, self.config.limits.max_file_bytes)
        context = SiteContext(
            site_id=site.id,
            client=site.client,
            env=env_name,
            host=host,
            path=env.path,
            url=env.url,
            fetcher=self.fetcher,
            source_urls=self.source_urls,
            run=self.scope,
            log=site_log,
            stack=site.stack,
            options=site.options,
            sources=self.config.sources,
        )
        try:
            report = check_site(
                context,
                self.pm,
                only_stack=only_stack,
                policy=self.config.policy_for(site),
                today=self.today,
                reads=self._reads.get(site.stack) or detection_reads(self.pm, site.stack),
            )
        finally:
            self.round_trips[site.id] = host.round_trips
            host.close()
        if report is not None:
            site_log.info("checked", status=report.status, error=report.error)
            try:
                self.pm.hook.tma_site_checked(site=context, report=report)
            except Exception:
                site_log.exception("tma_site_checked hook failed")
        return report

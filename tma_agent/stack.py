"""A base class for stack plugins: the hooks every stack implements, written once.

A stack subclasses `StackPlugin`, describes itself (`info`, `sources`) and writes four methods
to check sites, and up to four more to apply updates (steps, plan, database, maintenance mode);
the hook implementations here answer only for sites of that stack. The entry point names the
instance: `[project.entry-points.tma_agent] mystack = "tma_mystack:plugin"`. A plugin may still
implement any hook as a plain function instead (docs/hooks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from tma_agent.context import SiteContext
from tma_agent.errors import ConfigError
from tma_agent.hookspecs import hookimpl
from tma_agent.hosts import GlobRequest
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_agent.plugin_settings import SettingsInfo

if TYPE_CHECKING:
    from tma_agent.apply import ApplyPlan, StepContext, StepInfo
    from tma_agent.apply.database import SiteDatabase
    from tma_agent.config import Site

__all__ = ["StackPlugin"]


class StackPlugin:
    #: What `tma plugins list`, `sites[].stack` and `--stack` know the stack by.
    info: ClassVar[StackInfo]
    #: Upstream sources the stack reads, with their default base URLs.
    sources: ClassVar[Sequence[SourceInfo]] = ()
    #: Models of its `sites[].options` and of its sources' extra keys (`tma_register_settings`).
    settings: ClassVar[Sequence[SettingsInfo]] = ()

    @property
    def name(self) -> str:
        return self.info.name

    # -- what a stack writes -------------------------------------------------------------------
    def detect_paths(self) -> list[str]:
        """Paths relative to a site's path that tell this stack (read in one round trip)."""
        raise NotImplementedError

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        """A Detection when the site is of this stack, else None."""
        raise NotImplementedError

    def prefetch_globs(self) -> list[GlobRequest]:
        """The globs `inventory` will likely read (`tma_prefetch_globs`); none by default."""
        return []

    def inventory(self, site: SiteContext) -> list[Component]:
        raise NotImplementedError

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        raise NotImplementedError

    # -- what a stack may write to apply updates (docs/apply.md); nothing by default ------------
    def register_steps(self, register: Callable[[StepInfo], None]) -> None:
        """Register the stack's own playbook steps (`drupal.find_drush`...)."""

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        """The playbook and variables that apply `findings` on a site of this stack."""
        return None

    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """The install steps after `tma deploy` moved production to the tested commit
        (`composer install` from the lock file, database updates); None: none."""
        return None

    def site_database(self, ctx: StepContext) -> SiteDatabase | None:
        """The site's database as its own settings say (read, never executed)."""
        return None

    def maintenance_commands(self, ctx: StepContext, enable: bool) -> list[list[str]] | None:
        """The argv lists turning the site's maintenance mode on or off; None: it has none."""
        return None

    # -- the hooks, answering only for this stack's sites -----------------------------------------
    @hookimpl
    def tma_register_stacks(self, register: Callable[[StackInfo], None]) -> None:
        register(self.info)

    @hookimpl
    def tma_register_sources(self, register: Callable[[SourceInfo], None]) -> None:
        for source in self.sources:
            register(source)

    @hookimpl
    def tma_register_settings(self, register: Callable[[SettingsInfo], None]) -> None:
        for info in self.settings:
            register(info)

    @hookimpl
    def tma_detect_paths(self) -> list[str]:
        return self.detect_paths()

    @hookimpl
    def tma_prefetch_globs(self) -> list[GlobRequest]:
        return self.prefetch_globs()

    @hookimpl
    def tma_detect_stack(
        self, site: SiteContext, files: Mapping[str, str | None]
    ) -> Detection | None:
        if site.stack not in (None, self.name):
            return None
        return self.detect(site, files)

    @hookimpl
    def tma_inventory(self, site: SiteContext) -> list[Component] | None:
        if site.stack != self.name:
            return None
        self._check_options(site)
        return self.inventory(site)

    def _check_options(self, site: SiteContext) -> None:
        """The config check could only ask that a site without `stack` suit some stack: once
        detected, its options must be this stack's, never silently ignored."""
        models = [i.model for i in self.settings if i.scope == "options" and i.name == self.name]
        if models:
            site.options_as(models[0])
        elif site.options:
            raise ConfigError(
                f"site {site.site_id}: options: stack {self.name} takes no options "
                f"(given: {', '.join(map(str, site.options))})"
            )

    @hookimpl
    def tma_evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding] | None:
        return self.evaluate(site, components) if site.stack == self.name else None

    @hookimpl
    def tma_register_steps(self, register: Callable[[StepInfo], None]) -> None:
        self.register_steps(register)

    @hookimpl
    def tma_apply_plan(self, site: Site, stack: str, findings: list[Finding]) -> ApplyPlan | None:
        return self.apply_plan(site, findings) if stack == self.name else None

    @hookimpl
    def tma_deploy_plan(self, site: Site, stack: str) -> ApplyPlan | None:
        return self.deploy_plan(site) if stack == self.name else None

    @hookimpl
    def tma_site_database(self, ctx: StepContext) -> SiteDatabase | None:
        # A site whose stack is not configured is read by every stack until one answers.
        return self.site_database(ctx) if ctx.stack in (None, self.name) else None

    @hookimpl
    def tma_maintenance_commands(self, ctx: StepContext, enable: bool) -> list[list[str]] | None:
        return self.maintenance_commands(ctx, enable) if ctx.stack == self.name else None

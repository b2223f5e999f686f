"""Every hook a tma-agent plugin can implement, sectioned by phase.

A plugin is a module or object with functions named like these, decorated with
``tma_agent.hookimpl``, and registered through the ``tma_agent`` entry-point group (the built-in
stacks under ``plugins/`` are registered exactly that way). Each docstring says when the hook is
called and whether the first non-None result wins (*firstresult*) or all results are collected.
docs/hooks.md documents each hook with its exact signature; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from tma_agent.apply import ApplyPlan, StepContext, StepInfo
    from tma_agent.apply.database import SiteDatabase
    from tma_agent.config import Site
    from tma_agent.context import SiteContext
    from tma_agent.hosts import GlobRequest
    from tma_agent.models import Component, Detection, Finding, SiteReport, SourceInfo, StackInfo
    from tma_agent.plugin_settings import SettingsInfo
    from tma_agent.tickets import BackendInfo
    from tma_agent.tickets.summary import RunInfo, RunSummary

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "tma_agent"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- Registration: called once when the plugin manager is built ------------------------------


@hookspec
def tma_register_stacks(register: Callable[[StackInfo], None]) -> None:
    """Register the stacks this plugin checks by calling ``register(StackInfo(...))``.

    Called once at start-up, all implementations run. A stack name must be unique across
    plugins; the names are what ``sites[].stack`` and ``tma check --stack`` accept.
    """


@hookspec
def tma_register_sources(register: Callable[[SourceInfo], None]) -> None:
    """Register the upstream sources this plugin reads and their default base URLs.

    Called once at start-up, all implementations run. ``sources.<name>.url`` in the config
    overrides the default; the plugin reads the effective URL with ``site.source_url(name)``.
    """


@hookspec
def tma_register_settings(register: Callable[[SettingsInfo], None]) -> None:
    """Declare the settings this plugin reads, each as a pydantic model, by calling
    ``register(SettingsInfo(scope, name, Model))``.

    Called once when the configuration is checked, all implementations run. Scope ``"options"``:
    ``Model`` validates ``sites[].options`` of sites of stack ``name``; scope ``"sources"``: it
    validates the keys of ``sources.<name>`` besides ``url``. Validation runs when the config
    is loaded (unknown key or wrong type: ``file:line`` error, exit 2); plugins then read typed
    values with ``site.options_as(Model)`` and ``site.source_settings_as(name, Model)``.
    """


@hookspec
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    """Register the ticket backends this plugin provides by calling ``register(BackendInfo(...))``.

    Called once when a command needs the ticket system (``tma run``, ``tma requests``,
    ``tma tickets check``), all implementations run. A name must be unique across plugins; the
    names are what ``tickets.backend`` accepts. ``BackendInfo.settings_model`` validates the
    ``tickets:`` block for the backend (``file:line`` errors, exit 2).
    """


@hookspec
def tma_register_steps(register: Callable[[StepInfo], None]) -> None:
    """Register the playbook step types this plugin provides by calling
    ``register(StepInfo(...))``.

    Called once when a command loads playbooks (``tma playbook``, ``tma apply``, ``tma deploy``,
    ``tma run`` with auto-apply), all implementations run. A name must be unique across plugins;
    stack steps are prefixed with the stack (``drupal.updb``). ``StepInfo.args_model`` validates
    the step's arguments when the playbook is loaded (``file:line`` errors, nothing runs).
    """


@hookspec
def tma_playbook_dirs() -> list[str]:
    """Return directories holding the ``*.yaml`` playbooks this plugin ships.

    Called when playbooks are looked up, all implementations run. The agency's
    ``apply.playbook_dirs`` are searched first, the plugins' next, the agent's own last; the
    first playbook of a name wins (``tma playbook list`` shows the origin of each).
    """


@hookspec
def tma_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``tma`` command line.

    Called only when a plugin command runs (or to refresh the cache that ``tma --help`` lists
    plugin commands from), all implementations run; not called for a blocked plugin.
    """


# --- Check: called for each site, in a worker thread -----------------------------------------


@hookspec
def tma_detect_paths() -> list[str]:
    """Return paths, relative to a site's path, whose presence or content tells your stack.

    Called once per run, all implementations run: the runner reads every path returned by
    every plugin in a single round trip and hands the result to ``tma_detect_stack`` (for a
    site whose stack is configured, only the paths of the plugins registering that stack or
    no stack at all: no other stack answers for it).
    """


@hookspec
def tma_prefetch_globs() -> list[GlobRequest]:
    """Return the ``read_glob`` requests your stack's inventory is likely to make, with roots
    relative to a site's path (every layout you support: roots that do not exist cost nothing).

    Called once per run, all implementations run (for a configured stack, as
    ``tma_detect_paths``): the runner reads them in the detection round trip, and a later ``site.host.read_glob`` asking for part of them (its
    roots and names among theirs, no deeper, the same ``max_bytes``) costs no round trip.
    """


@hookspec(firstresult=True)
def tma_detect_stack(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    """Say whether the site at ``site.path`` runs your stack, and where its document root is.

    ``files`` maps each path returned by ``tma_detect_paths`` (relative to ``site.path``) to its
    content, or None when absent. When the site's stack is configured, ``site.stack`` holds it
    and only that stack should answer. firstresult: the first non-None Detection wins.
    """


@hookspec(firstresult=True)
def tma_inventory(site: SiteContext) -> list[Component] | None:
    """List the components installed on a site of your stack (``site.stack``, ``site.root``).

    Read the site with as few round trips as possible (``site.host.read_glob`` /
    ``read_many``). Return None when the site is not of your stack. Raise
    ``SiteTreeError`` when the tree is broken. A component whose own file is bad gets
    ``problem`` (a one-line reason naming the file): the runner reports it ``unknown`` and
    leaves it out of ``tma_evaluate``. firstresult.
    """


@hookspec(firstresult=True)
def tma_evaluate(site: SiteContext, components: list[Component]) -> list[Finding] | None:
    """Turn installed components into findings using your upstream sources.

    Fetch through ``site.fetcher`` (each URL is fetched once per run, whichever site asks),
    each request to a source wrapped in ``site.attempt(source_name, call)`` so that a feed
    answering badly is recorded in the report's ``source_errors`` and the other findings are
    kept (status ``partial``); mark what it could not judge ``unknown`` or
    ``advisories_unavailable``. Parse a feed once per run with ``site.run.memo(key, compute)``.
    Return None when the site is not of your stack. A ``FeedError`` raised out of the hook
    makes the site ``error``. firstresult.
    """


@hookspec
def tma_site_checked(site: SiteContext, report: SiteReport) -> None:
    """Observe the finished report of one site (to notify, export, collect metrics).

    Called after each site is checked, successful or not, all implementations run. Must not
    raise: an exception is logged and ignored.
    """


# --- Apply: called when updates are applied -----------------------------------------------


@hookspec(firstresult=True)
def tma_apply_plan(site: Site, stack: str, findings: list[Finding]) -> ApplyPlan | None:
    """Say how to apply ``findings`` (the updates chosen on a site of stack ``stack``): the
    playbook's name and its variables (package names, target versions...).

    Called by ``tma apply`` and auto-apply once the findings are chosen. Return None when
    ``stack`` is not yours. Names and versions are data: validate them and raise ``TmaError``
    for one that cannot be passed on safely. firstresult.
    """


@hookspec(firstresult=True)
def tma_deploy_plan(site: Site, stack: str) -> ApplyPlan | None:
    """Say how to install what a deploy brought to production: the playbook whose steps run
    right after the core ``deploy`` playbook moved the checkout to the tested commit
    (``composer install`` from the lock file, database updates, cache clear), and its variables.

    Called by ``tma deploy``. Return None when ``stack`` is not yours; when no plugin answers,
    the deploy runs the core steps only. Never a new ``composer update``: production gets
    exactly what staging tested. firstresult.
    """


@hookspec(firstresult=True)
def tma_site_database(ctx: StepContext) -> SiteDatabase | None:
    """Say where the site's database is and how to log in, read from the site's own settings
    (``settings.php``, ``wp-config.php``...) under ``ctx.path`` on ``ctx.host``.

    Called by ``db.backup`` and ``db.restore`` (and their preflight) only when
    ``environments.<env>.database`` is not configured. Read the file with
    ``ctx.host.read_many`` and never execute it (``tma_agent.apply.php_literals`` reads PHP
    literals); raise ``SiteTreeError`` naming the file when it cannot be used. Return None when
    the site is not of your stack (``ctx.stack``) or has no such file. firstresult.
    """


@hookspec(firstresult=True)
def tma_maintenance_commands(ctx: StepContext, enable: bool) -> list[list[str]] | None:
    """Return the commands that turn maintenance mode on (``enable``) or off for the site of
    ``ctx`` (``ctx.stack``, ``ctx.path``), each an argv run in order on the site's host.

    Called by the ``maintenance`` step; read the site only through ``ctx.probe`` or
    ``ctx.host`` reads, never change it here (the step runs the commands, so a dry run shows
    them). Every argv item is data: put nothing read from the site into a shell's program
    text. Return None when the site is not of your stack (the step then notes that the stack
    has no maintenance mode and does nothing). firstresult.
    """


# --- Run: called once per `tma run` -----------------------------------------------------------


@hookspec
def tma_run_finished(run: RunInfo, summary: RunSummary) -> None:
    """Observe a finished ``tma run`` (to notify, export, collect metrics): ``run`` says when
    and what it covered, ``summary`` what it found and did (requests created, updated, closed,
    still queued or parked).

    Called after every run, dry runs included (``run.dry_run``), all implementations run. Must
    not raise: an exception is logged and ignored.
    """

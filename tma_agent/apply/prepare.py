"""Build the StepContext of one playbook run on one site's environment."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tma_agent.apply.context import StepContext
from tma_agent.errors import ConfigError

if TYPE_CHECKING:
    import pluggy

    from tma_agent.apply.playbook import Playbook
    from tma_agent.config import Config, Site

__all__ = ["builtin_variables", "new_stamp", "open_context", "parse_var_options", "site_by_id"]


def site_by_id(config: Config, site_id: str) -> Site:
    site = next((s for s in config.sites if s.id == site_id), None)
    if site is None:
        known = ", ".join(s.id for s in config.sites) or "none"
        raise ConfigError(f"no site {site_id!r} in the configuration (known: {known})")
    return site


def new_stamp(now: dt.datetime | None = None) -> str:
    """A sortable, unique-enough name for one apply: its backups and artifacts go under it."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"


def builtin_variables(
    ctx: StepContext, *, request: str | None, findings: list[dict[str, Any]]
) -> dict[str, Any]:
    env = ctx.environment
    return {
        "site": ctx.site.id,
        "client": ctx.site.client,
        "env": ctx.env_name,
        "path": env.path,
        "stack": ctx.stack,
        "url": env.url,
        "branch": env.branch,
        "remote": env.remote,
        "date": ctx.stamp[:4] + "-" + ctx.stamp[4:6] + "-" + ctx.stamp[6:8],
        "stamp": ctx.stamp,
        "request": request,
        "findings": findings,
        "host": ctx.host.name,
        "backup_dir": ctx.backup_dir,
    }


def open_context(
    config: Config,
    pm: pluggy.PluginManager,
    site: Site,
    env_name: str,
    playbook: Playbook,
    variables: Mapping[str, Any],
    *,
    dry_run: bool,
    stack: str | None = None,
    request: str | None = None,
    findings: list[dict[str, Any]] | None = None,
    stamp: str | None = None,
) -> StepContext:
    """A context whose host connects lazily (on the first command); the caller closes it."""
    from tma_agent.hosts import open_host

    environment = site.environments.get(env_name)
    if environment is None:
        known = ", ".join(site.environments)
        raise ConfigError(f"site {site.id!r} has no environment {env_name!r} (known: {known})")
    stack = stack or site.stack
    if playbook.stacks and stack is not None and stack not in playbook.stacks:
        raise ConfigError(
            f"playbook {playbook.name!r} is for {', '.join(playbook.stacks)}, "
            f"not for site {site.id!r} ({stack})"
        )
    stamp = stamp or new_stamp()
    workdir = config.ensure_state_dir() / "applies" / site.id / stamp
    if not dry_run:
        workdir.mkdir(parents=True, exist_ok=True)
    ctx = StepContext(
        site=site,
        env_name=env_name,
        environment=environment,
        host=open_host(environment.host, config.ssh_for(site, env_name)),
        config=config,
        pm=pm,
        apply_settings=config.apply_for(site),
        workdir=workdir,
        stamp=stamp,
        stack=stack,
        dry_run=dry_run,
    )
    ctx.vars = {
        **builtin_variables(ctx, request=request, findings=findings or []),
        **playbook.resolve_variables(variables),
    }
    return ctx


_VAR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


def parse_var_options(items: tuple[str, ...]) -> dict[str, Any]:
    """`--var k=v` values; `k=[a, b]` (YAML flow syntax) gives a list."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        match = _VAR.match(item)
        if match is None:
            raise ConfigError(f"--var {item!r}: expected NAME=VALUE")
        name, value = match.groups()
        if value.startswith("[") and value.endswith("]"):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ConfigError(f"--var {item!r}: a list is written [a, b]") from None
            out[name] = [str(v) for v in parsed]
        else:
            out[name] = value
    return out

"""Orchestration only: open hosts, ask the plugins, collect reports. Never imports a stack."""

from __future__ import annotations

import posixpath

import pluggy

from tma_agent.context import SiteContext
from tma_agent.errors import SiteTreeError, TmaError, UnreachableError
from tma_agent.models import UPDATE_SEVERITY, SiteReport

__all__ = ["check_site"]


def check_site(site: SiteContext, pm: pluggy.PluginManager) -> SiteReport:
    """Detect, inventory and evaluate one site whose host is open. Never raises: a failure
    becomes the report's status and one-line error."""
    try:
        findings = _check(site, pm)
    except UnreachableError as exc:
        return SiteReport(site.site_id, site.stack, site.env, "unreachable", str(exc))
    except TmaError as exc:
        return SiteReport(site.site_id, site.stack, site.env, "error", str(exc))
    except Exception as exc:  # a plugin bug must not stop the fleet
        site.log.exception("plugin failure", site=site.site_id)
        message = f"internal error ({type(exc).__name__}: {exc})"
        return SiteReport(site.site_id, site.stack, site.env, "error", message)
    updates = any(f.update in UPDATE_SEVERITY for f in findings)
    status = "updates" if updates else "ok"
    return SiteReport(site.site_id, site.stack, site.env, status, None, findings)


def _check(site: SiteContext, pm: pluggy.PluginManager) -> list:  # type: ignore[type-arg]
    wanted = sorted({p for paths in pm.hook.tma_detect_paths() for p in paths})
    absolute = {rel: posixpath.join(site.path, rel) for rel in wanted}
    contents = site.host.read_many(list(absolute.values()))
    site.files.update(contents)
    files = {rel: contents.get(path) for rel, path in absolute.items()}
    detection = pm.hook.tma_detect_stack(site=site, files=files)
    if detection is None:
        expected = f"a {site.stack} site" if site.stack else "a site of any known stack"
        raise SiteTreeError(f"{site.host.name}:{site.path} is not {expected}")
    site.stack, site.root = detection.stack, detection.root
    components = pm.hook.tma_inventory(site=site)
    if components is None:
        raise TmaError(f"no plugin lists the components of stack {site.stack!r}")
    findings = pm.hook.tma_evaluate(site=site, components=components)
    if findings is None:
        raise TmaError(f"no plugin evaluates stack {site.stack!r}")
    return list(findings)

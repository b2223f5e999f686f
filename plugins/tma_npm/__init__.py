"""npm stack plugin: JavaScript front ends (React, Angular, Vue...) installed with npm.

Modules: `detect` (package.json + lockfile at the site path or `options.npm_dir`), `lockfile`
(package.json and lockfile v1/v2/v3 as data), `inventory` (components from the detection read:
no round trip of its own), `registry` (package metadata and bulk advisories from the npm
registry), `evaluate` (findings), `testing` (project and registry-answer builders).

What a check asks the registry, per site: one bulk advisory POST for every installed
name@version (direct and transitive), then one metadata GET per direct dependency and per
vulnerable transitive package; each URL is fetched once per run whichever sites ask. Transitive
packages are reported only when an advisory hits them, so a fleet report stays readable.
"""

from __future__ import annotations

from tma_npm.hooks import NpmStack

__all__ = ["NpmStack", "plugin"]

#: What the `tma_agent` entry point registers.
plugin = NpmStack()

"""The Composer-project stack (`composer`): Symfony, Laravel and any PHP site whose
composer.lock no other stack claims.

Modules: `detect` (composer.json + composer.lock, and which stacks it leaves alone),
`inventory` (every locked package, from the lock detection read), `hooks` (the `StackPlugin`),
`testing` (Symfony and Laravel trees). Findings come from the shared Composer evaluator,
`tma_agent.ecosystems.composer_findings`, which the Magento stack uses too: its docstring says
how `latest`, `recommended` and the update kind are chosen.

Configuration:
- `sources.composer.repositories`: Composer v2 repositories asked in order, each `url` with an
  optional `auth: {username, password}` (use `$env`); default one repository at
  `sources.composer.url` (https://repo.packagist.org).
- `sources.packagist.url`: where the security advisories API lives (https://packagist.org).
- `sites[].options.composer_transitive: true`: also fetch release metadata for transitive
  packages (default false: only direct ones, which keeps a fleet fast; transitive packages are
  still checked against advisories, and an affected one gets its metadata to find the fix).
"""

from __future__ import annotations

from tma_composer.hooks import ComposerStack

__all__ = ["ComposerStack", "plugin"]

#: What the `tma_agent` entry point registers.
plugin = ComposerStack()

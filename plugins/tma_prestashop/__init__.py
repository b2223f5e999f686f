"""PrestaShop stack plugin: PrestaShop 1.6, 1.7, 8 and 9 core and modules.

Modules: `detect` (is it PrestaShop, which core version), `inventory` (modules in one read),
`lines` (major and minor lines of 4-part 1.x and semver 8+ versions), `distribution` (core
releases), `indexes` (module index and advisories, URL or file, once per run), `packagist`
(core advisories), `evaluate` (findings), `testing` (trees and answers).

Configuration (`sources.prestashop`):
- `url`: base of the distribution API (default https://api.prestashop-project.org); core
  releases are `GET {url}/prestashop`.
- `modules`: URL or file of the agency's module release index. Format::

    {"modules": {
      "ps_facetedsearch": {"versions": [
        {"version": "3.16.1", "date": "2024-05-02", "ps_min": "1.7.8.0", "ps_max": "9.99.99",
         "url": "https://.../ps_facetedsearch-3.16.1.zip"}]}}}

  `version` is required; `date` (ISO, becomes the finding's `released`), `ps_min`/`ps_max`
  (inclusive core bounds, each optional) and `url` are optional. See
  `modules-index.example.json`. Without it every module is `unknown`.
- `advisories`: URL or file of module advisories, Friends-of-Presta front matter as JSON: a list
  (or `{"advisories": [...]}`) of `{"module": "ps_facetedsearch", "versions": ">= 1.0.0, <
  3.4.1", "cve": "CVE-2023-xxxx", "severity": "critical", "title": "...", "url": "..."}`;
  `module` `prestashop` is the core; `versions` is a Composer constraint
  (`<= 3.4.0`, `>= 1.0.0, < 3.4.1`, `>=8.0.0 <8.0.4 || <1.7.8.9`, read by
  `tma_agent.versions.parse_constraint`); `id` defaults to the CVE, then the URL. See
  `advisories.example.json`.

`sources.packagist.url` (default https://packagist.org): Packagist's security advisories for
`prestashop/prestashop`, matched against the core version (`packagist.py`).

Every document is read once per run; a broken one is an error naming its URL or file for the
sites that need it, and never stops the other sites.
"""

from __future__ import annotations

from tma_prestashop.hooks import PrestaShopStack

__all__ = ["PrestaShopStack", "plugin"]

#: What the `tma_agent` entry point registers.
plugin = PrestaShopStack()

"""Build Drupal trees in the real layouts, for tests, demos and benches.

Trees follow what `composer create-project drupal/recommended-project` and a drupal.org tarball
really leave on disk: composer.lock and vendor/composer/installed.json at the project root,
`core/lib/Drupal.php` in the docroot (`web/` by default), contrib under `modules/contrib/` with
the lines drupal.org's packaging script appends to every info file, custom code without them;
Drupal 7 with `includes/bootstrap.inc` and `sites/all/modules/<p>/<p>.info`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tma_agent.versions import drupal_to_composer
from tma_drupal.testing.feeds import DATESTAMP

__all__ = [
    "DEFAULT_D7_MODULES",
    "DEFAULT_D10_MODULES",
    "DrupalTree",
    "build_drupal7",
    "build_drupal10",
]

DEFAULT_D10_MODULES: Mapping[str, str] = {"pathauto": "8.x-1.12", "token": "8.x-1.13"}

DEFAULT_D7_MODULES: Mapping[str, str] = {"views": "7.x-3.29", "ctools": "7.x-1.21"}


@dataclass(frozen=True)
class DrupalTree:
    #: The site path an agent is configured with (composer.json's directory).
    project_root: Path
    #: Where index.php and core/ live: project_root or project_root/"web".
    docroot: Path
    core: str
    drupal7: bool


def build_drupal10(
    root: Path | str,
    *,
    core: str = "10.2.3",
    modules: Mapping[str, str] = DEFAULT_D10_MODULES,
    themes: Mapping[str, str] | None = None,
    profiles: Mapping[str, str] | None = None,
    submodules: Mapping[str, Sequence[str]] | None = None,
    custom_modules: Sequence[str] = ("agency_tweaks",),
    custom_themes: Sequence[str] = (),
    web_dir: bool = True,
    composer: bool = True,
    info_versions: Mapping[str, str] | None = None,
    composer_versions: Mapping[str, str] | None = None,
    composer_drupal_extra: bool = True,
    packaging: bool = True,
) -> DrupalTree:
    """Write a Drupal 8+ site. `modules`/`themes`/`profiles` map drupal.org project names to
    drupal.org versions (`8.x-1.2` or `2.0.1`); `info_versions` makes an info file disagree with
    composer.lock; `composer_versions` sets a Composer version as is (`1.2.0`);
    `composer_drupal_extra=False` drops packages.drupal.org's `extra.drupal.version`."""
    project_root = Path(root)
    docroot = project_root / "web" if web_dir else project_root
    themes, profiles = dict(themes or {}), dict(profiles or {})
    info_versions, submodules = dict(info_versions or {}), dict(submodules or {})
    _write(docroot / "index.php", "<?php\n\nuse Drupal\\Core\\DrupalKernel;\n")
    _write(docroot / "core/lib/Drupal.php", _DRUPAL_PHP.format(version=core))
    for core_module in ("node", "system", "user"):
        _write(
            docroot / f"core/modules/{core_module}/{core_module}.info.yml",
            f"name: {core_module.title()}\ntype: module\npackage: Core\nversion: VERSION\n",
        )
    _write(
        docroot / "core/profiles/standard/standard.info.yml",
        "name: Standard\ntype: profile\nversion: VERSION\n",
    )
    _write(docroot / "sites/default/settings.php", "<?php\n$settings['hash_salt'] = 'x';\n")
    for kind, projects in (("module", modules), ("theme", themes), ("profile", profiles)):
        for project, version in projects.items():
            base = docroot / f"{kind}s/contrib/{project}"
            stated = info_versions.get(project, version)
            _write_info_yml(base, project, kind, project, stated, packaging)
            for sub in submodules.get(project, ()):
                _write_info_yml(base / "modules" / sub, sub, "module", project, stated, packaging)
            if kind == "module":  # drupal.org packages test modules too; they are not projects
                test = base / f"tests/modules/{project}_test"
                _write_info_yml(test, f"{project}_test", "module", project, stated, packaging)
    for name in custom_modules:
        _write(docroot / f"modules/custom/{name}/{name}.info.yml", _custom_info(name, "module"))
    for name in custom_themes:
        _write(docroot / f"themes/custom/{name}/{name}.info.yml", _custom_info(name, "theme"))
    if composer:
        packages = [_composer_package("drupal/core", core, "drupal-core", None)]
        for kind, projects in (("module", modules), ("theme", themes), ("profile", profiles)):
            for project, version in projects.items():
                composer_version = (composer_versions or {}).get(project)
                composer_version = composer_version or drupal_to_composer(version)
                extra = version if composer_drupal_extra else None
                packages.append(
                    _composer_package(
                        f"drupal/{project}", composer_version, f"drupal-{kind}", extra
                    )
                )
        _write_composer(project_root, packages)
    return DrupalTree(project_root, docroot, core, drupal7=False)


def _write_info_yml(
    directory: Path, machine_name: str, kind: str, project: str, version: str, packaging: bool
) -> None:
    text = (
        f"name: '{machine_name.replace('_', ' ').title()}'\n"
        f"type: {kind}\n"
        f"description: 'The {machine_name} {kind}.'\n"
        "core_version_requirement: ^9.5 || ^10 || ^11\n"
    )
    if kind == "theme":
        text += "base theme: false\n"
    if packaging:
        text += (
            "\n# Information added by Drupal.org packaging script on 2023-11-14\n"
            f"version: '{version}'\nproject: '{project}'\ndatestamp: {DATESTAMP}\n"
        )
    _write(directory / f"{machine_name}.info.yml", text)


def _custom_info(name: str, kind: str) -> str:
    return f"name: '{name}'\ntype: {kind}\ndescription: 'Agency code.'\ncore_version_requirement: ^10\n"


def _composer_package(
    name: str, version: str, kind: str, drupal_version: str | None
) -> dict[str, Any]:
    short = name.split("/", 1)[1]
    reference = drupal_version or version
    package: dict[str, Any] = {
        "name": name,
        "version": version,
        "source": {
            "type": "git",
            "url": f"https://git.drupalcode.org/project/{short}.git",
            "reference": reference,
        },
        "dist": {
            "type": "zip",
            "url": f"https://ftp.drupal.org/files/projects/{short}-{reference}.zip",
            "reference": reference,
            "shasum": "",
        },
        "require": {"drupal/core": "^9.5 || ^10 || ^11"},
        "type": kind,
        "license": ["GPL-2.0-or-later"],
    }
    if drupal_version:
        package["extra"] = {
            "drupal": {
                "version": drupal_version,
                "datestamp": str(DATESTAMP),
                "security-coverage": {"status": "covered", "message": "Covered by policy."},
            }
        }
    return package


def _write_composer(project_root: Path, packages: list[dict[str, Any]]) -> None:
    lock = {
        "_readme": ["This file locks the dependencies of your project to a known state"],
        "content-hash": "0123456789abcdef0123456789abcdef",
        "packages": packages,
        "packages-dev": [],
        "aliases": [],
        "minimum-stability": "stable",
        "stability-flags": {},
        "prefer-stable": True,
        "prefer-lowest": False,
        "platform": {},
        "platform-dev": {},
        "plugin-api-version": "2.6.0",
    }
    _write(project_root / "composer.lock", json.dumps(lock, indent=4) + "\n")
    installed = {"packages": packages, "dev": True, "dev-package-names": []}
    _write(project_root / "vendor/composer/installed.json", json.dumps(installed, indent=4) + "\n")


_DRUPAL_PHP = """<?php

namespace Drupal;

/**
 * Static Service Container wrapper.
 */
class Drupal {{

  /**
   * The current system version.
   */
  const VERSION = '{version}';

  /**
   * Core API compatibility.
   */
  const CORE_COMPATIBILITY = '8.x';

}}
"""


def build_drupal7(
    root: Path | str,
    *,
    core: str = "7.98",
    modules: Mapping[str, str] = DEFAULT_D7_MODULES,
    themes: Mapping[str, str] | None = None,
    submodules: Mapping[str, Sequence[str]] | None = None,
    custom_modules: Sequence[str] = ("agency_tweaks",),
    packaging: bool = True,
) -> DrupalTree:
    """Write a Drupal 7 tarball install: core in includes/ and modules/, contrib in
    sites/all/modules/<project>/ with `7.x-` versions."""
    docroot = Path(root)
    _write(docroot / "index.php", "<?php\ndefine('DRUPAL_ROOT', getcwd());\n")
    _write(docroot / "includes/bootstrap.inc", _BOOTSTRAP_INC.format(version=core))
    for core_module in ("node", "system", "user"):
        _write_info(docroot / "modules" / core_module, core_module, "drupal", core, True)
    _write_info(docroot / "profiles/standard", "standard", "drupal", core, True)
    _write(docroot / "sites/default/settings.php", "<?php\n$databases = array();\n")
    for project, version in modules.items():
        base = docroot / "sites/all/modules" / project
        _write_info(base, project, project, version, packaging)
        for sub in (submodules or {}).get(project, ()):
            _write_info(base / sub, sub, project, version, packaging)
    for project, version in (themes or {}).items():
        _write_info(docroot / "sites/all/themes" / project, project, project, version, packaging)
    for name in custom_modules:
        _write(
            docroot / f"sites/all/modules/custom/{name}/{name}.info",
            f"name = {name}\ndescription = Agency code.\ncore = 7.x\n",
        )
    return DrupalTree(docroot, docroot, core, drupal7=True)


def _write_info(directory: Path, name: str, project: str, version: str, packaging: bool) -> None:
    text = f"name = {name.title()}\ndescription = The {name} extension.\ncore = 7.x\n"
    text += "dependencies[] = system\n"
    if packaging:
        text += (
            "\n; Information added by Drupal.org packaging script on 2023-11-14\n"
            f'version = "{version}"\ncore = "7.x"\nproject = "{project}"\n'
            f'datestamp = "{DATESTAMP}"\n'
        )
    _write(directory / f"{name}.info", text)


_BOOTSTRAP_INC = """<?php

/**
 * @file
 * Functions that need to be loaded on every Drupal request.
 */

/**
 * The current system version.
 */
define('VERSION', '{version}');

/**
 * Core API compatibility.
 */
define('DRUPAL_CORE_COMPATIBILITY', '7.x');

define('DRUPAL_BOOTSTRAP_FULL', 7);
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")

"""Build Magento 2 / Adobe Commerce / Mage-OS trees in the real layout, for tests, demos and
benches of the `magento` stack.

A tree is what `composer create-project magento/project-community-edition` then
`bin/magento setup:install` leave: the project composer.json (the product pinned exactly,
`repositories` naming the Marketplace), composer.lock with the product metapackage,
`magento/magento2-base` and `magento/module-*` packages (numbered as Magento numbers them:
2.4.7-p3 ships module-catalog 104.0.7-p3) plus third-party modules, vendor/composer/
installed.json, `app/etc/env.php` and `app/etc/config.php` (PHP arrays the real `php` reads),
`bin/magento`, `app/bootstrap.php` and `pub/index.php`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tma_agent.testing.composer_trees import (
    locked_package,
    write_composer_project,
)

__all__ = [
    "CORE_MODULES",
    "EDITIONS",
    "THIRD_PARTY_MODULES",
    "MagentoTree",
    "build_magento",
    "env_php",
    "module_version",
]

#: Edition -> the product package composer.json requires.
EDITIONS: Mapping[str, str] = {
    "community": "magento/product-community-edition",
    "enterprise": "magento/product-enterprise-edition",
    "mage-os": "mage-os/product-community-edition",
}

#: Magento's own modules: package -> the major its numbering starts from.
CORE_MODULES: Mapping[str, int] = {
    "magento/module-catalog": 104,
    "magento/module-checkout": 100,
    "magento/module-customer": 103,
}

THIRD_PARTY_MODULES: Mapping[str, str] = {"acme-commerce/module-gift-wrap": "2.3.1"}


@dataclass(frozen=True)
class MagentoTree:
    root: Path
    version: str
    product: str


def module_version(major: int, core: str) -> str:
    """A core module's version for a product version (module-catalog 104.0.7-p3 for 2.4.7-p3)."""
    match = re.match(r"^\d+\.\d+\.(\d+)(.*)$", core)
    if match is None:
        raise ValueError(f"not a Magento product version: {core!r}")
    return f"{major}.0.{match.group(1)}{match.group(2)}"


def env_php(mode: str = "production") -> str:
    return f"""<?php
return [
    'backend' => [
        'frontName' => 'admin_q7x2'
    ],
    'remote_storage' => [
        'driver' => 'file'
    ],
    'queue' => [
        'consumers_wait_for_messages' => 1
    ],
    'crypt' => [
        'key' => 'base64Wl0c2Jxa2ZpbmdlcnByaW50c2VjcmV0Zm9ydGVzdHM='
    ],
    'db' => [
        'table_prefix' => '',
        'connection' => [
            'default' => [
                'host' => 'localhost',
                'dbname' => 'magento',
                'username' => 'magento',
                'password' => 'not-a-real-password',
                'model' => 'mysql4',
                'engine' => 'innodb',
                'initStatements' => 'SET NAMES utf8;',
                'active' => '1',
                'driver_options' => [
                    1014 => false
                ]
            ]
        ]
    ],
    'resource' => [
        'default_setup' => [
            'connection' => 'default'
        ]
    ],
    'x-frame-options' => 'SAMEORIGIN',
    'MAGE_MODE' => '{mode}',
    'session' => [
        'save' => 'files'
    ],
    'lock' => [
        'provider' => 'db'
    ],
    'directories' => [
        'document_root_is_pub' => true
    ],
    'cache_types' => [
        'config' => 1,
        'layout' => 1,
        'block_html' => 1,
        'full_page' => 1
    ],
    'downloadable_domains' => [
        'shop.example.org'
    ],
    'install' => [
        'date' => 'Tue, 02 Jul 2024 09:12:44 +0000'
    ]
];
"""


_BIN_MAGENTO = """#!/usr/bin/env php
<?php
/**
 * Copyright © Magento, Inc. All rights reserved.
 * See COPYING.txt for license details.
 */

if (PHP_SAPI !== 'cli') {
    echo 'bin/magento must be run as a CLI application';
    exit(1);
}

try {
    require __DIR__ . '/../app/bootstrap.php';
} catch (\\Exception $e) {
    echo 'Autoload error: ' . $e->getMessage();
    exit(1);
}
try {
    $handler = new \\Magento\\Framework\\App\\ErrorHandler();
    set_error_handler([$handler, 'handler']);
    $application = new Magento\\Framework\\Console\\Cli('Magento CLI');
    $application->run();
} catch (\\Exception $e) {
    while ($e) {
        echo $e->getMessage();
        echo $e->getTraceAsString();
        echo "\\n\\n";
        $e = $e->getPrevious();
    }
    exit(Magento\\Framework\\Console\\Cli::RETURN_FAILURE);
}
"""

_BOOTSTRAP = "<?php\n\nrequire_once __DIR__ . '/autoload.php';\n"

_PUB_INDEX = (
    "<?php\n\nuse Magento\\Framework\\App\\Bootstrap;\n\n"
    "require __DIR__ . '/../app/bootstrap.php';\n\n"
    "$bootstrap = Bootstrap::create(BP, $_SERVER);\n"
    "$app = $bootstrap->createApplication(\\Magento\\Framework\\App\\Http::class);\n"
    "$bootstrap->run($app);\n"
)


def _config_php(modules: Sequence[str]) -> str:
    lines = "".join(f"        '{name}' => 1,\n" for name in modules)
    return f"<?php\nreturn [\n    'modules' => [\n{lines}    ]\n];\n"


def _module_name(package: str) -> str:
    vendor, name = package.split("/", 1)
    words = name.removeprefix("module-").split("-")
    return vendor.split("-")[0].title() + "_" + "".join(w.title() for w in words)


def build_magento(
    root: Path | str,
    *,
    version: str = "2.4.7-p3",
    edition: str = "community",
    modules: Mapping[str, str] = THIRD_PARTY_MODULES,
    packages: Mapping[str, str] | None = None,
    abandoned: Mapping[str, bool | str] | None = None,
    mode: str = "production",
    installed: bool = True,
) -> MagentoTree:
    """A Magento project at `root`: `modules` are third-party `magento2-module` packages the
    project requires (name -> version), `packages` more locked libraries pulled in by them;
    `installed=False` leaves out app/etc/env.php (a checkout never set up)."""
    project = Path(root)
    product = EDITIONS[edition]
    marks = dict(abandoned or {})
    core_modules = {name: module_version(major, version) for name, major in CORE_MODULES.items()}
    metas = [product]
    if edition == "enterprise":
        metas.append(EDITIONS["community"])
    base = "mage-os/magento2-base" if edition == "mage-os" else "magento/magento2-base"
    entries = [
        locked_package(meta, version, type="metapackage", require={base: version, **core_modules})
        for meta in metas
    ]
    entries.append(locked_package(base, version, type="magento2-component"))
    entries += [locked_package(n, v, type="magento2-module") for n, v in core_modules.items()]
    entries += [
        locked_package(n, v, type="magento2-module", abandoned=marks.get(n))
        for n, v in modules.items()
    ]
    entries += [locked_package(n, v, abandoned=marks.get(n)) for n, v in (packages or {}).items()]
    manifest: dict[str, Any] = {
        "name": "magento/project-community-edition",
        "description": "eCommerce Platform for Growth (Community Edition)",
        "type": "project",
        "license": ["OSL-3.0", "AFL-3.0"],
        "config": {"preferred-install": "dist", "sort-packages": True},
        "version": version,
        "require": {product: version, **{n: f"^{v}" for n, v in modules.items()}},
        "autoload": {
            "psr-4": {"Magento\\Setup\\": "setup/src/Magento/Setup/"},
            "psr-0": {"": ["app/code/", "generated/code/"]},
            "files": ["app/etc/NonComposerComponentRegistration.php"],
        },
        "minimum-stability": "stable",
        "prefer-stable": True,
        "repositories": [{"type": "composer", "url": "https://repo.magento.com/"}],
        "extra": {"magento-force": "override"},
    }
    write_composer_project(project, manifest, entries)
    files = {
        "bin/magento": _BIN_MAGENTO,
        "app/bootstrap.php": _BOOTSTRAP,
        "app/autoload.php": "<?php\n\ndefine('BP', dirname(__DIR__));\n",
        "app/etc/NonComposerComponentRegistration.php": "<?php\n",
        "app/etc/config.php": _config_php([_module_name(n) for n in [*core_modules, *modules]]),
        "pub/index.php": _PUB_INDEX,
    }
    if installed:
        files["app/etc/env.php"] = env_php(mode)
    for relative, text in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (project / "bin/magento").chmod(0o755)
    return MagentoTree(project, version, product)

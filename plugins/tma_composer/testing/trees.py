"""Build Symfony, Laravel and plain Composer project trees in the real layouts, for tests, demos
and benches of the `composer` stack.

A Symfony tree is what `composer create-project symfony/skeleton` plus a few bundles leaves on
disk (bin/console, public/index.php, src/Kernel.php, config/bundles.php, symfony.lock, .env); a
Laravel tree what `composer create-project laravel/laravel` leaves (artisan, bootstrap/app.php,
public/index.php, config/app.php, routes/web.php). Both have composer.json, composer.lock and
vendor/composer/installed.json written by `tma_agent.testing.composer_trees`. Repositories and
advisories are served with `tma_agent.testing.composer_trees` (`serve_composer_repository`,
`serve_advisories_api`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tma_agent.testing.composer_trees import locked_package, write_composer_project

__all__ = [
    "LARAVEL_LOCKED",
    "LARAVEL_REQUIRE",
    "SYMFONY_LOCKED",
    "SYMFONY_LOCKED_DEV",
    "SYMFONY_REQUIRE",
    "SYMFONY_REQUIRE_DEV",
    "build_composer_site",
    "build_laravel",
    "build_symfony",
]

SYMFONY_REQUIRE: Mapping[str, str] = {
    "php": ">=8.1",
    "ext-ctype": "*",
    "doctrine/orm": "^2.17",
    "symfony/console": "6.4.*",
    "symfony/framework-bundle": "6.4.*",
    "symfony/runtime": "6.4.*",
}

SYMFONY_REQUIRE_DEV: Mapping[str, str] = {"phpunit/phpunit": "^10.5"}

#: Every package `packages[]` locks: the direct ones and what they pulled in.
SYMFONY_LOCKED: Mapping[str, str] = {
    "doctrine/orm": "2.17.2",
    "doctrine/dbal": "3.8.0",
    "psr/log": "3.0.0",
    "symfony/console": "v6.4.3",
    "symfony/framework-bundle": "v6.4.3",
    "symfony/http-kernel": "v6.4.3",
    "symfony/runtime": "v6.4.3",
}

SYMFONY_LOCKED_DEV: Mapping[str, str] = {"phpunit/phpunit": "10.5.9", "sebastian/diff": "5.1.0"}

LARAVEL_REQUIRE: Mapping[str, str] = {
    "php": "^8.1",
    "guzzlehttp/guzzle": "^7.2",
    "laravel/framework": "^10.10",
    "laravel/tinker": "^2.8",
}

LARAVEL_LOCKED: Mapping[str, str] = {
    "guzzlehttp/guzzle": "7.8.1",
    "laravel/framework": "v10.43.0",
    "laravel/tinker": "v2.9.0",
    "nesbot/carbon": "2.72.3",
}

_SYMFONY_FILES = {
    "bin/console": (
        "#!/usr/bin/env php\n<?php\n\nuse App\\Kernel;\n"
        "use Symfony\\Bundle\\FrameworkBundle\\Console\\Application;\n\n"
        "require_once dirname(__DIR__).'/vendor/autoload_runtime.php';\n\n"
        "return function (array $context) {\n"
        "    $kernel = new Kernel($context['APP_ENV'], (bool) $context['APP_DEBUG']);\n\n"
        "    return new Application($kernel);\n};\n"
    ),
    "public/index.php": (
        "<?php\n\nuse App\\Kernel;\n\n"
        "require_once dirname(__DIR__).'/vendor/autoload_runtime.php';\n\n"
        "return function (array $context) {\n"
        "    return new Kernel($context['APP_ENV'], (bool) $context['APP_DEBUG']);\n};\n"
    ),
    "src/Kernel.php": (
        "<?php\n\nnamespace App;\n\n"
        "use Symfony\\Bundle\\FrameworkBundle\\Kernel\\MicroKernelTrait;\n"
        "use Symfony\\Component\\HttpKernel\\Kernel as BaseKernel;\n\n"
        "class Kernel extends BaseKernel\n{\n    use MicroKernelTrait;\n}\n"
    ),
    "config/bundles.php": (
        "<?php\n\nreturn [\n"
        "    Symfony\\Bundle\\FrameworkBundle\\FrameworkBundle::class => ['all' => true],\n"
        "    Doctrine\\Bundle\\DoctrineBundle\\DoctrineBundle::class => ['all' => true],\n];\n"
    ),
    ".env": "APP_ENV=prod\nAPP_SECRET=0123456789abcdef0123456789abcdef\n",
    "symfony.lock": '{\n    "symfony/framework-bundle": {\n        "version": "6.4"\n    }\n}\n',
}

_LARAVEL_FILES = {
    "artisan": (
        "#!/usr/bin/env php\n<?php\n\ndefine('LARAVEL_START', microtime(true));\n\n"
        "require __DIR__.'/vendor/autoload.php';\n\n"
        "$app = require_once __DIR__.'/bootstrap/app.php';\n\n"
        "$kernel = $app->make(Illuminate\\Contracts\\Console\\Kernel::class);\n\n"
        "$status = $kernel->handle(\n"
        "    $input = new Symfony\\Component\\Console\\Input\\ArgvInput,\n"
        "    new Symfony\\Component\\Console\\Output\\ConsoleOutput\n);\n\n"
        "$kernel->terminate($input, $status);\n\nexit($status);\n"
    ),
    "bootstrap/app.php": (
        "<?php\n\n$app = new Illuminate\\Foundation\\Application(\n"
        "    $_ENV['APP_BASE_PATH'] ?? dirname(__DIR__)\n);\n\nreturn $app;\n"
    ),
    "public/index.php": (
        "<?php\n\nuse Illuminate\\Contracts\\Http\\Kernel;\nuse Illuminate\\Http\\Request;\n\n"
        "define('LARAVEL_START', microtime(true));\n\n"
        "require __DIR__.'/../vendor/autoload.php';\n"
    ),
    "config/app.php": "<?php\n\nreturn [\n    'name' => env('APP_NAME', 'Laravel'),\n];\n",
    "routes/web.php": (
        "<?php\n\nuse Illuminate\\Support\\Facades\\Route;\n\n"
        "Route::get('/', function () {\n    return view('welcome');\n});\n"
    ),
}


def build_composer_site(
    root: Path | str,
    *,
    name: str = "acme/site",
    require: Mapping[str, str],
    require_dev: Mapping[str, str] | None = None,
    locked: Mapping[str, str],
    locked_dev: Mapping[str, str] | None = None,
    abandoned: Mapping[str, bool | str] | None = None,
    files: Mapping[str, str] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
) -> Path:
    """A Composer project at `root`: `locked`/`locked_dev` map every package the lock holds to
    its installed version; `abandoned` marks packages as the lock records it; `files` are
    written as given (relative path -> text)."""
    project = Path(root)
    manifest: dict[str, Any] = {
        "name": name,
        "type": "project",
        "license": "proprietary",
        "minimum-stability": "stable",
        "prefer-stable": True,
        "require": dict(require),
        **({"require-dev": dict(require_dev)} if require_dev else {}),
        "config": {"sort-packages": True},
        **dict(extra_manifest or {}),
    }
    marks = dict(abandoned or {})

    def entries(versions: Mapping[str, str]) -> list[dict[str, Any]]:
        return [locked_package(n, v, abandoned=marks.get(n)) for n, v in versions.items()]

    write_composer_project(project, manifest, entries(locked), entries(locked_dev or {}))
    for relative, text in (files or {}).items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project


def build_symfony(
    root: Path | str,
    *,
    require: Mapping[str, str] = SYMFONY_REQUIRE,
    require_dev: Mapping[str, str] = SYMFONY_REQUIRE_DEV,
    locked: Mapping[str, str] = SYMFONY_LOCKED,
    locked_dev: Mapping[str, str] = SYMFONY_LOCKED_DEV,
    abandoned: Mapping[str, bool | str] | None = None,
) -> Path:
    """A Symfony 6.4 application (the framework version is `symfony/framework-bundle`'s)."""
    extra = {"extra": {"symfony": {"allow-contrib": False, "require": "6.4.*"}}}
    return build_composer_site(
        root,
        name="acme/symfony-shop",
        require=require,
        require_dev=require_dev,
        locked=locked,
        locked_dev=locked_dev,
        abandoned=abandoned,
        files=_SYMFONY_FILES,
        extra_manifest={"autoload": {"psr-4": {"App\\": "src/"}}, **extra},
    )


def build_laravel(
    root: Path | str,
    *,
    require: Mapping[str, str] = LARAVEL_REQUIRE,
    locked: Mapping[str, str] = LARAVEL_LOCKED,
) -> Path:
    """A Laravel 10 application (the framework version is `laravel/framework`'s)."""
    return build_composer_site(
        root,
        name="laravel/laravel",
        require=require,
        locked=locked,
        files=_LARAVEL_FILES,
        extra_manifest={"autoload": {"psr-4": {"App\\": "app/"}}},
    )

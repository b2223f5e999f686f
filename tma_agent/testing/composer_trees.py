"""Write Composer projects and serve Composer repositories in the real formats, for the tests,
demos and benches of the Composer-based stacks (Composer sites, Magento).

Trees: `composer.json`, `composer.lock` (entries as Composer writes them: `source`, `dist`,
`type`, `time`..., and the real `content-hash`, so `composer validate` finds the lock fresh) and
`vendor/composer/installed.json` (Composer 2 format). Repositories: `packages.json` with a
`metadata-url` template, `available-packages` and optionally the `security-advisories` API,
p2 files minified as Composer v2 repositories serve them, optional HTTP basic auth (401 without
it, like repo.magento.com); the advisories API as Packagist answers it, accepting the
`packages[]` form the agent sends and the `packages[N]` one the `composer` CLI sends. The p2
bodies and advisory entries come from `tma_agent.testing.composer_answers`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tma_agent.testing.composer_answers import advisories_route, p2_metadata, packagist_advisory
from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.versions import normalize_composer

__all__ = [
    "RELEASE_TIME",
    "advisory",
    "composer_lock",
    "composer_using",
    "content_hash",
    "installed_json",
    "locked_package",
    "release",
    "serve_advisories_api",
    "serve_composer_repository",
    "write_composer_project",
]

#: A fixed date keeps builds reproducible.
RELEASE_TIME = "2024-01-15T09:30:00+00:00"
_README = [
    "This file locks the dependencies of your project to a known state",
    "Read more about it at https://getcomposer.org/doc/01-basic-usage.md#installing-dependencies",
    "This file is @generated automatically",
]


def _reference(name: str, version: str) -> str:
    return hashlib.sha1(f"{name}@{version}".encode(), usedforsecurity=False).hexdigest()


def release(
    name: str,
    version: str,
    *,
    time: str | None = RELEASE_TIME,
    require: Mapping[str, str] | None = None,
    type: str = "library",
    abandoned: bool | str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One version of a package, with the fields a repository and a lock both carry."""
    reference = _reference(name, version)
    entry: dict[str, Any] = {
        "name": name,
        "version": version,
        "version_normalized": normalize_composer(version),
        "source": {
            "type": "git",
            "url": f"https://git.example.org/{name}.git",
            "reference": reference,
        },
        "dist": {
            "type": "zip",
            "url": f"https://dist.example.org/{name}/{reference}.zip",
            "reference": reference,
            "shasum": "",
        },
        "require": dict(require or {"php": ">=8.1"}),
        "type": type,
        "autoload": {"psr-4": {_namespace(name): "src/"}},
        "license": ["MIT"],
        "description": f"The {name} package.",
    }
    if time is not None:
        entry["time"] = time
    if abandoned:
        entry["abandoned"] = abandoned
    entry.update(fields)
    return entry


def _namespace(name: str) -> str:
    return "\\".join(part.replace("-", "_").title() for part in name.split("/")) + "\\"


def locked_package(name: str, version: str, **kwargs: Any) -> dict[str, Any]:
    """A `packages[]` entry of composer.lock (no `version_normalized`, a notification URL)."""
    entry = release(name, version, **kwargs)
    del entry["version_normalized"]
    entry["notification-url"] = "https://packagist.org/downloads/"
    return entry


def _php_json(data: Any) -> str:
    # PHP's json_encode() with no flags: compact, `/` escaped, non-ASCII as \uXXXX.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def content_hash(manifest: Mapping[str, Any]) -> str:
    """composer.lock's `content-hash` of a composer.json, as Composer's Locker computes it."""
    keys = (
        "name",
        "version",
        "require",
        "require-dev",
        "conflict",
        "replace",
        "provide",
        "minimum-stability",
        "prefer-stable",
        "repositories",
        "extra",
    )
    relevant: dict[str, Any] = {k: manifest[k] for k in keys if k in manifest}
    platform = (manifest.get("config") or {}).get("platform")
    if platform is not None:
        relevant["config"] = {"platform": platform}
    content = _php_json(dict(sorted(relevant.items()))).encode()
    return hashlib.md5(content, usedforsecurity=False).hexdigest()  # composer's content-hash


def composer_lock(
    manifest: Mapping[str, Any],
    packages: Sequence[Mapping[str, Any]],
    packages_dev: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    def platform(key: str) -> dict[str, str] | list[Any]:
        links = {k: v for k, v in (manifest.get(key) or {}).items() if "/" not in k}
        return links or []  # PHP writes an empty object as []

    return {
        "_readme": _README,
        "content-hash": content_hash(manifest),
        "packages": sorted(packages, key=lambda p: p["name"]),
        "packages-dev": sorted(packages_dev, key=lambda p: p["name"]),
        "aliases": [],
        "minimum-stability": manifest.get("minimum-stability", "stable"),
        "stability-flags": [],
        "prefer-stable": bool(manifest.get("prefer-stable", True)),
        "prefer-lowest": False,
        "platform": platform("require"),
        "platform-dev": platform("require-dev"),
        "plugin-api-version": "2.3.0",
    }


def installed_json(
    packages: Sequence[Mapping[str, Any]], packages_dev: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """vendor/composer/installed.json as Composer 2 writes it after `composer install`."""
    entries = []
    for package in sorted([*packages, *packages_dev], key=lambda p: p["name"]):
        entry = {k: v for k, v in package.items() if k != "notification-url"}
        entry["version_normalized"] = normalize_composer(package["version"])
        entry["installation-source"] = "dist"
        entry["install-path"] = f"../{package['name']}"
        entries.append(entry)
    dev_names = sorted(p["name"] for p in packages_dev)
    return {"packages": entries, "dev": True, "dev-package-names": dev_names}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Composer's JsonFile: 4-space indent, unescaped slashes and unicode, trailing newline.
    path.write_text(json.dumps(data, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")


def write_composer_project(
    root: Path | str,
    manifest: Mapping[str, Any],
    packages: Sequence[Mapping[str, Any]],
    packages_dev: Sequence[Mapping[str, Any]] = (),
    *,
    installed: bool = True,
) -> Path:
    """composer.json, composer.lock and (with `installed`) vendor/composer/installed.json and
    vendor/autoload.php under `root`; returns `root`."""
    project = Path(root)
    _write_json(project / "composer.json", manifest)
    _write_json(project / "composer.lock", composer_lock(manifest, packages, packages_dev))
    if installed:
        _write_json(
            project / "vendor/composer/installed.json", installed_json(packages, packages_dev)
        )
        autoload = "<?php\n\n// autoload.php @generated by Composer\n\nreturn [];\n"
        (project / "vendor/autoload.php").write_text(autoload, encoding="utf-8")
    return project


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def serve_composer_repository(
    server: FeedServer,
    prefix: str,
    packages: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    auth: tuple[str, str] | None = None,
    advisories_api: str | None = None,
) -> str:
    """Serve a Composer v2 repository at `{server.url}{prefix}`; `packages` maps a name to its
    versions, newest first (`release(...)` entries). Returns the repository URL."""
    expected = _basic(*auth) if auth else None

    def guarded(body: str) -> Any:
        def answer(request: Request) -> Reply:
            if expected is not None and request.headers.get("Authorization") != expected:
                return Reply('{"error":"Unauthorized"}', 401, {"WWW-Authenticate": 'Basic "repo"'})
            return Reply(body, headers={"Content-Type": "application/json"})

        return answer

    index: dict[str, Any] = {
        "packages": [],
        "metadata-url": f"{prefix}/p2/%package%.json",
        "available-packages": sorted(packages),
    }
    if advisories_api is not None:
        index["security-advisories"] = {"metadata": False, "api-url": advisories_api}
    server.routes[f"{prefix}/packages.json"] = guarded(json.dumps(index))
    for name, versions in packages.items():
        trimmed = [{k: v for k, v in entry.items() if k != "name"} for entry in versions]
        server.routes[f"{prefix}/p2/{name}.json"] = guarded(p2_metadata(name, trimmed))
    return server.url + prefix


def advisory(
    advisory_id: str, package: str, affected_versions: str, **fields: Any
) -> dict[str, Any]:
    """One advisory as Packagist's API writes it, `sources` included (the `composer` CLI needs
    them to read a full advisory); `fields` as `packagist_advisory` takes them."""
    entry = packagist_advisory(advisory_id, package, affected_versions, **fields)
    entry["sources"] = [{"name": entry["source"], "remoteId": entry["remoteId"]}]
    return entry


def serve_advisories_api(
    server: FeedServer,
    advisories: Mapping[str, Sequence[Mapping[str, Any]]],
    prefix: str = "",
) -> str:
    """Serve Packagist's `POST /api/security-advisories/` at `{server.url}{prefix}`;
    `advisories` maps a package to `advisory(...)` entries. Returns the base URL
    (what `sources.packagist.url` takes)."""
    packagist = advisories_route(advisories)

    def answer(request: Request) -> Reply:
        # composer's http_build_query() numbers the keys: `packages[0]=a&packages[1]=b`.
        form = [
            ("packages[]" if key.startswith("packages[") else key, value)
            for key, value in parse_qsl(request.body.decode())
        ]
        body = urlencode(form).encode()
        return packagist(
            Request(request.method, request.path, request.query, request.headers, body)
        )

    server.routes[f"{prefix}/api/security-advisories/"] = answer
    return server.url + prefix


def composer_using(project: Path, repositories: Sequence[str], *args: str) -> str:
    """Run the real `composer` in `project` with only `repositories` (local, plain HTTP) and
    Packagist disabled, from a private home: the site's own files stay as built. stdout."""
    home = project.parent / f"{project.name}-composer-home"
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "config": {"secure-http": False},
        "repositories": [
            *({"type": "composer", "url": u} for u in repositories),
            {"packagist.org": False},
        ],
    }
    (home / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "COMPOSER_HOME": str(home), "COMPOSER_CACHE_DIR": str(home / "cache")}
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(proxy, None)  # the repositories are on 127.0.0.1
    done = subprocess.run(
        ["composer", *args, "--no-interaction", "--no-ansi", "--no-plugins"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # `audit` exits 1 when it finds advisories: its JSON is the answer either way.
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise AssertionError(f"composer {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout

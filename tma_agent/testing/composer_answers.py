"""Builders for tests of Composer-based stacks: upstream answers in their real formats (p2
metadata, packages.json, Packagist advisories) for the local FeedServer, and the real
`composer` CLI run offline against a local `path` repository.

Used by the tests of the shared Composer layer and of the Drupal, Magento and Composer-site
plugins; nothing here is imported by the agent itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tma_agent.testing.feeds import Reply, Request

__all__ = [
    "advisories_route",
    "minify",
    "p2_metadata",
    "packagist_advisory",
    "path_repository_project",
    "run_composer",
]


def minify(versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Composer's metadata minification: the first version in full, then only what changed,
    `"__unset"` for a key the version no longer has (composer/metadata-minifier)."""
    minified: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for version in versions:
        if previous is None:
            minified.append(dict(version))
        else:
            diff = {k: v for k, v in version.items() if k not in previous or previous[k] != v}
            diff.update({k: "__unset" for k in previous if k not in version})
            minified.append(diff)
        previous = dict(version)
    return minified


def p2_metadata(name: str, versions: Sequence[Mapping[str, Any]], *, minified: bool = True) -> str:
    """The body of `{repo}/p2/{name}.json` for `versions` (newest first, as Packagist lists)."""
    full = [{"name": name, **version} for version in versions]
    body: dict[str, Any] = {"packages": {name: minify(full) if minified else full}}
    if minified:
        body["minified"] = "composer/2.0"
    return json.dumps(body)


def packagist_advisory(
    advisory_id: str, package: str, affected_versions: str, **fields: Any
) -> dict[str, Any]:
    """One advisory as Packagist's security-advisories API writes it."""
    return {
        "advisoryId": advisory_id,
        "packageName": package,
        "remoteId": fields.get("remote_id", f"GHSA-{advisory_id[-4:]}"),
        "title": fields.get("title", f"Advisory {advisory_id}"),
        "link": fields.get("link", f"https://example.org/advisories/{advisory_id}"),
        "cve": fields.get("cve"),
        "affectedVersions": affected_versions,
        "source": fields.get("source", "GitHub"),
        "reportedAt": fields.get("reported_at", "2024-02-01 10:00:00"),
        "composerRepository": "https://packagist.org",
        "severity": fields.get("severity"),
    }


def advisories_route(
    advisories: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Callable[[Request], Reply]:
    """A FeedServer route answering `POST /api/security-advisories/` like Packagist: only the
    packages asked for that have advisories, `{"advisories": []}` when none has any."""

    def answer(request: Request) -> Reply:
        form = parse_qsl(request.body.decode()) + parse_qsl(request.query)
        asked = [value for key, value in form if key == "packages[]"]
        found = {name: list(advisories[name]) for name in asked if advisories.get(name)}
        return Reply(
            json.dumps({"advisories": found or []}),
            headers={"Content-Type": "application/json"},
        )

    return answer


def run_composer(project: Path, *args: str, home: Path | None = None) -> str:
    """Run the real `composer` with no network and a private home and cache; stdout."""
    home = home or project.parent / "composer-home"
    env = {
        **os.environ,
        "COMPOSER_HOME": str(home),
        "COMPOSER_CACHE_DIR": str(home / "cache"),
        "COMPOSER_DISABLE_NETWORK": "1",
        "COMPOSER_NO_AUDIT": "1",
    }
    done = subprocess.run(
        ["composer", *args, "--no-interaction", "--no-ansi"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"composer {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def path_repository_project(
    root: Path, packages: Mapping[str, Mapping[str, Any]], project: Mapping[str, Any]
) -> Path:
    """Write each package's composer.json under `root/pkgs/` and the project's under
    `root/site/` with a `path` repository over them and Packagist disabled; the site dir."""
    for name, manifest in packages.items():
        package_dir = root / "pkgs" / name.replace("/", "--")
        package_dir.mkdir(parents=True, exist_ok=True)
        (package_dir / "composer.json").write_text(json.dumps({"name": name, **manifest}))
    site = root / "site"
    site.mkdir(parents=True, exist_ok=True)
    repositories = [
        {"type": "path", "url": "../pkgs/*", "options": {"symlink": False}},
        {"packagist.org": False},
    ]
    (site / "composer.json").write_text(json.dumps({"repositories": repositories, **project}))
    return site

"""npm registry answers in their real formats, written by us, never copied from upstream.

`packument` (abbreviated, or full with `time`), `bulk_advisory` entries, the
`bulk_advisories_route` that answers like the registry (only advisories hitting a version asked
for), and `serve_npm_registry` that installs them on a FeedServer at their real paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.versions import npm_satisfies
from tma_npm.hooks import DEFAULT_REGISTRY_URL
from tma_npm.registry import BULK_ADVISORY_PATH, packument_url
from tma_npm.testing.trees import integrity_of, tarball_url

__all__ = [
    "bulk_advisories_route",
    "bulk_advisory",
    "packument",
    "packument_path",
    "serve_npm_registry",
]


def packument(
    name: str,
    versions: Sequence[str],
    *,
    latest: str | None = None,
    deprecated: Mapping[str, str] | None = None,
    full: bool = False,
    times: Mapping[str, str] | None = None,
    registry_url: str = DEFAULT_REGISTRY_URL,
) -> dict[str, Any]:
    """A package's metadata: abbreviated (what an install asks for) or `full` (adds `time`;
    by default one release a week from 2024-01-01, in the order given)."""
    notes = deprecated or {}
    manifests = {}
    for version in versions:
        manifest: dict[str, Any] = {
            "name": name,
            "version": version,
            "dist": {
                "tarball": tarball_url(registry_url, name, version),
                "integrity": integrity_of(name, version),
            },
        }
        if version in notes:
            manifest["deprecated"] = notes[version]
        manifests[version] = manifest
    document: dict[str, Any] = {
        "name": name,
        "modified": "2025-01-01T00:00:00.000Z",
        "dist-tags": {"latest": latest or versions[-1]},
        "versions": manifests,
    }
    if full or times:
        start = date(2024, 1, 1)
        stamps = {v: f"{start + timedelta(weeks=i)}T12:00:00.000Z" for i, v in enumerate(versions)}
        document["time"] = {"created": stamps[versions[0]], **stamps, **(times or {})}
    return document


def bulk_advisory(
    advisory_id: int,
    vulnerable_versions: str,
    *,
    severity: str = "high",
    title: str | None = None,
    cve: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": advisory_id,
        "url": f"https://github.com/advisories/GHSA-test-{advisory_id}",
        "title": title or f"Test advisory {advisory_id}",
        "severity": severity,
        "vulnerable_versions": vulnerable_versions,
        "cwe": ["CWE-79"],
        "cvss": {"score": 7.5, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
    }
    if cve:
        entry["cves"] = [cve]
    return entry


def bulk_advisories_route(
    advisories: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Callable[[Request], Reply]:
    """Answer a bulk query with the advisories that hit at least one version asked for."""

    def answer(request: Request) -> Reply:
        try:
            asked = json.loads(request.body)
        except ValueError:
            return Reply("invalid JSON body", status=400)
        found = {}
        for name, versions in asked.items():
            hits = [
                dict(a)
                for a in advisories.get(name, ())
                if any(npm_satisfies(v, a["vulnerable_versions"]) for v in versions)
            ]
            if hits:
                found[name] = hits
        return Reply(json.dumps(found), headers={"Content-Type": "application/json"})

    return answer


def packument_path(name: str) -> str:
    return packument_url("", name)


def serve_npm_registry(
    server: FeedServer,
    *,
    packuments: Mapping[str, Mapping[str, Any]] | None = None,
    advisories: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    """Serve package metadata at `/<name>` and the bulk advisory endpoint; returns the base URL
    to configure as `sources.npm.url`. Unknown packages answer 404, as the registry does."""
    for name, document in (packuments or {}).items():
        server.routes[packument_path(name)] = Reply(
            json.dumps(document), headers={"Content-Type": "application/json"}
        )
    server.routes[BULK_ADVISORY_PATH] = bulk_advisories_route(advisories or {})
    return server.url

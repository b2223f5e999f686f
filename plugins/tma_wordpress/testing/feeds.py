"""Builders for vulnerability feed answers in their real formats (FORMATS.md "WordPress"),
written by us, never copied upstream.

Wordfence Intelligence (scanner feed):
- `wordfence_range(from, to, ...)` -> one `affected_versions` item (label, bounds);
- `wordfence_software(slug, ...)`, `wordfence_record(id, title, software, ...)`;
- `wordfence_route(records)`: a FeedServer route with a strong ETag that answers 304 to a
  matching If-None-Match; `serve_wordfence(server, records)` installs it at the real path and
  returns the URL for `sources.wordfence.url`.
WPScan v3:
- `wpscan_vulnerability(id, title, ...)`, `wpscan_component_answer(slug, vulns)`,
  `wpscan_core_answer(version, vulns)`;
- `serve_wpscan(server, token=..., plugins=..., themes=..., cores=...)` installs one route per
  slug/version that checks `Authorization: Token token=<token>` (401 otherwise); anything not
  installed answers 404 as WPScan does for an unknown slug. Returns `sources.wpscan.url`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tma_agent.testing.feeds import FeedServer, Reply, Request

__all__ = [
    "WORDFENCE_PATH",
    "WPSCAN_PREFIX",
    "serve_wordfence",
    "serve_wpscan",
    "wordfence_range",
    "wordfence_record",
    "wordfence_route",
    "wordfence_software",
    "wpscan_component_answer",
    "wpscan_core_answer",
    "wpscan_vulnerability",
]

WORDFENCE_PATH = "/api/intelligence/v2/vulnerabilities/scanner"
WPSCAN_PREFIX = "/api/v3"

AffectedRange = tuple[str, dict[str, Any]]


def wordfence_range(
    from_version: str = "*",
    to_version: str = "*",
    *,
    from_inclusive: bool = True,
    to_inclusive: bool = True,
) -> AffectedRange:
    """One `affected_versions` entry: the label Wordfence writes (`* - 4.0.2`) and its bounds."""
    bounds = {
        "from_version": from_version,
        "from_inclusive": from_inclusive,
        "to_version": to_version,
        "to_inclusive": to_inclusive,
    }
    return f"{from_version} - {to_version}", bounds


def wordfence_software(
    slug: str,
    affected: Sequence[AffectedRange],
    *,
    type: str = "plugin",
    patched_versions: Sequence[str] = (),
    name: str | None = None,
) -> dict[str, Any]:
    """One `software` entry; `patched` is true when `patched_versions` is not empty."""
    return {
        "type": type,
        "name": name or slug.replace("-", " ").title(),
        "slug": slug,
        "affected_versions": dict(affected),
        "patched": bool(patched_versions),
        "patched_versions": list(patched_versions),
        "remediation": (
            f"Update to version {patched_versions[0]}, or a newer patched version"
            if patched_versions
            else "No known patch available."
        ),
    }


def wordfence_record(
    vuln_id: str,
    title: str,
    software: Sequence[Mapping[str, Any]],
    *,
    cve: str | None = None,
    score: float = 6.1,
    rating: str = "Medium",
    informational: bool = False,
    published: str = "2024-02-23 00:00:00",
) -> dict[str, Any]:
    """One scanner-feed record (the object keyed by `vuln_id`)."""
    page = f"https://www.wordfence.com/threat-intel/vulnerabilities/id/{vuln_id}?source=api-scan"
    return {
        "id": vuln_id,
        "title": title,
        "software": [dict(s) for s in software],
        "informational": informational,
        "references": [page],
        "published": published,
        "cve": cve,
        "cve_link": f"https://www.cve.org/CVERecord?id={cve}" if cve else None,
        "cvss": {
            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            "score": score,
            "rating": rating,
        },
    }


def wordfence_route(records: Iterable[Mapping[str, Any]]) -> Callable[[Request], Reply]:
    """The feed as one JSON object keyed by id, served with an ETag and 304 revalidation."""
    body = json.dumps({r["id"]: r for r in records}).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'

    def answer(request: Request) -> Reply:
        sent = {k.lower(): v for k, v in request.headers.items()}
        if sent.get("if-none-match") == etag:
            return Reply(status=304, headers={"ETag": etag})
        return Reply(body, headers={"ETag": etag, "Content-Type": "application/json"})

    return answer


def serve_wordfence(server: FeedServer, records: Iterable[Mapping[str, Any]]) -> str:
    server.routes[WORDFENCE_PATH] = wordfence_route(records)
    return server.url + WORDFENCE_PATH


def wpscan_vulnerability(
    vuln_id: str,
    title: str,
    *,
    fixed_in: str | None = None,
    introduced_in: str | None = None,
    cve: Sequence[str] = (),
    score: str = "6.1",
    severity: str = "medium",
) -> dict[str, Any]:
    """One item of `vulnerabilities`; `cve` numbers are given without the `CVE-` prefix."""
    return {
        "id": vuln_id,
        "title": title,
        "created_at": "2024-01-10T09:00:00.000Z",
        "updated_at": "2024-01-12T09:00:00.000Z",
        "published_date": "2024-01-12T00:00:00.000Z",
        "vuln_type": "XSS",
        "references": {"url": [f"https://example.org/advisories/{vuln_id}"], "cve": list(cve)},
        "cvss": {
            "score": score,
            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            "severity": severity,
        },
        "verified": False,
        "fixed_in": fixed_in,
        "introduced_in": introduced_in,
    }


def wpscan_component_answer(
    slug: str, vulnerabilities: Sequence[Mapping[str, Any]], *, latest_version: str = "1.0"
) -> dict[str, Any]:
    return {
        slug: {
            "friendly_name": slug.replace("-", " ").title(),
            "latest_version": latest_version,
            "last_updated": "2024-01-12T00:00:00.000Z",
            "popular": True,
            "vulnerabilities": [dict(v) for v in vulnerabilities],
        }
    }


def wpscan_core_answer(
    version: str, vulnerabilities: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    return {
        version: {
            "release_date": "2023-05-16",
            "changelog_url": f"https://wordpress.org/documentation/wordpress-version/version-{version.replace('.', '-')}",
            "status": "insecure" if vulnerabilities else "latest",
            "vulnerabilities": [dict(v) for v in vulnerabilities],
        }
    }


def _authorized(token: str, payload: Mapping[str, Any]) -> Callable[[Request], Reply]:
    body = json.dumps(payload)

    def answer(request: Request) -> Reply:
        sent = {k.lower(): v for k, v in request.headers.items()}
        if sent.get("authorization") != f"Token token={token}":
            return Reply(json.dumps({"status": "Unauthorized"}), status=401)
        return Reply(body, headers={"Content-Type": "application/json"})

    return answer


def serve_wpscan(
    server: FeedServer,
    *,
    token: str,
    plugins: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    themes: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    cores: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> str:
    """Serve WPScan answers: slug (or core version) -> its vulnerabilities."""
    for kind, entries in (("plugins", plugins), ("themes", themes)):
        for slug, vulns in (entries or {}).items():
            route = _authorized(token, wpscan_component_answer(slug, vulns))
            server.routes[f"{WPSCAN_PREFIX}/{kind}/{slug}"] = route
    for version, vulns in (cores or {}).items():
        route = _authorized(token, wpscan_core_answer(version, vulns))
        server.routes[f"{WPSCAN_PREFIX}/wordpresses/{version.replace('.', '')}"] = route
    return server.url + WPSCAN_PREFIX

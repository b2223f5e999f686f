"""PrestaShop upstream answers in the real formats, for tests, demos and benches.

The distribution API's `/prestashop` array, the agency's module index and the advisories list
(formats in the `tma_prestashop` docstring), as Python data, files or routes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tma_agent.testing.feeds import FeedServer, Reply

__all__ = [
    "DISTRIBUTION_PATH",
    "advisory",
    "core_release",
    "distribution_answer",
    "module_release",
    "modules_index",
    "serve_distribution_api",
    "serve_json",
    "write_json",
]

DISTRIBUTION_PATH = "/prestashop"


def core_release(version: str, stability: str = "stable") -> dict[str, Any]:
    """One entry of the distribution API's `/prestashop` array."""
    base = "https://github.com/PrestaShop/PrestaShop/releases/download"
    php_max = "8.1" if not version.startswith("1.") else "7.4"
    return {
        "version": version,
        "stability": stability,
        "distribution": "open_source",
        "distribution_version": None,
        "php_min_version": "7.2.5",
        "php_max_version": php_max,
        "zip_download_url": f"{base}/{version}/prestashop_{version}.zip",
        "xml_download_url": f"{base}/{version}/prestashop_{version}.xml",
        "zip_md5": "0" * 32,
        "release_notes_url": f"https://build.prestashop-project.org/news/prestashop-{version}/",
    }


def distribution_answer(releases: Sequence[str | tuple[str, str]]) -> list[dict[str, Any]]:
    """`releases`: versions (stable) or `(version, stability)` pairs, in any order."""
    return [core_release(r) if isinstance(r, str) else core_release(*r) for r in releases]


def serve_distribution_api(server: FeedServer, releases: Sequence[str | tuple[str, str]]) -> str:
    """Answer `/prestashop` on `server`; returns the value for `sources.prestashop.url`."""
    server.routes[DISTRIBUTION_PATH] = Reply(
        json.dumps(distribution_answer(releases)), headers={"Content-Type": "application/json"}
    )
    return server.url


def module_release(
    version: str,
    *,
    date: str | None = "2024-05-02",
    ps_min: str | None = "1.7.8.0",
    ps_max: str | None = "9.99.99",
    url: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version}
    for key, value in (("date", date), ("ps_min", ps_min), ("ps_max", ps_max)):
        if value is not None:
            entry[key] = value
    entry["url"] = url or f"https://downloads.example.com/modules/{version}.zip"
    return entry


def modules_index(modules: Mapping[str, Sequence[str | Mapping[str, Any]]]) -> dict[str, Any]:
    """`modules`: name -> releases, each a version or a `module_release(...)` dict."""
    return {
        "modules": {
            name: {"versions": [module_release(r) if isinstance(r, str) else dict(r) for r in rels]}
            for name, rels in modules.items()
        }
    }


def advisory(
    module: str,
    versions: str,
    *,
    cve: str | None = None,
    severity: str = "critical",
    title: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """One advisory as the Friends-of-Presta front matter says it (see the package docstring)."""
    entry: dict[str, Any] = {"module": module, "versions": versions, "severity": severity}
    if cve:
        entry["cve"] = cve
    entry["title"] = title or f"Vulnerability in {module}"
    entry["url"] = url or f"https://security.friendsofpresta.org/modules/{module}.html"
    return entry


def write_json(path: str | Path, data: Any) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return target


def serve_json(server: FeedServer, path: str, data: Any) -> str:
    """Serve `data` at `path` on `server`; returns the full URL."""
    server.routes[path] = Reply(json.dumps(data), headers={"Content-Type": "application/json"})
    return server.url + path

"""Installable Composer releases for tests that run a real `composer update`: each release's
dist is a real zip served by the local FeedServer, with its real sha1 `shasum`, so Composer
downloads, verifies and unpacks it into vendor/ exactly as from a public repository.

`dist_release` builds one release (the p2 entry) and serves its zip; metapackages
(`type="metapackage"`, e.g. drupal/core-recommended, magento/product-community-edition) have
no dist at all, as upstream. Serve the releases with
`composer_trees.serve_composer_repository`; serving it again with more versions is a new
release being published.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from tma_agent.testing.composer_trees import release
from tma_agent.testing.feeds import FeedServer, Reply

__all__ = ["dist_release", "zip_of"]


def zip_of(top: str, files: Mapping[str, str]) -> bytes:
    """A zip with `files` under the folder `top/` (GitHub's archive layout)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(f"{top}/{name}", text)
    return buffer.getvalue()


def dist_release(
    server: FeedServer,
    name: str,
    version: str,
    *,
    files: Mapping[str, str] | None = None,
    require: Mapping[str, str] | None = None,
    type: str = "library",
    **fields: Any,
) -> dict[str, Any]:
    """One release of `name`; unless a metapackage, its zip (composer.json plus `files`) is
    served at `{server.url}/dists/{name}/{version}.zip`."""
    entry = release(name, version, require=require or {}, type=type, **fields)
    entry.pop("source")  # nothing to clone: Composer takes the dist
    entry.pop("autoload")  # no src/ in the zip
    if type == "metapackage":
        entry.pop("dist")
        return entry
    manifest = {"name": name, "type": type, "require": dict(require or {})}
    short = name.split("/", 1)[1]
    content = zip_of(
        f"{short}-{version}", {"composer.json": json.dumps(manifest), **dict(files or {})}
    )
    route = f"/dists/{name}/{version}.zip"
    server.routes[route] = Reply(content, headers={"Content-Type": "application/zip"})
    entry["dist"] = {
        "type": "zip",
        "url": server.url + route,
        "reference": entry["dist"]["reference"],
        "shasum": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
    }
    return entry

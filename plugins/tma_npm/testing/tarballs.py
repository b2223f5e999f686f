"""Installable npm packages for tests that run a real `npm install`: real tarballs
(`package/package.json` inside, as `npm pack` writes) with their real sha512 integrity, the
packument pointing at them, both served by the local FeedServer at the registry's paths.

A package may carry install scripts (`scripts={"postinstall": ...}`): the tests of
`--ignore-scripts` publish one whose script would leave a marker file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from typing import Any

from tma_agent.testing.feeds import FeedServer, Reply
from tma_npm.testing.answers import packument, packument_path
from tma_npm.testing.trees import tarball_url

__all__ = ["publish_package", "tarball"]


def tarball(manifest: Mapping[str, Any], files: Mapping[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    entries = {"package.json": json.dumps(manifest, indent=2), **dict(files or {})}
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in sorted(entries.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 499162500  # npm's fixed date
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def publish_package(
    server: FeedServer,
    name: str,
    versions: Mapping[str, Mapping[str, str]],
    *,
    latest: str | None = None,
) -> None:
    """Serve `name` with `versions` (version -> its install `scripts`, may be empty)."""
    document = packument(name, list(versions), latest=latest, registry_url=server.url)
    for version, scripts in versions.items():
        manifest: dict[str, Any] = {"name": name, "version": version, "main": "index.js"}
        if scripts:
            manifest["scripts"] = dict(scripts)
        content = tarball(manifest, {"index.js": f"module.exports = {json.dumps(version)};\n"})
        url = tarball_url(server.url, name, version)
        server.routes[url.removeprefix(server.url)] = Reply(
            content, headers={"Content-Type": "application/octet-stream"}
        )
        entry = document["versions"][version]
        entry["dist"] = {
            "tarball": url,
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(content).digest()).decode(),
            "shasum": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
        }
        if scripts:
            entry["scripts"] = dict(scripts)
            entry["hasInstallScript"] = True
    server.routes[packument_path(name)] = Reply(
        json.dumps(document), headers={"Content-Type": "application/json"}
    )

"""On-disk HTTP cache: the body and validators of each GET, so the next run can revalidate.

One file per request key, named by the key's SHA-256 (the key may carry a hash of auth
headers; the clear values never reach the disk). Files are written to a temp file and
renamed, so readers in other threads or processes see either the old or the new entry.
Anything unreadable is treated as a miss: a cache must never break a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

__all__ = ["CacheEntry", "DiskCache"]

_MAGIC = b"TMA-HTTP-CACHE 1\n"
#: Response headers not worth keeping: per-client or per-connection ones, and those that
#: describe the wire form of a body stored here already decoded.
_DROPPED = frozenset(
    {
        "set-cookie",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-encoding",
        "content-length",
    }
)

_log = structlog.get_logger()


@dataclass(frozen=True)
class CacheEntry:
    status: int
    body: bytes
    headers: Mapping[str, str]

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    def conditional_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


class DiskCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        return self.directory / hashlib.sha256(key.encode()).hexdigest()

    def load(self, key: str) -> CacheEntry | None:
        path = self.path_for(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.debug("http.cache_unreadable", file=path.name, error=type(exc).__name__)
            return None
        try:
            return _decode(raw)
        except (ValueError, KeyError, TypeError) as exc:
            _log.debug("http.cache_corrupt", file=path.name, error=type(exc).__name__)
            return None

    def store(self, key: str, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        kept = {k.lower(): v for k, v in headers.items() if k.lower() not in _DROPPED}
        meta = {
            "status": status,
            "headers": kept,
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        data = _MAGIC + json.dumps(meta).encode() + b"\n" + body
        path = self.path_for(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            # A full or read-only disk costs a revalidation next run, not this run's results.
            _log.debug("http.cache_write_failed", file=path.name, error=type(exc).__name__)
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _decode(raw: bytes) -> CacheEntry:
    if not raw.startswith(_MAGIC):
        raise ValueError("bad magic")
    meta_line, sep, body = raw[len(_MAGIC) :].partition(b"\n")
    if not sep:
        raise ValueError("truncated header")
    meta = json.loads(meta_line)
    # Size and digest catch a truncated or bit-rotted body that would otherwise be served.
    if len(body) != meta["size"] or hashlib.sha256(body).hexdigest() != meta["sha256"]:
        raise ValueError("body does not match its digest")
    headers = meta["headers"]
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise TypeError("headers")
    return CacheEntry(status=int(meta["status"]), body=body, headers=headers)

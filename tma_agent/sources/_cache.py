"""On-disk HTTP cache: the body and validators of each GET, so the next run can revalidate.

One file per request key, named by the key's SHA-256 (the key may carry a hash of auth
headers; the clear values never reach the disk). A body is spooled to a temp file as it
arrives (`.tmp-<pid>-*`) and renamed into place once whole, so readers in other threads or
processes see either the old or the new entry. A process killed mid-download leaves its
temp file behind: the next DiskCache on the directory removes temp files whose process is
gone, and any not written to for an hour (a PID reused, another machine's run).
Anything unreadable is treated as a miss: a cache must never break a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import structlog

from tma_agent._json import parse_json

__all__ = ["STALE_TEMP_SECONDS", "CacheEntry", "DiskCache", "Spool"]

#: Version 2 puts the metadata after the body, so a body can be written as it arrives.
_MAGIC = b"TMA-HTTP-CACHE 2\n"
_TRAILER = struct.Struct(">Q")  # length of the metadata JSON, last in the file
_TEMP_PREFIX = ".tmp-"
#: A temp file not written to for this long belongs to no live download.
STALE_TEMP_SECONDS = 3600.0
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
        self.removed_temp_files = _remove_stale_temp_files(self.directory)

    def spool(self, key: str) -> Spool | None:
        """A temp file for the body of `key` as it downloads; None if the disk refuses."""
        try:
            return Spool(self, key)
        except OSError as exc:
            _log.debug("http.cache_write_failed", error=type(exc).__name__)
            return None

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
        spool = self.spool(key)
        if spool is not None:
            spool.write(body)
            spool.commit(status, headers)


class Spool:
    """One cache entry being written: magic, the body chunk by chunk, then the metadata;
    renamed into place by `commit`, removed by `discard`. Disk errors only cost the entry."""

    def __init__(self, cache: DiskCache, key: str) -> None:
        self._final = cache.path_for(key)
        fd, self._tmp = tempfile.mkstemp(
            dir=cache.directory, prefix=f"{_TEMP_PREFIX}{os.getpid()}-"
        )
        self._file: IO[bytes] | None = os.fdopen(fd, "wb")
        self._digest = hashlib.sha256()
        self._size = 0
        self._write(_MAGIC)

    def restart(self) -> None:
        """Forget the body written so far (a retried download starts again)."""
        if self._file is not None:
            try:
                self._file.seek(len(_MAGIC))
                self._file.truncate()
            except OSError:
                self.discard()
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._write(chunk)
        self._digest.update(chunk)
        self._size += len(chunk)

    def commit(self, status: int, headers: Mapping[str, str]) -> None:
        kept = {k.lower(): v for k, v in headers.items() if k.lower() not in _DROPPED}
        meta = {
            "status": status,
            "headers": kept,
            "size": self._size,
            "sha256": self._digest.hexdigest(),
        }
        encoded = json.dumps(meta).encode()
        self._write(encoded + _TRAILER.pack(len(encoded)))
        if self._file is None:
            return
        try:
            self._file.close()
            self._file = None
            os.replace(self._tmp, self._final)
            self._tmp = ""  # renamed: nothing for `discard` to remove
        except OSError as exc:
            _log.debug("http.cache_write_failed", file=self._final.name, error=type(exc).__name__)
            self.discard()

    def discard(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self._tmp:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = ""

    def _write(self, data: bytes) -> None:
        if self._file is None:
            return
        try:
            self._file.write(data)
        except OSError as exc:
            # A full or read-only disk costs a revalidation next run, not this run's results.
            _log.debug("http.cache_write_failed", file=self._final.name, error=type(exc).__name__)
            self.discard()


def _remove_stale_temp_files(directory: Path) -> int:
    removed = 0
    now = time.time()
    try:
        candidates = [p for p in directory.iterdir() if p.name.startswith(_TEMP_PREFIX)]
    except OSError:
        return 0
    for path in candidates:
        try:
            stale = not _writer_alive(path.name) or now - path.stat().st_mtime > STALE_TEMP_SECONDS
            if stale:
                path.unlink()
                removed += 1
        except OSError:
            continue  # gone already (another run cleaned it), or not ours to remove
    if removed:
        _log.debug("http.cache_temp_removed", count=removed)
    return removed


def _writer_alive(name: str) -> bool:
    """Whether the process named in `.tmp-<pid>-...` still runs (unknown: assume it does)."""
    pid_text = name[len(_TEMP_PREFIX) :].partition("-")[0]
    if not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _decode(raw: bytes) -> CacheEntry:
    if not raw.startswith(_MAGIC) or len(raw) < len(_MAGIC) + _TRAILER.size:
        raise ValueError("bad magic")
    (meta_size,) = _TRAILER.unpack(raw[-_TRAILER.size :])
    meta_start = len(raw) - _TRAILER.size - meta_size
    if meta_start < len(_MAGIC):
        raise ValueError("truncated")
    meta = parse_json(raw[meta_start : -_TRAILER.size])
    body = raw[len(_MAGIC) : meta_start]
    # Size and digest catch a truncated or bit-rotted body that would otherwise be served.
    if len(body) != meta["size"] or hashlib.sha256(body).hexdigest() != meta["sha256"]:
        raise ValueError("body does not match its digest")
    headers = meta["headers"]
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise TypeError("headers")
    return CacheEntry(status=int(meta["status"]), body=body, headers=headers)

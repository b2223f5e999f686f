"""A download killed with SIGKILL leaves its temp file; the next run removes it, and the
cache still works. Real processes, a real kill, the local feed server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tma_agent.sources import Fetcher
from tma_agent.sources._cache import STALE_TEMP_SECONDS, DiskCache
from tma_agent.testing.feeds import FeedServer, Reply, Request

CHILD = """
import sys
from pathlib import Path
from tma_agent.sources import Fetcher

with Fetcher(cache_dir=Path(sys.argv[1]), timeout=120, retries=1) as fetcher:
    fetcher.get(sys.argv[2], max_bytes=64 * 1024 * 1024)
"""


def temp_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(".tmp-"))


def test_sigkill_mid_download_leaves_a_temp_file_the_next_run_removes(tmp_path: Path) -> None:
    cache_dir = tmp_path / "http-cache"
    big = b"x" * (16 * 1024 * 1024)
    with FeedServer() as server:
        # 64 KiB every 50 ms: about 13 s for the whole body, ample time to kill it midway.
        server.routes["/big"] = Reply(big, headers={"ETag": '"big"'}, drip=0.05, drip_bytes=65536)
        server.routes["/small"] = lambda request: (
            Reply(status=304, headers={"ETag": '"s"'})
            if request.headers.get("If-None-Match") == '"s"'
            else Reply(b'{"ok": true}', headers={"ETag": '"s"'})
        )
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(cache_dir), server.url + "/big"])
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                spooled = temp_files(cache_dir) if cache_dir.exists() else []
                if spooled and spooled[0].stat().st_size > 256 * 1024:
                    break
                assert child.poll() is None, "the download ended before it could be killed"
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        (left,) = temp_files(cache_dir)
        assert left.name.startswith(f".tmp-{child.pid}-")
        assert 256 * 1024 < left.stat().st_size < len(big)
        assert [p for p in cache_dir.iterdir() if p not in (left,)] == []  # nothing half-renamed

        with Fetcher(cache_dir=cache_dir) as second_run:
            assert temp_files(cache_dir) == []
            assert second_run.get(server.url + "/small").json() == {"ok": True}
        with Fetcher(cache_dir=cache_dir) as third_run:
            again = third_run.get(server.url + "/small")
            assert again.from_cache and again.json() == {"ok": True}
        assert temp_files(cache_dir) == []


def test_a_live_download_is_left_alone_an_abandoned_one_is_not(tmp_path: Path) -> None:
    mine = tmp_path / f".tmp-{os.getpid()}-live"
    mine.write_bytes(b"downloading")
    forgotten = tmp_path / f".tmp-{os.getpid()}-old"
    forgotten.write_bytes(b"a reused pid, two hours ago")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(forgotten, (old, old))
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = tmp_path / f".tmp-{finished.stdout.strip()}-dead"
    dead.write_bytes(b"killed")
    cache = DiskCache(tmp_path)
    assert cache.removed_temp_files == 2
    assert temp_files(tmp_path) == [mine]


def test_a_retry_restarts_the_spooled_body(tmp_path: Path, feed_server: FeedServer) -> None:
    answers = iter([Reply(b"partial", status=503), Reply(b"whole body", headers={"ETag": '"w"'})])

    def route(_: Request) -> Reply:
        return next(answers)

    feed_server.routes["/flaky"] = route
    with Fetcher(cache_dir=tmp_path, backoff=0.001) as fetcher:
        assert fetcher.get(feed_server.url + "/flaky").content == b"whole body"
    assert temp_files(tmp_path) == []
    feed_server.routes["/flaky"] = lambda r: Reply(status=304, headers={"ETag": '"w"'})
    with Fetcher(cache_dir=tmp_path) as fetcher:
        cached = fetcher.get(feed_server.url + "/flaky")
    assert cached.from_cache and cached.content == b"whole body"

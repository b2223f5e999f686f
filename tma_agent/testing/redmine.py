"""A real Redmine (Debian's `redmine` + `redmine-sqlite`) on 127.0.0.1 for tests.

Each server gets its own sqlite file in a tmp dir, copied from a snapshot of a database that was
migrated, given Redmine's default data and set up the way an agency admin would
(`redmine_setup.rb`). The snapshot is cached under a dir keyed by the Redmine package version and
the setup script, so only the first session pays for the migration (≈ 15 s); later ones start in
the server's own boot time (≈ 5 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["REDMINE_ROOT", "Redmine", "RedmineServer", "RedmineUnavailable", "snapshot_dir"]

REDMINE_ROOT = Path("/usr/share/redmine")
SETUP_SCRIPT = Path(__file__).with_name("redmine_setup.rb")
SETUP_MARKER = "TMA-REDMINE-SETUP "
DB_NAME = "redmine.sqlite3"
BOOT_TIMEOUT = 120.0
RAILS_SERVER = ("bundle", "exec", "rails", "server", "-b", "127.0.0.1")
# Debian's Gemfile has no web server; `rails server` needs one.
WRAPPER_GEMFILE = "eval_gemfile '/usr/share/redmine/Gemfile'\ngem 'webrick'\n"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedmineUnavailable(RuntimeError):
    """Redmine is not installed, or it failed to set up or boot (the message says which)."""


@dataclass(frozen=True)
class Redmine:
    """What a test needs to talk to the running Redmine as its admin."""

    url: str
    api_key: str
    fingerprint_field_id: int  # string field `TMA fingerprint`, used as a filter
    unfiltered_field_id: int  # string field NOT used as a filter: Redmine ignores cf_N= on it
    statuses: Mapping[str, int]  # the default ones + `Validated`
    trackers: Mapping[str, int]
    priorities: Mapping[str, int]
    default_activity_id: int
    version: str
    started_from: str  # "snapshot" (warm) or "migration" (cold: the snapshot was built first)
    start_seconds: float

    def headers(self, api_key: str | None = None) -> dict[str, str]:
        return {"X-Redmine-API-Key": self.api_key if api_key is None else api_key}

    def client(self, api_key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(api_key), timeout=30.0)


def _package_version() -> str:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "redmine"], capture_output=True, text=True
    )
    if proc.returncode != 0 or not REDMINE_ROOT.is_dir():
        raise RedmineUnavailable(
            "Redmine is not installed: run scripts/setup as root "
            "(Debian packages redmine redmine-sqlite ruby-webrick)"
        )
    return proc.stdout.strip()


def snapshot_dir() -> Path:
    """Where the set-up database is cached: one dir per Redmine version and setup script."""
    base = os.environ.get("TMA_REDMINE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tma-agent", "redmine"
    )
    script = hashlib.sha256(SETUP_SCRIPT.read_bytes()).hexdigest()[:12]
    return Path(base) / f"{_package_version()}-{script}"


class RedmineServer:
    """`start()` (or a context manager) boots Redmine on a free port; `stop()` kills its group."""

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache or snapshot_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="tma-redmine-"))
        self.log_path = self.dir / "redmine.log"
        self.port = 0
        self.info: Redmine | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}  # seconds per start-up phase, to keep the cost visible
        (self.dir / "Gemfile").write_text(WRAPPER_GEMFILE)
        self._env = {
            **os.environ,
            "BUNDLE_GEMFILE": str(self.dir / "Gemfile"),
            "RAILS_ENV": "production",
            # A writer waits for another (Puma serves requests on several threads) instead of
            # failing at once on a loaded machine.
            "DATABASE_URL": f"sqlite3:{self.dir / DB_NAME}?timeout=15000",
            "RAILS_LOG_TO_STDOUT": "1",
        }

    def _run(self, what: str, *args: str, timeout: float = 300.0) -> str:
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"== {what}: {' '.join(args)}\n".encode())
        try:
            proc = subprocess.run(
                list(args),
                cwd=REDMINE_ROOT,
                env=self._env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RedmineUnavailable(f"Redmine {what} failed (log {self.log_path}): {exc}") from exc
        self.timings[what] = round(time.monotonic() - began, 1)
        with self.log_path.open("a") as log:
            log.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise RedmineUnavailable(
                f"Redmine {what} failed (log {self.log_path}): {' | '.join(tail)}"
            )
        return proc.stdout

    def _build_snapshot(self) -> dict[str, Any]:
        """Migrate, load the default data, run the admin's setup; publish the result atomically."""
        self._run("migration", "bundle", "exec", "rake", "db:migrate", "SCHEMA=/dev/null")
        # In the migration's own process the loader fails yet exits 0: it needs a process of its own.
        loader = 'Redmine::DefaultData::Loader.load("en") unless Tracker.exists?'
        self._run("default data", "bundle", "exec", "rails", "runner", loader)
        out = self._run("setup", "bundle", "exec", "rails", "runner", str(SETUP_SCRIPT))
        lines = [line for line in out.splitlines() if line.startswith(SETUP_MARKER)]
        if not lines:
            raise RedmineUnavailable(f"Redmine setup printed no result (log {self.log_path})")
        setup: dict[str, Any] = json.loads(lines[-1][len(SETUP_MARKER) :])
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=self.cache.parent))
        shutil.copy2(self.dir / DB_NAME, staging / DB_NAME)
        (staging / "setup.json").write_text(json.dumps(setup))
        try:
            staging.rename(self.cache)
        except OSError:  # another session published it first: theirs is as good
            shutil.rmtree(staging, ignore_errors=True)
        return setup

    def start(self) -> Redmine:
        began = time.monotonic()
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RedmineUnavailable(f"cannot make the Redmine snapshot cache: {exc}") from exc
        self._run("bundle install", "bundle", "install", "--local", "--quiet")
        if (self.cache / "setup.json").is_file() and (self.cache / DB_NAME).is_file():
            started_from = "snapshot"
            shutil.copy2(self.cache / DB_NAME, self.dir / DB_NAME)
            setup = json.loads((self.cache / "setup.json").read_text())
        else:
            started_from = "migration"
            setup = self._build_snapshot()
        self.port = _free_port()
        url = f"http://127.0.0.1:{self.port}"
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [*RAILS_SERVER, "-p", str(self.port), "-P", str(self.dir / "server.pid")],
                cwd=REDMINE_ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches bundle's child
            )
        booting = time.monotonic()
        self._wait_ready(self._proc, url, str(setup["api_key"]))
        self.timings["boot"] = round(time.monotonic() - booting, 1)
        self.info = Redmine(
            url=url,
            api_key=str(setup["api_key"]),
            fingerprint_field_id=int(setup["fingerprint_field_id"]),
            unfiltered_field_id=int(setup["unfiltered_field_id"]),
            statuses=dict(setup["statuses"]),
            trackers=dict(setup["trackers"]),
            priorities=dict(setup["priorities"]),
            default_activity_id=int(setup["default_activity_id"]),
            version=str(setup["version"]),
            started_from=started_from,
            start_seconds=round(time.monotonic() - began, 1),
        )
        return self.info

    def _wait_ready(self, proc: subprocess.Popen[bytes], url: str, api_key: str) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RedmineUnavailable(
                    f"Redmine exited with {proc.returncode} while booting (log {self.log_path})"
                )
            try:
                answer = httpx.get(
                    f"{url}/users/current.json", headers={"X-Redmine-API-Key": api_key}, timeout=5
                )
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RedmineUnavailable(
            f"Redmine did not answer in {BOOT_TIMEOUT:.0f} s (log {self.log_path})"
        )

    def memory_kib(self) -> int:
        """Resident memory of the server's process group (ps), to keep the fixture's cost visible."""
        if self._proc is None:
            return 0
        ps = subprocess.run(
            ["ps", "-o", "rss=", "-g", str(self._proc.pid)], capture_output=True, text=True
        )
        return sum(int(field) for field in ps.stdout.split() if field.isdigit())

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=15)
            except ProcessLookupError:
                pass
        self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Redmine:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

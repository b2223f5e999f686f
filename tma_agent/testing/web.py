"""`tma serve` for tests: the real command in a subprocess on a free port of 127.0.0.1 (real
uvicorn), and an httpx client that logs in through the real form (CSRF token included)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tma_agent.testing.cli import TMA, _environment

__all__ = ["csrf_of", "free_port", "logged_in", "served"]

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def free_port(host: str = "127.0.0.1") -> int:
    """A port of `host` free now (for a config that must name it before `served`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(
    config: Path, *, port: int | None = None, host: str = "127.0.0.1", timeout: float = 30
) -> Iterator[str]:
    """`tma --config CONFIG serve --host HOST --port P` running (P: `port`, else a free one,
    another if something took it before `tma serve` could); yields its base URL; stopped
    (SIGTERM, then killed) at the end. Its output goes to `serve.log` beside the config."""
    for attempt in range(3):
        bound = port or free_port(host)
        try:
            process = _start(config, host, bound, timeout)
            break
        except _PortTaken:
            if port is not None or attempt == 2:
                raise
    try:
        yield _url(host, bound)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _url(host: str, port: object) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _PortTaken(RuntimeError):
    """Something took the free port before `tma serve` could bind it."""


def _start(config: Path, host: str, port: int, timeout: float) -> subprocess.Popen[bytes]:
    """The process once it answers; RuntimeError with the last line of its log if it stops."""
    log_path = config.parent / "serve.log"
    with log_path.open("ab") as log:
        start = log.tell()
        process = subprocess.Popen(
            [*TMA, "--config", str(config), "serve", "--host", host, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_environment(None),
        )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            with log_path.open("rb") as log:
                log.seek(start)
                lines = log.read().decode(errors="replace").strip().splitlines()
            last = lines[-1] if lines else "no output"
            problem = _PortTaken if "address already in use" in last else RuntimeError
            raise problem(f"tma serve exited {process.returncode}: {last}")
        try:
            httpx.get(f"{_url(host, port)}/login", timeout=1)
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=10)
                raise RuntimeError(f"tma serve did not answer in {timeout} s") from None
            time.sleep(0.1)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise AssertionError("no CSRF token in the page")
    return found.group(1)


@contextmanager
def logged_in(url: str, name: str, password: str) -> Iterator[httpx.Client]:
    """A client with the session cookie of `name`, logged in through the form."""
    with httpx.Client(base_url=url, timeout=10) as client:
        token = csrf_of(client.get("/login").text)
        done = client.post("/login", data={"name": name, "password": password, "csrf": token})
        if done.status_code != 303:
            raise AssertionError(f"log-in of {name} answered {done.status_code}")
        yield client

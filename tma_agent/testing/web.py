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


def free_port() -> int:
    """A port of 127.0.0.1 free now (for a config that must name it before `served`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(config: Path, *, port: int | None = None, timeout: float = 30) -> Iterator[str]:
    """`tma --config CONFIG serve --port P` running (P: `port`, else a free one); yields its
    base URL; stopped (SIGTERM, then killed) at the end. Its output goes to `serve.log` beside
    the config."""
    port = port or free_port()
    log = (config.parent / "serve.log").open("ab")
    process = subprocess.Popen(
        [*TMA, "--config", str(config), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_environment(None),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tma serve exited {process.returncode}: see {log.name}")
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tma serve did not answer in {timeout} s") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


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

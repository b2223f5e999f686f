"""pytest fixtures: `fake_github` (a started `FakeGitHub`) and `github_backend` (a factory of
`GitHubBackend`s talking to it, short timeouts). Load them with
`pytest_plugins = ["tma_github.testing.fixtures"]` in a conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tma_agent.http_settings import HTTPSettings
from tma_agent.plugin_settings import typed_settings
from tma_agent.tickets import BackendContext
from tma_github.backend import GitHubBackend
from tma_github.settings import GitHubSettings
from tma_github.testing.fake import FakeGitHub

__all__ = ["fake_github", "github_backend"]


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def github_backend(fake_github: FakeGitHub) -> Iterator[Callable[..., GitHubBackend]]:
    """`github_backend(**keys)`: a backend on the fake; keys override the `tickets:` block."""
    made: list[GitHubBackend] = []

    def make(**keys: Any) -> GitHubBackend:
        timeout = keys.pop("timeout", 1.5)
        raw = {
            "backend": "github",
            "url": fake_github.url,
            "token": fake_github.token,
            "project": fake_github.repo,
            **keys,
        }
        settings = typed_settings(GitHubSettings, raw, "tickets")
        http = HTTPSettings(timeout=timeout, retries=2)
        backend = GitHubBackend(BackendContext(settings, http))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close_connection()

"""pytest fixtures: `fake_gitlab` (a started `FakeGitLab`) and `gitlab_backend` (a factory of
`GitLabBackend`s talking to it, short timeouts). Load them with
`pytest_plugins = ["tma_gitlab.testing.fixtures"]` in a conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tma_agent.http_settings import HTTPSettings
from tma_agent.plugin_settings import typed_settings
from tma_agent.tickets import BackendContext
from tma_gitlab.backend import GitLabBackend
from tma_gitlab.settings import GitLabSettings
from tma_gitlab.testing.fake import FakeGitLab

__all__ = ["fake_gitlab", "gitlab_backend"]


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def gitlab_backend(fake_gitlab: FakeGitLab) -> Iterator[Callable[..., GitLabBackend]]:
    """`gitlab_backend(**keys)`: a backend on the fake; keys override the `tickets:` block."""
    made: list[GitLabBackend] = []

    def make(**keys: Any) -> GitLabBackend:
        timeout = keys.pop("timeout", 1.5)
        raw = {
            "backend": "gitlab",
            "url": fake_gitlab.url,
            "token": fake_gitlab.token,
            "project": fake_gitlab.project.path,
            **keys,
        }
        settings = typed_settings(GitLabSettings, raw, "tickets")
        http = HTTPSettings(timeout=timeout, retries=2)
        backend = GitLabBackend(BackendContext(settings, http))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close_connection()

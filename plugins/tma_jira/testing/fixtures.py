"""pytest fixtures of a local Jira Cloud: `fake_jira` (a started `FakeJira`, project TMA) and
`jira_backend` (the `jira` backend pointed at it, short timeouts).

Load them with `pytest_plugins = ["tma_jira.testing.fixtures"]` in a conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tma_agent.http_settings import HTTPSettings
from tma_agent.tickets import BackendContext
from tma_jira.backend import JiraBackend
from tma_jira.settings import JiraSettings
from tma_jira.testing.fake import FakeJira

__all__ = ["fake_jira", "jira_backend", "jira_backend_for"]


def jira_backend_for(fake: FakeJira, *, timeout: float = 2.0, **keys: Any) -> JiraBackend:
    """A backend for `fake`; `keys` are more `tickets:` keys (`search_lag`, `priorities`)."""
    values = {"url": fake.url, "user": fake.email, "token": fake.token,
              "project": fake.state.project, "search_lag": 2.5, **keys}  # fmt: skip
    settings = JiraSettings(backend="jira", **values)
    return JiraBackend(BackendContext(settings, HTTPSettings(timeout=timeout, retries=2)))


@pytest.fixture
def fake_jira() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


@pytest.fixture
def jira_backend(fake_jira: FakeJira) -> Iterator[JiraBackend]:
    backend = jira_backend_for(fake_jira)
    yield backend
    backend.close_connection()

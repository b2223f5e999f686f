"""pytest fixtures: `fake_github` (a started `FakeGitHub`) and `github_backend` (a factory of
`GitHubBackend`s talking to it, short timeouts: `github_backend(**keys)`, keys override the
`tickets:` block). Load them with `pytest_plugins = ["tma_github.testing.fixtures"]` in a
conftest.py.
"""

from __future__ import annotations

from tma_agent.testing.forge_fakes import backend_fixtures
from tma_github.backend import GitHubBackend
from tma_github.settings import GitHubSettings
from tma_github.testing.fake import FakeGitHub

__all__ = ["fake_github", "github_backend"]

fake_github, github_backend = backend_fixtures(
    "github", FakeGitHub, GitHubBackend, GitHubSettings, lambda fake: fake.repo
)

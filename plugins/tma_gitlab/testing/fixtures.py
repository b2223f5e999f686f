"""pytest fixtures: `fake_gitlab` (a started `FakeGitLab`) and `gitlab_backend` (a factory of
`GitLabBackend`s talking to it, short timeouts: `gitlab_backend(**keys)`, keys override the
`tickets:` block). Load them with `pytest_plugins = ["tma_gitlab.testing.fixtures"]` in a
conftest.py.
"""

from __future__ import annotations

from tma_agent.testing.forge_fakes import backend_fixtures
from tma_gitlab.backend import GitLabBackend
from tma_gitlab.settings import GitLabSettings
from tma_gitlab.testing.fake import FakeGitLab

__all__ = ["fake_gitlab", "gitlab_backend"]

fake_gitlab, gitlab_backend = backend_fixtures(
    "gitlab", FakeGitLab, GitLabBackend, GitLabSettings, lambda fake: fake.project.path
)

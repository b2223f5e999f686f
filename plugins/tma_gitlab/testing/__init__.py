"""Testing helpers of the GitLab backend: `FakeGitLab` (a stateful local GitLab API) and pytest
fixtures (`tma_gitlab.testing.fixtures`: `fake_gitlab`, `gitlab_backend`)."""

from __future__ import annotations

from tma_gitlab.testing._project import Project
from tma_gitlab.testing.fake import FakeGitLab

__all__ = ["FakeGitLab", "Project"]

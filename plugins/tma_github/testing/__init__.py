"""Testing helpers of the GitHub backend: `FakeGitHub` (a stateful local GitHub API),
`rate_limited()` (its rate-limit answer, to queue with `fail()`) and pytest fixtures
(`tma_github.testing.fixtures`: `fake_github`, `github_backend`)."""

from __future__ import annotations

from tma_github.testing.fake import FakeGitHub, rate_limited

__all__ = ["FakeGitHub", "rate_limited"]

"""What the issue-tracking forges' backends share (`tma_gitlab`, `tma_github`; the upload
helpers serve `tma_jira` too): each plugin keeps only what its API does differently.

Light on purpose: `settings` imports no HTTP client (the configuration loads it); `wire` and
`uploads` are imported by the backends, when a run needs them.
"""

from __future__ import annotations

__all__: list[str] = []

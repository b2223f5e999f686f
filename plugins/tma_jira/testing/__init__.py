"""Test helpers for the Jira backend that other suites may reuse: `fake.FakeJira` (a local
Jira Cloud speaking REST API v3), `adf_schema.adf_problems`, and pytest fixtures in
`fixtures` (load them with `pytest_plugins = ["tma_jira.testing.fixtures"]`)."""

from __future__ import annotations

__all__: list[str] = []

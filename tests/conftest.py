"""The suite's fixtures, loaded here by name: installing tma-agent loads no pytest plugin."""

from __future__ import annotations

pytest_plugins = [
    "tma_agent.testing.pytest_plugin",
    "tma_agent.testing.postgres",
    "tma_drupal.testing.fixtures",
    "tma_webhook.testing.fixtures",
    "tma_gitlab.testing.fixtures",
    "tma_github.testing.fixtures",
    "tma_jira.testing.fixtures",
]

"""The pytest plugin tma-agent ships: fixtures that start real servers (`feed_server`,
`fetcher`, `sshd`, `ssh_host`, `redmine`, `redmine_project`, `mariadb`).

Nothing loads it on its own: a test suite asks for it in its conftest.py with
`pytest_plugins = ["tma_agent.testing.pytest_plugin"]`, and likewise for a stack's fixtures
(`tma_drupal.testing.fixtures`).
"""

from __future__ import annotations

from tma_agent.testing.fixtures_feeds import *  # noqa: F403
from tma_agent.testing.fixtures_redmine import *  # noqa: F403
from tma_agent.testing.fixtures_ssh import *  # noqa: F403
from tma_agent.testing.mariadb import mariadb  # noqa: F401

"""The pytest plugin tma-agent ships (entry point `pytest11`): fixtures that start real servers.

Stack plugins ship their own tree-building fixtures the same way (their own `pytest11` entry).
"""

from __future__ import annotations

from tma_agent.testing.fixtures_feeds import *  # noqa: F403
from tma_agent.testing.fixtures_ssh import *  # noqa: F403

from __future__ import annotations

from tma_agent.cli import main

main()

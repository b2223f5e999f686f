"""`tma report monthly|validate`: commands of the `report` group (tma_agent.cli_billing)."""

from __future__ import annotations

__all__: list[str] = []

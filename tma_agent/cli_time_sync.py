"""`tma time reconcile`: the ledger's interventions against the ticket system's time entries
(a command of the `time` group, tma_agent.cli_billing)."""

from __future__ import annotations

__all__: list[str] = []

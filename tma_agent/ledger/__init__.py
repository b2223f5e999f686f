"""The ledger: the agent's own database (requests, ticket outbox, runs, leases).

Importing this package pulls in SQLAlchemy; the CLI imports it only inside the commands that
use it, so `tma --version` and `tma --help` stay light.
"""

from __future__ import annotations

from tma_agent.ledger.database import Ledger, make_engine, open_ledger
from tma_agent.ledger.migrate import LedgerStatus, ledger_status, upgrade_ledger

__all__ = [
    "Ledger",
    "LedgerStatus",
    "ledger_status",
    "make_engine",
    "open_ledger",
    "upgrade_ledger",
]

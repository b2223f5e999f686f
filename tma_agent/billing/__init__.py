"""Billing: interventions (billable time, `billing.record`), the rules that bill them
(`billing.rules`), contract buckets (`billing.bucket`, `billing.periods`) and the monthly
report a client validates. Minutes are integers; money is Decimal.

Light on purpose: the configuration imports the settings from here, so nothing that imports
the configuration is imported by this module.
"""

from __future__ import annotations

from tma_agent.billing.settings import BillingSettings, CarryOver, Contract, FlatRule

__all__ = ["BillingSettings", "CarryOver", "Contract", "FlatRule"]

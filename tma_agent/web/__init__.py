"""`tma serve`: the agency's dashboard, the client portal and the ticket-system webhooks.

Importing this package stays light (the configuration imports `tma_agent.web.settings`); the
server itself is `tma_agent.web.app.create_app`, imported by `tma serve` only.
"""

from __future__ import annotations

__all__: list[str] = []

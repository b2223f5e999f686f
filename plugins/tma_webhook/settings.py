"""The `tickets:` block of the webhook backend."""

from __future__ import annotations

from pydantic import Field

from tma_agent.tickets import TicketSettings

__all__ = ["WebhookSettings"]


class WebhookSettings(TicketSettings):
    """`url` receives every ticket write as a signed JSON POST; `secret` signs it."""

    #: Where every delivery is POSTed (n8n, Zapier, an in-house endpoint).
    url: str
    #: The HMAC-SHA256 key the receiver shares: write it `{$env: NAME}`. 16 characters at the
    #: least (`openssl rand -hex 32` makes a good one): a short key can be guessed offline
    #: from one captured delivery.
    secret: str = Field(min_length=16)

"""Signed, expiring log-in links for client accounts (`tma users link NAME`): the agency
mails one with the month's report; opening it logs the client in, for its own client only.

The token is the account name signed with `web.secret_key` (itsdangerous, its own salt) and
a timestamp; it stops working after `--hours`, when the account leaves `web.users` or stops
being a client account, and for every link at once when `secret_key` changes."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["LINK_PATH", "make_link_token", "read_link_token"]

LINK_PATH = "/link/"
_SALT = "tma-portal-link"


def make_link_token(secret_key: str, name: str, hours: int) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps({"user": name, "hours": hours})


def read_link_token(secret_key: str, token: str) -> str | None:
    """The account name of a valid, unexpired link, else None."""
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
    try:
        # The longest life a link may ask for; its own `hours` is checked below.
        data, signed_at = serializer.loads(token, max_age=24 * 3600 * 31, return_timestamp=True)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str):
        return None
    hours = data.get("hours")
    if not isinstance(hours, int):
        return None
    from datetime import UTC, datetime

    if (datetime.now(UTC) - signed_at).total_seconds() > hours * 3600:
        return None
    name: str = data["user"]
    return name

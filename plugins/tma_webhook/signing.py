"""How a webhook delivery is signed, and how a receiver checks it (the receiver in
`tma_webhook.testing.receiver` and the Python snippet in docs/tickets.md do exactly this).

The signed string is `<X-TMA-Timestamp>.<body bytes>`, as Stripe does it rather than GitHub's
body alone: a receiver that bounds the timestamp then refuses an old delivery replayed by
whoever saw it pass, and the timestamp cannot be changed without breaking the signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_SECONDS",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-TMA-Signature"
TIMESTAMP_HEADER = "X-TMA-Timestamp"
DELIVERY_HEADER = "X-TMA-Delivery"
EVENT_HEADER = "X-TMA-Event"
#: How far from its own clock a receiver should accept a timestamp (both ways: clock skew).
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-TMA-Signature` value: `sha256=` and the hex HMAC-SHA256 of `timestamp.body`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> str | None:
    """None when `body` with these headers was signed with `secret` within `tolerance`
    seconds of `now`; otherwise why not (for the receiver's 401 answer)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not signature:
        return f"no {SIGNATURE_HEADER} header"
    if not timestamp.isdigit():
        return f"no {TIMESTAMP_HEADER} header (Unix seconds)"
    if abs(now - int(timestamp)) > tolerance:
        return f"{TIMESTAMP_HEADER} is more than {tolerance:g} s away from the receiver's clock"
    # compare_digest: the time taken must not tell an attacker how many characters matched.
    expected = sign(secret, timestamp, body).encode()
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        return "signature does not match (another secret, or a body changed on the way)"
    return None

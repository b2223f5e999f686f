"""The secret values of a run, and `mask()` to keep them out of anything a user sees.

A module with no imports from the agent, so `errors` can mask every TmaError as it is built
and the output, the logs and the configuration all share one registry.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

__all__ = ["MASK", "known_secrets", "mask", "mask_tree", "remember_secret"]

MASK = "***"
#: Shorter values would shred every message (`dev`, `80`): not masked.
_MIN_LENGTH = 4
#: `scheme://user:password@`: the password goes, even in a URL the configuration wrote in
#: clear or a server echoed back.
_USERINFO_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*):[^\s/?#@]*@")

_secrets: tuple[str, ...] = ()
_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Mask `value` from now on. A URL is mostly an address, not a secret: only its
    userinfo (the password, or a token given as user name) and its query are remembered,
    so errors still say which server failed."""
    global _secrets
    parts = _secret_parts(value)
    # Percent-encoded forms too: a secret put in a URL or a form may be shown encoded.
    found = {form for part in parts for form in (part, quote(part, safe=""))}
    found = {form for form in found if len(form) >= _MIN_LENGTH}
    if not found:
        return
    with _lock:
        # Longest first, so a secret that contains another is replaced whole.
        _secrets = tuple(sorted(set(_secrets) | found, key=len, reverse=True))


def known_secrets() -> frozenset[str]:
    return frozenset(_secrets)


def mask(text: str) -> str:
    """`text` with every remembered secret and every URL password replaced by `***`."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "://" in text:
        text = _USERINFO_PASSWORD.sub(rf"\1:{MASK}@", text)
    return text


def mask_tree(data: object) -> object:
    """A copy of JSON-like `data` (dicts, lists, strings) with every string masked."""
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, dict):
        return {key: mask_tree(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [mask_tree(value) for value in data]
    return data


def _secret_parts(value: str) -> Iterable[str]:
    if "://" not in value or any(c.isspace() for c in value):
        return (value,)
    try:
        url = urlsplit(value)
        # Reading the port validates it: a value that only looks like a URL is masked whole.
        url.port  # noqa: B018
    except ValueError:
        return (value,)
    if not url.scheme or not url.netloc:
        return (value,)
    parts = [url.query] if url.query else []
    if url.password:
        parts.append(url.password)
    elif url.username:
        parts.append(url.username)
    return parts

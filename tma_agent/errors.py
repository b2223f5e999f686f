"""Errors a user can cause or meet; the CLI turns each into one clear line, never a traceback."""

from __future__ import annotations

from tma_agent._masking import mask

__all__ = [
    "ConfigError",
    "FeedError",
    "HostError",
    "HostKeyError",
    "SiteTreeError",
    "TmaError",
    "UnreachableError",
]


class TmaError(Exception):
    """Base of every error the agent reports to the user as a message. Secrets are masked
    as the error is built, so no later printing, report or re-raise can show them."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask(arg) if isinstance(arg, str) else arg for arg in args))


class ConfigError(TmaError):
    """The configuration file is missing, unreadable or invalid (message names file:line)."""


class HostError(TmaError):
    """A command or file operation on a site's host failed."""


class UnreachableError(HostError):
    """The host could not be reached or authenticated: the site is reported `unreachable`."""


class HostKeyError(UnreachableError):
    """The SSH host key is unknown or changed; the message names host and fingerprint."""


class FeedError(TmaError):
    """An upstream feed or API answered badly (HTTP error, timeout, garbage, too large)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = mask(url)
        self.reason = mask(reason)


class SiteTreeError(TmaError):
    """The site's files are not what its stack expects (missing or unparsable files)."""

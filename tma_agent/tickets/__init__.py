"""Tickets: the backend protocol, the ticket settings, and (in `outbox`, `plan`, `run`) how
requests reach the agency's ticket system exactly once. Each backend is a plugin.

Light on purpose (no HTTP client imported): the configuration imports the settings from here.
"""

from __future__ import annotations

from tma_agent.tickets._backend import Attacher, BackendContext, BackendInfo, TicketBackend
from tma_agent.tickets._time import (
    TIME_DELIVERY_PREFIX,
    NoTicketToLogOn,
    RemoteTimeEntry,
    TimeEntry,
    TimeKeeper,
    intervention_of,
    time_comment,
)
from tma_agent.tickets._types import (
    MARKER_PREFIX,
    Meaning,
    Priority,
    RemoteTicket,
    TicketDraft,
    TicketError,
    TicketFile,
    TicketRefused,
    TicketUnavailable,
    marker_line,
)
from tma_agent.tickets.settings import StatusMap, TicketSettings

__all__ = [
    "MARKER_PREFIX",
    "TIME_DELIVERY_PREFIX",
    "Attacher",
    "BackendContext",
    "BackendInfo",
    "Meaning",
    "NoTicketToLogOn",
    "Priority",
    "RemoteTicket",
    "RemoteTimeEntry",
    "StatusMap",
    "TicketBackend",
    "TicketDraft",
    "TicketError",
    "TicketFile",
    "TicketRefused",
    "TicketSettings",
    "TicketUnavailable",
    "TimeEntry",
    "TimeKeeper",
    "intervention_of",
    "marker_line",
    "time_comment",
]

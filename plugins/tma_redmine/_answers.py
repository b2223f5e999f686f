"""Reading Redmine's JSON answers as hostile input: a missing key or a wrong type is a garbled
answer (`TicketUnavailable`, retried later), never a KeyError or a TypeError."""

from __future__ import annotations

from typing import Any

from tma_agent.tickets import TicketUnavailable

__all__ = ["BACKEND", "garbled", "int_of", "list_of", "obj_of", "str_of"]

BACKEND = "redmine"


def garbled(url: str, what: str) -> TicketUnavailable:
    return TicketUnavailable(BACKEND, url, f"unexpected answer: {what}")


def obj_of(value: Any, key: str, url: str) -> dict[str, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, dict):
        raise garbled(url, f"no object {key!r}")
    return found


def list_of(value: Any, key: str, url: str) -> list[dict[str, Any]]:
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise garbled(url, f"no list of objects {key!r}")
    return found


def int_of(value: Any, key: str, url: str) -> int:
    found = value.get(key) if isinstance(value, dict) else None
    # bool is an int to Python, never an id to Redmine.
    if not isinstance(found, int) or isinstance(found, bool):
        raise garbled(url, f"no integer {key!r}")
    return found


def str_of(value: Any, key: str, url: str) -> str:
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, str):
        raise garbled(url, f"no string {key!r}")
    return found

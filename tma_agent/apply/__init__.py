"""The apply engine (the lead's core replaces this placeholder on merge)."""

from __future__ import annotations

__all__: list[str] = []

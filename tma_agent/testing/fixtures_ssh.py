"""Fixtures for a real OpenSSH sshd (owned by the hosts work)."""

from __future__ import annotations

__all__: list[str] = []

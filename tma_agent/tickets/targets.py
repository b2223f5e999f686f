"""The run's ticket backends: one object per distinct ticket configuration (global, or a
client's override), built on first use and closed at the end."""

from __future__ import annotations

from collections.abc import Mapping

from tma_agent.config import Config
from tma_agent.ledger.models import Request
from tma_agent.tickets._backend import BackendInfo, TicketBackend
from tma_agent.tickets.registry import TicketTarget, build_backend, ticket_target
from tma_agent.tickets.settings import StatusMap, TicketSettings

__all__ = ["Backends"]


class Backends:
    def __init__(self, config: Config, registry: Mapping[str, BackendInfo]) -> None:
        self.config = config
        self.registry = registry
        self._built: dict[str, tuple[BackendInfo, TicketBackend]] = {}

    def target(self, client: str) -> TicketTarget:
        return ticket_target(self.config, client)

    def settings(self, client: str) -> TicketSettings:
        target = self.target(client)
        return target.settings(self.registry[target.backend])

    def backend(self, client: str) -> tuple[str, BackendInfo, TicketBackend]:
        target = self.target(client)
        if target.key not in self._built:
            self._built[target.key] = build_backend(self.config, target, self.registry)
        info, backend = self._built[target.key]
        return target.key, info, backend

    def for_request(self, request: Request) -> tuple[str, TicketBackend]:
        key, _, backend = self.backend(request.client)
        return key, backend

    def target_of(self, request: Request) -> tuple[str, BackendInfo, TicketBackend, StatusMap]:
        key, info, backend = self.backend(request.client)
        return key, info, backend, self.settings(request.client).statuses

    def close(self) -> None:
        for _, backend in self._built.values():
            backend.close_connection()
        self._built.clear()

"""Ticket backends by name (`tma_register_ticket_backends`), and the backend of each client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tma_agent.errors import ConfigError
from tma_agent.tickets._backend import BackendContext, BackendInfo, TicketBackend
from tma_agent.tickets._types import Meaning
from tma_agent.tickets.settings import StatusMap, TicketsBlock, TicketSettings

if TYPE_CHECKING:
    import pluggy

    from tma_agent.config import Config

__all__ = [
    "DEFAULT_BACKEND",
    "TicketTarget",
    "build_backend",
    "meaning_of",
    "registered_ticket_backends",
    "ticket_config_problems",
    "ticket_target",
]

DEFAULT_BACKEND = "ledger"


def registered_ticket_backends(pm: pluggy.PluginManager) -> dict[str, BackendInfo]:
    backends: dict[str, BackendInfo] = {}

    def register(info: BackendInfo) -> None:
        if info.name in backends:
            raise ConfigError(f"two plugins register the ticket backend {info.name!r}")
        backends[info.name] = info

    pm.hook.tma_register_ticket_backends(register=register)
    return backends


class TicketTarget:
    """The ticket configuration a client's requests go to: the global `tickets` block with the
    client's `tickets` keys over it (a client naming another `backend` replaces it whole)."""

    def __init__(self, where: str, raw: Mapping[str, Any], loc: tuple[str | int, ...]) -> None:
        self.where = where
        self.raw = dict(raw)
        self.loc = loc

    @property
    def backend(self) -> str:
        return str(self.raw.get("backend") or DEFAULT_BACKEND)

    def settings(self, info: BackendInfo) -> TicketSettings:
        from tma_agent.plugin_settings import typed_settings

        return typed_settings(info.settings_model, self.raw, self.where)

    @property
    def key(self) -> str:
        """Tells two configurations apart (the same backend, project and URL are one)."""
        return repr(sorted((k, repr(v)) for k, v in self.raw.items()))


def _written(block: TicketsBlock | None) -> dict[str, Any]:
    if block is None:
        return {}
    return {**block.model_dump(exclude_unset=True), **(block.model_extra or {})}


def ticket_target(config: Config, client_id: str) -> TicketTarget:
    base = _written(config.tickets)
    for index, client in enumerate(config.clients):
        if client.id == client_id and client.tickets is not None:
            own = _written(client.tickets)
            merged = (
                own
                if own.get("backend", base.get("backend")) != base.get("backend")
                else {
                    **base,
                    **own,
                }
            )
            where = config.where(("clients", index, "tickets"))
            return TicketTarget(where, merged, ("clients", index, "tickets"))
    return TicketTarget(config.where(("tickets",)), base, ("tickets",))


def ticket_config_problems(config: Config, backends: Mapping[str, BackendInfo]) -> list[str]:
    """`file:line: key: message` for every ticket block naming an unknown backend or keys its
    backend does not take."""
    from tma_agent.plugin_settings import _errors

    problems: list[str] = []
    targets = [ticket_target(config, c.id) for c in config.clients] or [
        TicketTarget(config.where(("tickets",)), _written(config.tickets), ("tickets",))
    ]
    seen: set[str] = set()
    for target in targets:
        if target.where in seen:
            continue
        seen.add(target.where)
        info = backends.get(target.backend)
        if info is None:
            names = ", ".join(sorted(backends)) or "none"
            problems.append(
                f"{config.where((*target.loc, 'backend'))}: unknown ticket backend "
                f"{target.backend!r} (known: {names})"
            )
            continue
        for loc, message in _errors(info.settings_model, target.raw, f"backend {info.name} takes"):
            problems.append(f"{config.where((*target.loc, *loc))}: {message}")
    return problems


def build_backend(
    config: Config, target: TicketTarget, backends: Mapping[str, BackendInfo]
) -> tuple[BackendInfo, TicketBackend]:
    info = backends.get(target.backend)
    if info is None:
        raise ConfigError(f"{target.where}.backend: unknown ticket backend {target.backend!r}")
    context = BackendContext(target.settings(info), config.http, target.where)
    return info, info.factory(context)


def meaning_of(status: str, statuses: StatusMap, defaults: Mapping[str, Sequence[str]]) -> Meaning:
    """What a ticket status means: the config's names first, then the backend's defaults;
    compared without case (`Closed` and `closed` are one status to people)."""
    wanted = status.casefold()
    for meaning in ("validated", "rejected", "closed"):
        names = getattr(statuses, meaning) or defaults.get(meaning, ())
        if any(wanted == name.casefold() for name in names):
            return meaning
    return "open"

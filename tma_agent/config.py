"""Configuration: pydantic models and loading with `file:line: key.path: message` errors.

Where it comes from: `--config PATH`, else `$TMA_CONFIG`, else `./tma.yaml`. Unknown keys are
errors. Any value may be `{$env: NAME}` or `{$file: PATH}` so secrets stay out of the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from tma_agent._secrets import resolve_secrets
from tma_agent._yaml import LineMap, format_loc, load_yaml_with_lines
from tma_agent.apply.database import SiteDatabase
from tma_agent.apply.settings import ApplyOverride, ApplySettings
from tma_agent.billing.settings import BillingSettings, Contract
from tma_agent.errors import ConfigError
from tma_agent.hosts._settings import DEFAULT_MAX_FILE_BYTES
from tma_agent.http_settings import HTTPSettings
from tma_agent.plugin_settings import SettingsRegistry, settings_problems
from tma_agent.service.planning.settings import PlanningSettings, TeamMember
from tma_agent.service.settings import HeartbeatSettings, NotifySettings, ScheduleSettings
from tma_agent.settings import (
    ComposerRepository,
    IgnoreRule,
    Policy,
    RepositoryAuth,
    SourceSettings,
    SSHOverride,
    SSHSettings,
    Strict,
)
from tma_agent.tickets.settings import RequestSettings, TicketsBlock
from tma_agent.web.settings import WebSettings

__all__ = [
    "CONFIG_ENV",
    "Client",
    "ComposerRepository",
    "Config",
    "Contract",
    "DatabaseSettings",
    "Environment",
    "HTTPSettings",
    "IgnoreRule",
    "Limits",
    "Policy",
    "RepositoryAuth",
    "SSHOverride",
    "SSHSettings",
    "Site",
    "SourceSettings",
    "find_config_path",
    "load_config",
]

CONFIG_ENV = "TMA_CONFIG"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class Client(Strict):
    id: str
    name: str
    contract: Contract | None = None
    policies: Policy | None = None
    #: Overrides keys of the global `tickets` block (another `backend` replaces it whole).
    tickets: TicketsBlock | None = None
    apply: ApplyOverride | None = None
    #: Who receives `tma report send` (the client's addresses).
    report_to: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lower-case letters, digits, '.', '_' or '-'")
        return value


class Environment(Strict):
    host: str = "local"
    path: str
    url: str | None = None
    ssh: SSHOverride | None = None
    #: The Git branch the environment runs; apply branches start from it, deploys move it.
    branch: str = "main"
    #: The Git remote apply pushes its branches to and deploys fetch from.
    remote: str = "origin"
    #: The site's database for db.backup/db.restore; when absent, its stack reads the site's
    #: own settings file (`tma_site_database`).
    database: SiteDatabase | None = None

    @field_validator("host")
    @classmethod
    def _host_spec(cls, value: str) -> str:
        from tma_agent.hosts import parse_host

        parse_host(value)  # raises ValueError with the reason
        return value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value.rstrip("/") or "/"


class Site(Strict):
    id: str
    client: str
    stack: str | None = None
    check: str | None = None
    environments: dict[str, Environment] = Field(min_length=1)
    ssh: SSHOverride | None = None
    policies: Policy | None = None
    #: Stack-specific settings: validated by the stack's declared model once plugins are
    #: loaded (`Config.check_settings`), read by plugins with `SiteContext.options_as`.
    options: dict[str, Any] = Field(default_factory=dict)
    #: Read through symlinks (and paths) leaving the site path, e.g. Debian's WordPress.
    follow_symlinks: bool = False
    apply: ApplyOverride | None = None

    _slug = field_validator("id")(Client._slug.__func__)  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _check_env_exists(self) -> Site:
        if self.check is not None and self.check not in self.environments:
            raise ValueError(f"check: no environment named {self.check!r}")
        return self

    @property
    def check_env(self) -> str:
        """The environment `tma check` reads: `check`, else production, else the first."""
        if self.check:
            return self.check
        return "production" if "production" in self.environments else next(iter(self.environments))


class Limits(Strict):
    #: Bytes a site file may have to be read at all; a bigger one is reported, never sent.
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1)


class PluginSettings(Strict):
    #: Entry-point names of plugins not to load (also `$TMA_BLOCK_PLUGINS`).
    block: list[str] = Field(default_factory=list)


#: What `database.url` may name: the agent ships drivers for these two only.
_DATABASE_URL = re.compile(r"^(sqlite:///.+|postgresql(\+psycopg)?://.+)$")


class DatabaseSettings(Strict):
    #: The ledger; None: `sqlite:///<state_dir>/ledger.db`.
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value is not None and not _DATABASE_URL.match(value):
            # Never echo the value: it may carry a password.
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER@HOST[:PORT]/NAME")
        return value


def _default_state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "tma-agent")


class Config(Strict):
    state_dir: str = Field(default_factory=_default_state_dir)
    concurrency: int = Field(8, ge=1, le=256)
    database: DatabaseSettings = Field(default_factory=lambda: DatabaseSettings())
    ssh: SSHSettings = Field(default_factory=lambda: SSHSettings())
    http: HTTPSettings = Field(default_factory=lambda: HTTPSettings())
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    plugins: PluginSettings = Field(default_factory=lambda: PluginSettings())
    limits: Limits = Field(default_factory=lambda: Limits())
    policies: Policy = Field(default_factory=lambda: Policy())
    tickets: TicketsBlock = Field(default_factory=lambda: TicketsBlock())
    requests: RequestSettings = Field(default_factory=lambda: RequestSettings())
    billing: BillingSettings = Field(default_factory=lambda: BillingSettings())
    apply: ApplySettings = Field(default_factory=lambda: ApplySettings())
    schedule: ScheduleSettings = Field(default_factory=lambda: ScheduleSettings())
    heartbeat: HeartbeatSettings = Field(default_factory=lambda: HeartbeatSettings())
    notify: NotifySettings = Field(default_factory=lambda: NotifySettings())
    #: The TMA team and how its workload is planned (`tma plan`, docs/planning.md).
    team: list[TeamMember] = Field(default_factory=list)
    planning: PlanningSettings = Field(default_factory=lambda: PlanningSettings())
    #: `tma serve`: the dashboard, the client portal and the ticket webhooks (docs/web.md).
    web: WebSettings = Field(default_factory=lambda: WebSettings())
    #: IANA name deciding days and months of billed work (`Europe/Paris`); None: the machine's.
    timezone: str | None = None
    clients: list[Client] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    _lines: LineMap | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _references(self) -> Config:
        _unique([c.id for c in self.clients], "clients", "client id")
        _unique([s.id for s in self.sites], "sites", "site id")
        _unique([m.name for m in self.team], "team", "team member", key="name")
        client_ids = {c.id for c in self.clients}
        for index, site in enumerate(self.sites):
            if site.client not in client_ids:
                raise _RefError(("sites", index, "client"), f"unknown client {site.client!r}")
        for index, user in enumerate(self.web.users):
            if user.client is not None and user.client not in client_ids:
                raise _RefError(
                    ("web", "users", index, "client"), f"unknown client {user.client!r}"
                )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("unknown timezone (an IANA name such as Europe/Paris)") from None
        return value

    def contract_of(self, client_id: str) -> Contract | None:
        client = next((c for c in self.clients if c.id == client_id), None)
        return client.contract if client else None

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir).expanduser()

    @property
    def database_url(self) -> str:
        """The ledger's URL: `database.url`, else a SQLite file in `state_dir`."""
        return self.database.url or f"sqlite:///{self.state_path / 'ledger.db'}"

    def check_sources(self, known: Collection[str]) -> None:
        """Every `sources.<name>` must be one a plugin reads: a typo would silently send the
        agent to the default upstream instead of the configured mirror."""
        names = ", ".join(sorted(known)) or "none"
        problems = [
            f"{self.where(('sources', name))}: no plugin reads a source named {name!r} "
            f"(known: {names})"
            for name in self.sources
            if name not in known
        ]
        if problems:
            raise ConfigError("\n".join(problems))

    def ensure_state_dir(self) -> Path:
        """Create `state_dir` (cache, ledger, locks) if needed; a ConfigError when impossible."""
        path = self.state_path
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"{self.where(('state_dir',))}: cannot use {path} ({exc.strerror})"
            ) from None
        return path

    def where(self, loc: tuple[str | int, ...]) -> str:
        """`file:line: key.path` of a key, for errors found after loading."""
        prefix = f"{self._lines.where(loc)}: " if self._lines else ""
        return f"{prefix}{format_loc(loc)}"

    def check_stacks(self, known: Collection[str]) -> None:
        """Every configured `sites[].stack` and `team[].skills` must be a stack a plugin
        registered (a skill typo would leave that stack's requests to nobody in `tma plan`)."""
        names = ", ".join(sorted(known)) or "none"
        problems = [
            f"{self.where(('sites', i, 'stack'))}: unknown stack {s.stack!r} (known: {names})"
            for i, s in enumerate(self.sites)
            if s.stack is not None and s.stack not in known
        ]
        problems += [
            f"{self.where(('team', i, 'skills'))}: {member.name}: unknown stack {skill!r} "
            f"(skills are stack names: {names})"
            for i, member in enumerate(self.team)
            for skill in member.skills
            if skill not in known
        ]
        if problems:
            raise ConfigError("\n".join(problems))

    def check_settings(self, registry: SettingsRegistry) -> None:
        """`sites[].options` and the `sources.<name>` keys besides `url`, validated with the
        models the plugins declare (`tma_register_settings`): a typo fails here, not mid-run."""
        problems = settings_problems(self, registry)
        if problems:
            raise ConfigError("\n".join(problems))

    def policy_for(self, site: Site) -> Policy:
        client = next((c for c in self.clients if c.id == site.client), None)
        return self.policies.merged_with(client.policies if client else None).merged_with(
            site.policies
        )

    def apply_for(self, site: Site) -> ApplySettings:
        """`apply`, then the client's `apply` keys, then the site's."""
        client = next((c for c in self.clients if c.id == site.client), None)
        return self.apply.merged_with(client.apply if client else None).merged_with(site.apply)

    def ssh_for(self, site: Site, env: str) -> SSHSettings:
        settings = self.ssh
        for override in (site.ssh, site.environments[env].ssh):
            if override is not None:
                settings = override.apply_to(settings)
        return settings


class _RefError(ValueError):
    """A cross-reference error that knows which key it is about."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _unique(values: list[str], where: str, what: str, *, key: str = "id") -> None:
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            raise _RefError((where, index, key), f"duplicate {what} {value!r}")
        seen[value] = index


def find_config_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else Path("tma.yaml")


def load_config(path: Path) -> Config:
    """Load and validate; every problem is a ConfigError naming `file:line` and the key."""
    data, lines = load_yaml_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}:1: the configuration must be a mapping of keys")
    data = resolve_secrets(data, lines, base_dir=path.parent)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines)) from None
    config._lines = lines
    return config


def _describe(exc: ValidationError, lines: LineMap) -> str:
    messages = []
    for error in exc.errors():
        loc: tuple[str | int, ...] = tuple(error["loc"])
        message = error["msg"]
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _RefError):
            loc, message = loc + ctx_error.loc, str(ctx_error)
        elif error["type"] == "extra_forbidden":
            message = "unknown key"
        message = message.removeprefix("Value error, ")
        messages.append(f"{lines.where(loc)}: {format_loc(loc) or '(top)'}: {message}")
    return "\n".join(messages)

"""Configuration models (pydantic) and YAML loading with file:line errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SSHSettings(_Strict):
    """How to reach `ssh://` hosts; global, overridable per site and per environment."""

    key_file: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    connect_timeout: float = Field(10.0, gt=0)
    command_timeout: float = Field(120.0, gt=0)
    keepalive: int = Field(30, ge=0)
    #: Strict host-key checking. Turning it off is an explicit opt-in, logged as a warning.
    strict_host_keys: bool = True
    use_agent: bool = True

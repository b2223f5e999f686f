"""What the host layer is told by its caller: how to reach SSH hosts, and what a site's tree is.

These live here, not in `tma_agent.config`, so the hosts package never imports the config (the
config imports them to validate its file).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_MAX_FILE_BYTES", "SSHSettings", "TreePolicy"]

#: Big enough for the largest real lock files (a Magento 2 composer.lock is ~3 MB).
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024


class SSHSettings(BaseModel):
    """How to reach `ssh://` hosts; global, overridable per site and per environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_file: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    connect_timeout: float = Field(10.0, gt=0)
    command_timeout: float = Field(120.0, gt=0)
    keepalive: int = Field(30, ge=0)
    #: Strict host-key checking. Turning it off is an explicit opt-in, logged as a warning.
    strict_host_keys: bool = True
    use_agent: bool = True


@dataclass(frozen=True)
class TreePolicy:
    """What `read_many` / `read_glob` may read on a host: set once per site by the runner.

    `root` None means no tree rule (a host used outside a site check); files beyond
    `max_file_bytes` are never read whatever the root.
    """

    root: str | None = None
    #: Read through symlinks (and paths) leaving `root`, for layouts like Debian's WordPress.
    follow_symlinks: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @property
    def confined(self) -> bool:
        return self.root is not None and not self.follow_symlinks

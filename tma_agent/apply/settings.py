"""The `apply:` block of the configuration (also `clients[].apply` and `sites[].apply`)."""

from __future__ import annotations

from pydantic import Field

from tma_agent.settings import Strict

__all__ = ["ApplyOverride", "ApplySettings"]


class ApplySettings(Strict):
    """How updates are applied; `clients[].apply` and `sites[].apply` override key by key."""

    #: On the site's host: backups go to `<backup_dir>/<site id>/<stamp>/` (`~` is the SSH
    #: user's home there). Outside the site's tree, so a backup is never served or committed.
    backup_dir: str = "~/.tma-agent/backups"
    #: Backups kept per site; older ones are pruned after a successful backup.
    keep_backups: int = Field(3, ge=1)
    #: `Name <email>` of the commits the agent makes in the site's repository.
    commit_author: str = "tma-agent <tma-agent@localhost>"
    #: The agency's own playbooks, searched before the plugins' and the built-in ones.
    playbook_dirs: list[str] = Field(default_factory=list)

    def merged_with(self, narrower: ApplyOverride | None) -> ApplySettings:
        if narrower is None:
            return self
        given = narrower.model_dump(exclude_unset=True)
        return self.model_copy(update=given)


class ApplyOverride(Strict):
    """The keys of `apply:` a client or a site may override (all optional)."""

    backup_dir: str | None = None
    keep_backups: int | None = Field(None, ge=1)
    commit_author: str | None = None

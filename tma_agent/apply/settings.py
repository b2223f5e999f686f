"""The `apply:` block of the configuration (also `clients[].apply` and `sites[].apply`)."""

from __future__ import annotations

from pydantic import Field

from tma_agent.apply.windows import Freeze, Window
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
    #: When apply, deploy and auto-apply may start (none: any time), in `timezone`.
    windows: list[Window] = Field(default_factory=list)
    #: Days when they never do (a date range, weekdays, or both); wins over `windows`.
    freeze: list[Freeze] = Field(default_factory=list)

    def merged_with(self, narrower: ApplyOverride | None) -> ApplySettings:
        if narrower is None:
            return self
        # The values themselves, not a dump: windows and freezes stay models.
        given = {
            name: getattr(narrower, name)
            for name in narrower.model_fields_set
            if getattr(narrower, name) is not None
        }
        return self.model_copy(update=given)


class ApplyOverride(Strict):
    """The keys of `apply:` a client or a site may override (all optional)."""

    backup_dir: str | None = None
    keep_backups: int | None = Field(None, ge=1)
    commit_author: str | None = None
    windows: list[Window] | None = None
    freeze: list[Freeze] | None = None

"""What a plugin gets to work on one site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from tma_agent.config import SourceSettings
    from tma_agent.hosts import Host
    from tma_agent.sources import Fetcher

__all__ = ["SiteContext"]


@dataclass
class SiteContext:
    site_id: str
    client: str
    env: str
    host: Host
    #: The environment's configured path; `root` is the document root found by detection.
    path: str
    url: str | None
    fetcher: Fetcher
    source_urls: Mapping[str, str]
    log: FilteringBoundLogger
    stack: str | None = None
    root: str | None = None
    #: Files already read from the host (absolute path -> content, None when absent), so a
    #: plugin never reads the same file twice.
    files: dict[str, str | None] = field(default_factory=dict)
    #: Files that exist but were not read (absolute path -> one-line reason), from the
    #: `FileSet.problems` of every read recorded with `remember`.
    file_problems: dict[str, str] = field(default_factory=dict)
    #: Stack-specific settings from `sites[].options`.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Every `sources.<name>` block of the config (repositories, tokens, module indexes...).
    sources: Mapping[str, SourceSettings] = field(default_factory=dict)

    def remember(self, files: Mapping[str, str | None]) -> None:
        """Record what a host read (a `FileSet`), its problems included, in `files`."""
        self.files.update(files)
        self.file_problems.update(getattr(files, "problems", None) or {})

    def file_problem(self, path: str) -> str | None:
        """Why the file at absolute `path` exists but was not read, or None."""
        return self.file_problems.get(path)

    def source_url(self, name: str) -> str:
        """The effective base URL of source `name` (config override, else plugin default)."""
        try:
            return self.source_urls[name].rstrip("/")
        except KeyError:
            raise KeyError(f"no source named {name!r} is registered") from None

    def source_settings(self, name: str) -> SourceSettings | None:
        """The `sources.<name>` block of the config, when there is one."""
        return self.sources.get(name)

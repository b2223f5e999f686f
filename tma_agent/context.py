"""What a plugin gets to work on one site."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tma_agent.errors import FeedError
from tma_agent.models import SourceError
from tma_agent.plugin_settings import typed_settings
from tma_agent.run_scope import RunScope

if TYPE_CHECKING:
    from pydantic import BaseModel
    from structlog.typing import FilteringBoundLogger

    from tma_agent.config import SourceSettings
    from tma_agent.hosts import Host
    from tma_agent.sources import Fetcher

__all__ = ["SiteContext"]

Model = TypeVar("Model", bound="BaseModel")
_T = TypeVar("_T")


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
    #: `sites[].options` as written; read them typed with `options_as`.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Every `sources.<name>` block of the config (repositories, tokens, module indexes...).
    sources: Mapping[str, SourceSettings] = field(default_factory=dict)
    #: Sources that failed for this site (`SiteReport.source_errors`), in the order met.
    source_errors: list[SourceError] = field(default_factory=list)
    #: What every site of the run shares: `run.memo(key, compute)` parses a feed once per
    #: run. The runner passes its own; a hand-built context gets a scope of its own.
    run: RunScope = field(default_factory=RunScope)
    _errors_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def source_failed(self, source: str, exc: FeedError) -> None:
        """Record that `source` (a registered source name) failed for this site, so the report
        keeps what the other sources said. Thread-safe; one entry per (source, url)."""
        error = SourceError(source=source, url=exc.url, error=exc.reason)
        with self._errors_lock:
            if any((e.source, e.url) == (source, exc.url) for e in self.source_errors):
                return
            self.source_errors.append(error)
        self.log.warning("source failed", source=source, url=exc.url, error=exc.reason)

    def attempt(self, source: str, call: Callable[[], _T]) -> _T | None:
        """`call()`, or None when it raises FeedError (recorded with `source_failed`): how a
        plugin wraps each request to a source so one failure never empties the site."""
        try:
            return call()
        except FeedError as exc:
            self.source_failed(source, exc)
            return None

    def failed_sources(self) -> frozenset[str]:
        with self._errors_lock:
            return frozenset(e.source for e in self.source_errors)

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

    def options_as(self, model: type[Model]) -> Model:
        """`sites[].options` as `model`, the settings the stack declares
        (`tma_register_settings`). Validated at config load already; a ConfigError here is a
        hand-built context or options that suit another stack than the one detected."""
        return typed_settings(model, self.options, f"site {self.site_id}: options")

    def source_settings_as(self, name: str, model: type[Model]) -> Model:
        """The keys of `sources.<name>` besides `url`, as the declared `model` (its defaults
        when the config has no such block)."""
        block = self.sources.get(name)
        return typed_settings(model, (block.model_extra or {}) if block else {}, f"sources.{name}")

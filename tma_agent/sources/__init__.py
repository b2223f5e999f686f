"""Upstream sources: one shared HTTP client per run, with caching and safe parsing."""

from __future__ import annotations

from tma_agent.sources._http import Fetcher, FetchResult
from tma_agent.sources._wire import FormData

__all__ = ["FetchResult", "Fetcher", "FormData"]

"""The `http:` block of the configuration: how the run's one HTTP client talks upstream.

A module of its own so loading the configuration does not import the HTTP client.
"""

from __future__ import annotations

from pydantic import Field

from tma_agent.settings import Strict

__all__ = ["HTTPSettings"]


class HTTPSettings(Strict):
    #: Seconds for one whole request: connecting, every read of the body, every retry and
    #: the waits between them. A feed that drips bytes cannot stretch it.
    timeout: float = Field(30.0, gt=0, le=3600)
    #: Tries in total (1: never retry). A retry starts only while the deadline allows it.
    retries: int = Field(3, ge=1, le=10)

"""uvicorn's logging for `tma serve`, with every known secret masked in the access log: the
Jira webhook's token is part of its URL, and an access line prints the URL."""

from __future__ import annotations

import copy
import logging
from typing import Any

from tma_agent._masking import mask

__all__ = ["MaskedAccess", "log_config"]


class MaskedAccess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        record.msg = mask(str(record.msg))
        return True


def log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["masked"] = {"()": "tma_agent.web.logs.MaskedAccess"}
    for handler in config["handlers"].values():
        handler["filters"] = ["masked"]
    return config

"""uvicorn's logging for `tma serve`, with every known secret masked in the access log: the
Jira webhook's token is part of its URL, and an access line prints the URL. Whatever follows
`/hooks/jira/` is masked too: a wrong token (a typo, the token before a rotation) is often
most of the right one."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from tma_agent._masking import mask

__all__ = ["MaskedAccess", "log_config"]

_JIRA_PATH = re.compile(r"(/hooks/jira/)[^\s?#\"]+")


def _masked(text: str) -> str:
    return _JIRA_PATH.sub(r"\1***", mask(text))


class MaskedAccess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) if isinstance(a, str) else a for a in record.args)
        record.msg = _masked(str(record.msg))
        return True


def log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["masked"] = {"()": "tma_agent.web.logs.MaskedAccess"}
    for handler in config["handlers"].values():
        handler["filters"] = ["masked"]
    return config

"""structlog set-up: readable console lines on a TTY, JSON lines otherwise; secrets masked.

Libraries' stdlib `logging` (paramiko's above all) goes through the same pipeline, so nothing
reaches stderr raw in the middle of a JSON log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from tma_agent._secrets import mask

__all__ = ["LogFormat", "setup_logging"]

LogFormat = Literal["auto", "console", "json"]


def _mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask(value)
    return event


#: Loggers whose records are noise to a user, whatever their level: paramiko logs, at ERROR, a
#: traceback for every failed handshake whose cause the host's error already names.
_DEMOTED = ("paramiko",)


class _ToStructlog(logging.Handler):
    """Hand stdlib records to structlog, with the logger's name and any traceback."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = record.levelno
            if record.name.split(".")[0] in _DEMOTED:
                level = logging.DEBUG
            fields: dict[str, Any] = {"logger": record.name}
            if record.exc_info and level > logging.DEBUG:
                fields["exc_info"] = record.exc_info
            structlog.get_logger(record.name).log(level, record.getMessage(), **fields)
        except Exception:  # a log line must never break the run
            self.handleError(record)


def _route_stdlib_logging(level: int) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _ToStructlog)]:
        root.removeHandler(handler)
    root.addHandler(_ToStructlog())
    # Below debug, paramiko's records (all demoted to debug) are not even built.
    root.setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    logging.getLogger("paramiko").setLevel(logging.DEBUG if level <= logging.DEBUG else 100)


def setup_logging(fmt: LogFormat = "auto", *, verbosity: int = 0) -> None:
    """`verbosity` -1 quiet (errors), 0 warnings, 1 info, 2+ debug. Logs go to stderr so
    stdout stays clean for `--format json`."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(level)

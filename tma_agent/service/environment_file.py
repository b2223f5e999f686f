"""The units' `EnvironmentFile` (where the secrets `{$env: NAME}` names live), read by `tma
systemd install` itself: under `sudo` the installing shell has none of them, and the config
must load as the service will load it. Parsed as systemd does for what people write there:
`NAME=value` lines, `#`/`;` comments, single or double quotes around a value."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tma_agent.errors import ConfigError

__all__ = [
    "SYSTEM_ENVIRONMENT_FILE",
    "USER_ENVIRONMENT_FILE",
    "environment_file_of",
    "read_environment_file",
]

#: As the system units name it.
SYSTEM_ENVIRONMENT_FILE = "/etc/tma-agent/environment"
#: As the user units name it (`%h`: the user's home).
USER_ENVIRONMENT_FILE = "%h/.config/tma-agent/environment"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: What a backslash means inside double quotes.
_ESCAPE = re.compile(r"\\(.)")


def environment_file_of(template: str) -> Path:
    return Path(template.replace("%h", os.path.expanduser("~")))


def read_environment_file(path: Path) -> dict[str, str]:
    """NAME -> value; {} when there is no file. A line that is not `NAME=value` is refused
    with its line number (systemd would ignore it, and the secret with it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"{path}: cannot read the units' environment file ({reason})") from None
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ConfigError(f"{path}:{number}: not NAME=value")
        found[name] = _unquoted(value.strip())
    return found


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _ESCAPE.sub(r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value

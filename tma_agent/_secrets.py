"""`{$env: NAME}` / `{$file: PATH}` indirection; every value read so is masked (`_masking`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tma_agent._masking import known_secrets, mask, remember_secret
from tma_agent._yaml import LineMap, format_loc
from tma_agent.errors import ConfigError

__all__ = ["known_secrets", "mask", "resolve_secrets"]


def _remember(value: str) -> str:
    remember_secret(value)
    return value


def resolve_secrets(
    data: Any, lines: LineMap, *, base_dir: Path, loc: tuple[str | int, ...] = ()
) -> Any:
    if isinstance(data, dict):
        if len(data) == 1 and next(iter(data)) in ("$env", "$file"):
            return _resolve_one(data, lines, base_dir, loc)
        return {
            k: resolve_secrets(v, lines, base_dir=base_dir, loc=(*loc, k)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            resolve_secrets(v, lines, base_dir=base_dir, loc=(*loc, i)) for i, v in enumerate(data)
        ]
    return data


def _resolve_one(
    ref: dict[str, Any], lines: LineMap, base_dir: Path, loc: tuple[str | int, ...]
) -> str:
    kind, name = next(iter(ref.items()))
    where = f"{lines.where(loc)}: {format_loc(loc)}"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {kind} needs a name")
    if kind == "$env":
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return _remember(value)
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        return _remember(path.read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {path} ({exc.strerror})") from None

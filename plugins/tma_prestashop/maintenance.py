"""PrestaShop's maintenance mode is the shop being disabled: the `PS_SHOP_ENABLE` configuration
(0 while in maintenance), set through `bin/console prestashop:config set` (1.7.8 and later;
older shops have no command-line switch for it)."""

from __future__ import annotations

import posixpath
import re

from tma_agent.hosts import Host
from tma_prestashop import detect

__all__ = ["CONSOLE_SINCE", "maintenance_commands"]

#: The first release whose console has `prestashop:config`.
CONSOLE_SINCE = (1, 7, 8)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:4])


def maintenance_commands(host: Host, path: str, enable: bool) -> list[list[str]]:
    """The commands, or none when the shop's release has no `prestashop:config` (the step
    then notes it and goes on)."""
    names = detect.detect_paths()
    read = host.read_many([posixpath.join(path, name) for name in names])
    facts = detect.core_facts({name: read[posixpath.join(path, name)] for name in names})
    if facts is None or facts.version is None or _release(facts.version) < CONSOLE_SINCE:
        return []
    console = posixpath.join(facts.docroot, "bin/console") if facts.docroot else "bin/console"
    value = "0" if enable else "1"
    return [[console, "prestashop:config", "set", "PS_SHOP_ENABLE", "--value", value]]

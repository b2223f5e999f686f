"""Magento's maintenance mode: `bin/magento maintenance:enable|disable` (the flag file
var/.maintenance.flag, which Magento's bootstrap checks on every request)."""

from __future__ import annotations

__all__ = ["maintenance_commands"]


def maintenance_commands(enable: bool) -> list[list[str]]:
    # Relative: commands run in the site path, the Magento root.
    return [["bin/magento", "maintenance:enable" if enable else "maintenance:disable"]]

"""Install a plugin the way pip leaves it (a module and its dist-info with an entry point), for
tests that load a third-party plugin through the `tma_agent` entry-point group in a subprocess
whose PYTHONPATH holds `site_packages`."""

from __future__ import annotations

from pathlib import Path

__all__ = ["install_distribution"]


def install_distribution(
    site_packages: Path, module: str, source: str, *, version: str, entry: str
) -> Path:
    """`module`.py holding `source`, registered as plugin `entry`; returns `site_packages`."""
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / f"{module}.py").write_text(source)
    name = module.replace("_", "-")
    dist = site_packages / f"{module}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[tma_agent]\n{entry} = {module}\n")
    return site_packages

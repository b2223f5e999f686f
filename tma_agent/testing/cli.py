"""Run the real `tma` command line in a subprocess, as a user would, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["TMA", "run_tma"]

#: The command line under test: this interpreter's `python -m tma_agent`.
TMA = (sys.executable, "-m", "tma_agent")


def run_tma(
    *args: str,
    config: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`tma [--config CONFIG] ARGS...` with text output captured. The caller's environment
    minus what would pick another config or block plugins behind the test's back, plus `env`."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("TMA_CONFIG", "TMA_BLOCK_PLUGINS")}
    full_env.update(env or {})
    head = [*TMA, "--config", str(config)] if config is not None else [*TMA]
    return subprocess.run(
        [*head, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )

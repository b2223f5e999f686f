"""Run the real `tma` command line in a subprocess, as a user would, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TMA", "background_tma", "run_tma", "sigkill"]

#: The command line under test: this interpreter's `python -m tma_agent`.
TMA = (sys.executable, "-m", "tma_agent")


def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("TMA_CONFIG", "TMA_BLOCK_PLUGINS")}
    full_env.update(env or {})
    return full_env


@contextmanager
def background_tma(
    *args: str, config: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`tma --config CONFIG ARGS...` started in the background, its output discarded, for the
    crash tests that SIGKILL it at a dangerous moment; killed at the end of the block if it
    still runs."""
    process = subprocess.Popen(
        [*TMA, "--config", str(config), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(env),
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def sigkill(process: subprocess.Popen[bytes]) -> None:
    """Kill the real process the way a crash, the OOM killer or a power cut does."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


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
    full_env = _environment(env)
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

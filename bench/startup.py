"""Benchmark how fast `tma` starts: `tma --version` (target <= 0.15 s) and `tma --help`
(target <= 0.3 s), as the median of N runs of the installed `.venv/bin/tma`, next to a bare
`python -c pass` so a loaded machine can be told from a slow CLI. Then the slowest imports of
each command (`python -X importtime`), self time, so a regression names its module.

    .venv/bin/python bench/startup.py --runs 20

Measured 2026-12-02 05:31 UTC (python -c pass 0.023 s): `--version` 0.091 s, `--help` 0.111 s.
The built-in command modules (run, requests, tickets, time, contract, report, plan, playbook,
status, systemd) are listed from `tma_agent.cli.LAZY_COMMANDS` and imported only when one of
their commands runs: `import tma_agent.cli` 74 ms -> 57 ms cumulative (-X importtime, before
the merge that added plan, playbook, status and systemd). What is left: importlib.metadata
for `tma_agent.__version__` (~25 ms) and tma_agent.models via fail_on (~5 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMA = Path(sys.executable).with_name("tma")
TARGETS = {"--version": 0.15, "--help": 0.30}


def median_seconds(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def slowest_imports(option: str, top: int) -> list[tuple[int, str]]:
    """(self microseconds, module) of the `top` slowest imports of `tma <option>`."""
    code = f"import sys; sys.argv = ['tma', {option!r}]; from tma_agent.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line[12:].split("|"))
        rows.append((int(self_us), name))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=8, help="slowest imports shown per command")
    args = parser.parse_args()
    # One warm-up run fills the plugin-command cache and the bytecode caches.
    subprocess.run([str(TMA), "--help"], stdout=subprocess.DEVNULL, check=True)
    bare = median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"python -c pass      median {bare:.3f} s  (the interpreter alone, on this machine now)")
    failed = False
    for option, target in TARGETS.items():
        seconds = median_seconds([str(TMA), option], args.runs)
        verdict = "ok" if seconds <= target else "OVER"
        failed |= seconds > target
        print(f"tma {option:<14}  median {seconds:.3f} s  target {target:.2f} s  {verdict}")
    for option in TARGETS:
        print(f"\nslowest imports of `tma {option}` (self time):")
        for self_us, name in slowest_imports(option, args.top):
            print(f"  {self_us / 1000:7.1f} ms  {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

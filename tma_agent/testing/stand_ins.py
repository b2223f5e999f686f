"""Stand-in executables for the tools that cannot exist in tests (Drush, WP-CLI, bin/magento,
PrestaShop's bin/console): each records its argv, working directory and exit code as one JSON
line in a log, and fails on demand.

`write_stand_in` writes a Python program (for a tool found on the PATH or as vendor/bin/drush)
or, with `php=True`, a PHP one (for `php bin/magento ...`: the real php runs it). A line in
`<log>.fail` naming the whole argv (`setup:di:compile`) or its first item makes the tool exit 1
(`fail_on`). The log and the tool are plain files, so a tool run over the real sshd by another
user records the same way, given a log directory that user can write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["calls", "fail_on", "write_stand_in"]

_PYTHON = """#!/usr/bin/env python3
# A stand-in for {name} (tma-agent tests): records argv, cwd and exit code.
import json, os, sys
LOG = {log!r}
args = sys.argv[1:]
fail = open(LOG + ".fail").read().splitlines() if os.path.exists(LOG + ".fail") else []
rc = 1 if (" ".join(args) in fail or (args and args[0] in fail)) else 0
with open(LOG, "a") as out:
    out.write(json.dumps({{"tool": {name!r}, "argv": args, "cwd": os.getcwd(), "rc": rc}}) + "\\n")
if rc:
    print({name!r} + ": failing on demand", file=sys.stderr)
sys.exit(rc)
"""

_PHP = """#!/usr/bin/env php
<?php
// A stand-in for {name} (tma-agent tests): records argv, cwd and exit code.
$log = {log_php};
$args = array_slice($argv, 1);
$fail = is_file("$log.fail") ? file("$log.fail", FILE_IGNORE_NEW_LINES) : [];
$rc = (in_array(implode(' ', $args), $fail, true) || ($args && in_array($args[0], $fail, true))) ? 1 : 0;
$line = ['tool' => {name_php}, 'argv' => $args, 'cwd' => getcwd(), 'rc' => $rc];
file_put_contents($log, json_encode($line, JSON_UNESCAPED_SLASHES) . "\\n", FILE_APPEND);
if ($rc) {{ fwrite(STDERR, {name_php} . ": failing on demand\\n"); }}
exit($rc);
"""


def _php_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_stand_in(path: Path, log: Path, *, name: str | None = None, php: bool = False) -> Path:
    """Write an executable stand-in at `path` logging to `log`; returns `path`."""
    name = name or path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    if php:
        text = _PHP.format(name=name, log_php=_php_string(str(log)), name_php=_php_string(name))
    else:
        text = _PYTHON.format(name=name, log=str(log))
    path.write_text(text)
    path.chmod(0o755)
    return path


def fail_on(log: Path, *commands: str) -> None:
    """Make the stand-ins logging to `log` exit 1 for these argv (joined by spaces) or first items."""
    log.with_name(log.name + ".fail").write_text("".join(f"{c}\n" for c in commands))


def calls(log: Path) -> list[dict[str, Any]]:
    """What the stand-ins logging to `log` were run with, in order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

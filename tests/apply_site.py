"""A site to apply updates to, for the `tma apply` / `tma deploy` tests: a bare origin, a
staging and a production working copy on the real sshd (made over SSH as its user, so they
are that user's), a flat-file stack installed as a real third-party distribution (its
findings need no network; it names the playbook through `tma_apply_plan`), playbooks of
`shell` steps in the agency's own playbook directory, and the real CLI."""

from __future__ import annotations

import json
import shlex
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from tma_agent.hosts import SSHHost
from tma_agent.testing.cli import run_tma
from tma_agent.testing.distributions import install_distribution
from tma_agent.testing.sshd import SSHServer

__all__ = ["PLUGIN", "ApplySite"]

PLUGIN = textwrap.dedent("""
    from __future__ import annotations

    from tma_agent.apply import ApplyPlan
    from tma_agent.hookspecs import hookimpl
    from tma_agent.models import Component, Detection, Finding, StackInfo

    NEWEST = "2.0"


    @hookimpl
    def tma_register_stacks(register):
        register(StackInfo("flatfile", "Flat-file CMS"))


    @hookimpl
    def tma_detect_paths():
        return ["VERSION.flatfile"]


    @hookimpl
    def tma_detect_stack(site, files):
        if site.stack in (None, "flatfile") and files.get("VERSION.flatfile"):
            return Detection("flatfile", site.path, files["VERSION.flatfile"].strip())
        return None


    @hookimpl
    def tma_inventory(site):
        if site.stack != "flatfile":
            return None
        return [Component("flatfile", "core", site.files[site.path + "/VERSION.flatfile"].strip())]


    @hookimpl
    def tma_evaluate(site, components):
        if site.stack != "flatfile":
            return None
        return [
            Finding(c.name, c.kind, c.installed, NEWEST, NEWEST,
                    "none" if c.installed == NEWEST else "security", source="flatfile")
            for c in components
        ]


    @hookimpl
    def tma_maintenance_commands(ctx, enable):
        if ctx.stack != "flatfile":
            return None
        flag = ctx.path + ".maintenance"  # beside the checkout, which stays clean
        return [["touch", flag]] if enable else [["rm", "-f", flag]]


    @hookimpl
    def tma_deploy_plan(site, stack):
        if stack != "flatfile":
            return None
        return ApplyPlan("flatfile-install", {"marker": "installed"})


    @hookimpl
    def tma_apply_plan(site, stack, findings):
        if stack != "flatfile":
            return None
        (finding,) = findings
        return ApplyPlan("flatfile-update", {"version": finding.recommended})
""")


class ApplySite:
    """One client site `www` (stack flatfile) with staging and production on the sshd."""

    def __init__(self, sshd: SSHServer, tmp_path: Path) -> None:
        self.sshd = sshd
        self.tmp_path = tmp_path
        self.root = sshd.make_shared_dir(writable=True)
        self.origin = self.root / "origin.git"
        self.staging = self.root / "staging"
        self.production = self.root / "production"
        self.host = SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings())
        self._make_repositories()
        self.playbooks = tmp_path / "playbooks"
        self.playbooks.mkdir()
        self._install_plugin()
        self.extra: dict[str, Any] = {}
        self.write()

    def close(self) -> None:
        self.host.close()

    def sh(self, script: str, *args: str, check: bool = True) -> str:
        """A shell script run on the site's host as its user; its output."""
        done = self.host.run(["sh", "-c", script, "sh", *args], check=False)
        if check:
            assert done.ok, f"{script}: {done.stderr.decode(errors='replace')}"
        return done.text

    def _make_repositories(self) -> None:
        self.sh(
            'set -e; git init -q --bare -b main "$1"; git clone -q "$1" "$2" 2>/dev/null;'
            ' cd "$2"; git config user.name Dev; git config user.email dev@example;'
            " git checkout -q -b main; echo 1.0 > VERSION.flatfile; echo hello > index.html;"
            ' git add -A; git commit -qm "Site as delivered"; git push -q origin main;'
            ' git clone -q "$1" "$3"',
            str(self.origin),
            str(self.staging),
            str(self.production),
        )

    def _install_plugin(self) -> None:
        packages = install_distribution(
            self.tmp_path / "site-packages", "tma_flatfile", PLUGIN, version="1.0", entry="flatfile"
        )
        self.env = {"PYTHONPATH": str(packages), "TMA_CACHE_DIR": str(self.tmp_path / "cache")}

    def _environment(self, path: Path) -> dict[str, Any]:
        return {"host": f"ssh://{self.sshd.user}@127.0.0.1:{self.sshd.port}", "path": str(path)}

    def write(self, **extra: Any) -> None:
        """The configuration, with `extra` top-level keys (merged into earlier ones)."""
        self.extra.update(extra)
        settings = self.sshd.settings()
        apply_block = {"playbook_dirs": [str(self.playbooks)], **self.extra.pop("apply", {})}
        self.extra["apply"] = apply_block
        config = {
            "state_dir": str(self.tmp_path / "state"),
            "timezone": "Europe/Paris",
            "ssh": {
                "key_file": settings.key_file,
                "known_hosts": settings.known_hosts,
                "strict_host_keys": True,
                "use_agent": False,
            },
            "clients": [{"id": "acme", "name": "ACME"}],
            "sites": [
                {
                    "id": "www",
                    "client": "acme",
                    "stack": "flatfile",
                    "environments": {
                        "staging": self._environment(self.staging),
                        "production": self._environment(self.production),
                    },
                }
            ],
            **self.extra,
        }
        self.config = self.tmp_path / "tma.yaml"
        self.config.write_text(json.dumps(config, indent=1))

    def playbook(self, name: str, text: str) -> None:
        (self.playbooks / f"{name}.yaml").write_text(textwrap.dedent(text))

    def tma(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_tma(*args, config=self.config, env=self.env, timeout=timeout)

    def json(self, *args: str, code: int = 0) -> dict[str, Any]:
        done = self.tma(*args, "--format", "json")
        assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout)

    def git(self, where: Path, *args: str) -> str:
        return self.sh(f'cd {shlex.quote(str(where))} && git "$@"', *args).strip()

    def version(self, where: Path) -> str:
        return self.sh('cat "$1"/VERSION.flatfile', str(where)).strip()

    @property
    def ledger(self) -> Path:
        return self.tmp_path / "state" / "ledger.db"

"""`tma systemd install`: units verified by the real `systemd-analyze verify` (system mode)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from tma_agent.service.environment_file import read_environment_file
from tma_agent.testing.cli import run_tma
from tma_agent.testing.web import free_port


def _config(tmp_path: Path, **extra: object) -> Path:
    directory = tmp_path / "etc dir%1"
    directory.mkdir()
    path = directory / "tma.yaml"
    data = {"state_dir": str(tmp_path / "state"), **extra}
    path.write_text(yaml.safe_dump(data))
    return path


def _verify(*units: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, check=False
    )


def _directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_system_units_verify_and_run_the_installed_tma(tmp_path: Path) -> None:
    config = _config(
        tmp_path, schedule={"on_calendar": "Mon..Fri *-*-* 03:10", "randomized_delay": "20m"}
    )
    root = tmp_path / "root"
    done = run_tma(
        "systemd", "install", "--root", str(root), "--run-as", "tma-agent", config=config
    )
    assert done.returncode == 0, done.stderr
    unit_dir = root / "etc/systemd/system"
    service, timer = unit_dir / "tma-agent.service", unit_dir / "tma-agent.timer"
    assert "systemctl daemon-reload && systemctl enable --now tma-agent.timer" in done.stdout
    verified = _verify(service, timer)
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr

    unit = _directives(service.read_text())
    assert unit["Type"] == ["oneshot"]
    assert unit["User"] == ["tma-agent"] and unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"] and unit["PrivateTmp"] == ["yes"]
    assert unit["ReadWritePaths"] == [str(tmp_path / "state")]
    assert unit["ProtectHome"] == ["read-only"]
    argv = shlex.split(unit["ExecStart"][0].replace("%%", "%"))
    assert argv[1:] == ["--config", str(config), "--log-format", "json", "run"]
    # The real installed `tma`: it answers.
    assert os.access(argv[0], os.X_OK)
    version = subprocess.run([argv[0], "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0 and "tma" in version.stdout

    tick = _directives(timer.read_text())
    assert tick["OnCalendar"] == ["Mon..Fri *-*-* 03:10"]
    assert tick["Persistent"] == ["true"] and tick["RandomizedDelaySec"] == ["20m"]
    assert tick["WantedBy"] == ["timers.target"]


def test_a_bad_calendar_is_refused_with_systemds_reason(tmp_path: Path) -> None:
    config = _config(tmp_path)
    root = tmp_path / "root"
    done = run_tma(
        "systemd", "install", "--root", str(root), "--on-calendar", "tuesday 25:00", config=config
    )
    assert done.returncode == 2
    assert "schedule.on_calendar 'tuesday 25:00'" in done.stderr and "Traceback" not in done.stderr
    assert not root.exists()
    config.write_text(yaml.safe_dump({"schedule": {"randomized_delay": "soon"}}))
    done = run_tma("systemd", "install", "--print", config=config)
    assert done.returncode == 2 and "randomized_delay" in done.stderr


def test_print_writes_nothing_and_user_units_go_to_the_users_config(tmp_path: Path) -> None:
    config = _config(tmp_path)
    printed = run_tma("systemd", "install", "--print", "--user", config=config)
    assert printed.returncode == 0
    assert "# tma-agent.service" in printed.stdout and "OnCalendar=*-*-* 02:30" in printed.stdout
    assert "User=" not in printed.stdout  # a user unit runs as the user who installs it
    home = tmp_path / "home"
    done = run_tma(
        "systemd", "install", "--user", config=config, env={"XDG_CONFIG_HOME": str(home)}
    )
    assert done.returncode == 0, done.stderr
    assert (home / "systemd/user/tma-agent.timer").is_file()
    assert "systemctl --user daemon-reload" in done.stdout


def test_web_adds_the_dashboards_service_and_its_command_serves(tmp_path: Path) -> None:
    port = free_port()
    web = {"bind": f"127.0.0.1:{port}", "secret_key": {"$env": "TMA_WEB_SECRET"}}
    config = _config(tmp_path, sites=[], web=web)
    secret = {"TMA_WEB_SECRET": "w" * 40}
    root = tmp_path / "root"
    done = run_tma("systemd", "install", "--root", str(root), "--web", config=config, env=secret)
    assert done.returncode == 0, done.stderr
    assert "enable --now tma-agent.timer tma-agent-web.service" in done.stdout
    unit_dir = root / "etc/systemd/system"
    units = [
        unit_dir / n for n in ("tma-agent.service", "tma-agent.timer", "tma-agent-web.service")
    ]
    verified = _verify(*units)
    assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr

    unit = _directives(units[2].read_text())
    assert unit["Type"] == ["exec"] and unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"]  # a config error is not retried forever
    assert unit["User"] == ["tma-agent"] and unit["ProtectSystem"] == ["strict"]
    assert unit["ReadWritePaths"] == [str(tmp_path / "state")]
    assert unit["WantedBy"] == ["multi-user.target"]
    argv = shlex.split(unit["ExecStart"][0].replace("%%", "%"))
    assert argv[1:] == ["--config", str(config), "--log-format", "json", "serve"]
    # What systemd would start serves the dashboard where web.bind says.
    server = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **secret}
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200 and 'name="csrf"' in answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)

    # Without a secret_key the dashboard could not start: refused before anything is written.
    (tmp_path / "bare").mkdir()
    bare = _config(tmp_path / "bare", sites=[])
    refused = run_tma("systemd", "install", "--root", str(tmp_path / "r2"), "--web", config=bare)
    assert refused.returncode == 2
    assert refused.stderr.startswith("configuration error: --web: web.secret_key is not set")
    assert not (tmp_path / "r2").exists()
    # Without --web, no dashboard unit.
    printed = run_tma("systemd", "install", "--print", config=bare)
    assert printed.returncode == 0 and "tma-agent-web" not in printed.stdout


def test_install_reads_the_secrets_from_the_units_environment_file(tmp_path: Path) -> None:
    """Under sudo the shell has none of the secrets: install loads the config with the
    environment file the units will read."""
    web = {"secret_key": {"$env": "TMA_INSTALL_SECRET"}}
    config = _config(tmp_path, sites=[], web=web)
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    missing = run_tma("systemd", "install", "--user", "--web", config=config, env=env)
    assert missing.returncode == 2
    assert "environment variable TMA_INSTALL_SECRET is not set" in missing.stderr

    environment = home / ".config/tma-agent/environment"
    environment.parent.mkdir(parents=True)
    secret = 'a "quoted" secret of forty characters ....'
    quoted = secret.replace('"', '\\"')
    environment.write_text(
        f'# secrets of tma-agent\n; another comment\n\n  TMA_INSTALL_SECRET = "{quoted}"\n'
        "PLAIN=as it is\nSINGLE='no \\escapes'\n"
    )
    assert read_environment_file(environment) == {
        "TMA_INSTALL_SECRET": secret,
        "PLAIN": "as it is",
        "SINGLE": "no \\escapes",
    }
    done = run_tma("systemd", "install", "--user", "--web", config=config, env=env)
    assert done.returncode == 0, done.stderr
    written = home / ".config/systemd/user/tma-agent-web.service"
    unit = _directives(written.read_text())
    assert unit["EnvironmentFile"] == ["-%h/.config/tma-agent/environment"]
    assert unit["WantedBy"] == ["default.target"]
    assert "quoted" not in written.read_text()  # the units name the file, never a secret

    environment.write_text("TMA_INSTALL_SECRET=x\nexport OTHER=1\n")
    bad = run_tma("systemd", "install", "--user", "--web", config=config, env=env)
    assert bad.returncode == 2
    assert bad.stderr == f"configuration error: {environment}:2: not NAME=value\n"

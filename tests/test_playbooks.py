"""Playbooks through the real `tma playbook` command line: loading errors with file:line,
list/show, runs on a local site and over the real sshd, dry-run, rollback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tma_agent.testing.cli import run_tma
from tma_agent.testing.sshd import SSHServer

GOOD = """\
name: touch-and-list
description: Make a file, list the tree.
variables:
  names: {required: true, description: files to create}
  mode: {default: "644"}
steps:
  - name: Create the files
    shell: [touch, "{{ names }}"]
  - shell: {argv: [chmod, "{{ mode }}", "{{ names }}"]}
  - name: List
    shell: {argv: [ls, -1], read_only: true}
    register: listing
  - name: Only when a file is there
    shell: [touch, seen-by-when]
    when: "'a.txt' in listing.stdout"
  - name: Never
    shell: [touch, never]
    when: "false"
"""

FAILING = """\
name: fail-and-undo
steps:
  - shell: [touch, made-by-step]
  - shell: [sh, -c, "exit 3"]
  - shell: [touch, after-failure]
on_failure:
  - shell: [rm, -f, made-by-step]
  - shell: [touch, undone]
"""


def _config(
    tmp_path: Path, site_path: Path, *, host: str = "local", ssh: dict | None = None
) -> Path:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir(exist_ok=True)
    config = {
        "state_dir": str(tmp_path / "state"),
        "apply": {"playbook_dirs": [str(playbooks)], "backup_dir": str(site_path.parent / "bk")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [
            {
                "id": "shop",
                "client": "acme",
                "environments": {"staging": {"host": host, "path": str(site_path)}},
            }
        ],
    }
    if ssh:
        config["ssh"] = ssh
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _playbook(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "playbooks" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def local_site(tmp_path: Path) -> tuple[Path, Path]:
    site = tmp_path / "site"
    site.mkdir()
    return _config(tmp_path, site), site


def test_run_on_a_local_site(local_site: tuple[Path, Path], tmp_path: Path) -> None:
    config, site = local_site
    _playbook(tmp_path, "good", GOOD)
    done = run_tma(
        "playbook", "run", "touch-and-list", "--site", "shop", "--var", "names=[a.txt, b.txt]",
        "--var", "mode=600", "--format", "json", config=config,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "succeeded"
    assert [s["status"] for s in outcome["steps"]] == [
        "changed",
        "changed",
        "ok",
        "changed",
        "skipped",
    ]
    assert sorted(p.name for p in site.iterdir()) == ["a.txt", "b.txt", "seen-by-when"]
    assert oct((site / "a.txt").stat().st_mode & 0o777) == "0o600"
    assert outcome["steps"][0]["commands"][0]["command"] == "touch a.txt b.txt"


def test_dry_run_prints_every_command_and_runs_nothing(
    local_site: tuple[Path, Path], tmp_path: Path
) -> None:
    config, site = local_site
    _playbook(tmp_path, "good", GOOD)
    done = run_tma(
        "playbook", "run", "touch-and-list", "--site", "shop", "--var", "names=[x y, $(touch pwned)]",
        "--dry-run", "--format", "table", config=config,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"local:{site}$ touch 'x y' '$(touch pwned)'" in done.stdout
    assert f"local:{site}$ chmod 644 'x y' '$(touch pwned)'" in done.stdout
    assert list(site.iterdir()) == []
    assert not (tmp_path / "state" / "applies").exists()


def test_values_are_data_never_code(local_site: tuple[Path, Path], tmp_path: Path) -> None:
    config, site = local_site
    _playbook(tmp_path, "good", GOOD)
    hostile = "$(touch pwned);`touch pwned2`|touch pwned3"
    done = run_tma(
        "playbook", "run", "touch-and-list", "--site", "shop", "--var", f"names={hostile}",
        "--format", "json", config=config,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in site.iterdir()) == [hostile]


def test_a_failing_step_runs_on_failure_and_exits_4(
    local_site: tuple[Path, Path], tmp_path: Path
) -> None:
    config, site = local_site
    _playbook(tmp_path, "fail", FAILING)
    done = run_tma(
        "playbook", "run", "fail-and-undo", "--site", "shop", "--format", "json", config=config
    )
    assert done.returncode == 4, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "rolled_back"
    assert "step 2" in outcome["error"] and "exited 3" in outcome["error"]
    assert [p.name for p in site.iterdir()] == ["undone"]
    phases = [(s["phase"], s["status"]) for s in outcome["steps"]]
    assert phases == [
        ("steps", "changed"),
        ("steps", "failed"),
        ("on_failure", "changed"),
        ("on_failure", "changed"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("steps:\n  - shell: [ls]\n  - git.brnch: {}\n", 3, "unknown step 'git.brnch'"),
        (
            "steps:\n  - shell: [ls]\n  - shell: [touch, '{{ pakages }}']\n",
            3,
            "undeclared variable(s) pakages",
        ),
        ("steps:\n  - shell: {argv: [ls], colour: red}\n", 2, "shell: colour: unknown argument"),
        ("steps:\n  - shell: [ls]\n    register: 3x\n", 3, "register must be a variable name"),
        ('steps:\n  - shell: [ls]\n    when: "{{"\n', 2, "bad template"),
        ("name: x\nsteps: [\n", 3, "invalid YAML"),
        ("stepz: []\n", 1, "unknown key 'stepz'"),
    ],
)
def test_bad_playbooks_are_refused_with_file_and_line(
    local_site: tuple[Path, Path], tmp_path: Path, text: str, line: int, message: str
) -> None:
    config, site = local_site
    path = _playbook(tmp_path, "bad", text)
    done = run_tma("playbook", "run", str(path), "--site", "shop", config=config)
    assert done.returncode == 2
    assert f"{path}:{line}:" in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert list(site.iterdir()) == []


def test_variables_given_are_checked(local_site: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = local_site
    _playbook(tmp_path, "good", GOOD)
    missing = run_tma("playbook", "run", "touch-and-list", "--site", "shop", config=config)
    assert missing.returncode == 2 and "needs the variable(s) names" in missing.stderr
    typo = run_tma(
        "playbook", "run", "touch-and-list", "--site", "shop", "--var", "names=a", "--var", "mdoe=1",
        config=config,
    )  # fmt: skip
    assert typo.returncode == 2 and "has no variable mdoe" in typo.stderr


def test_list_and_show(local_site: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = local_site
    _playbook(tmp_path, "good", GOOD)
    _playbook(tmp_path, "broken", "steps:\n  - nope: {}\n")
    listed = json.loads(run_tma("playbook", "list", "--format", "json", config=config).stdout)
    by_name = {p["name"]: p for p in listed["playbooks"]}
    assert by_name["touch-and-list"]["origin"] == "config"
    assert by_name["touch-and-list"]["description"] == "Make a file, list the tree."
    assert "unknown step 'nope'" in by_name["broken"]["error"]
    shown = run_tma("playbook", "show", "touch-and-list", config=config)
    assert shown.returncode == 0
    assert "names (required)" in shown.stdout and "5. Never [shell]  when: false" in shown.stdout


def test_production_is_refused_without_a_validated_request(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    config = _config(tmp_path, site)
    data = yaml.safe_load(config.read_text())
    data["sites"][0]["environments"]["production"] = {"path": str(site)}
    config.write_text(yaml.safe_dump(data))
    _playbook(tmp_path, "good", GOOD)
    done = run_tma(
        "playbook", "run", "touch-and-list", "--site", "shop", "--env", "production",
        "--var", "names=a", config=config,
    )  # fmt: skip
    assert done.returncode == 6
    assert list(site.iterdir()) == []


def test_run_over_ssh_records_the_remote_pid(sshd: SSHServer, tmp_path: Path) -> None:
    site = sshd.make_shared_dir(writable=True)
    backups = sshd.make_shared_dir(writable=True)
    config = _config(
        tmp_path,
        site,
        host=f"ssh://{sshd.user}@{sshd.host}:{sshd.port}",
        ssh=sshd.settings().model_dump(),
    )
    data = yaml.safe_load(config.read_text())
    data["apply"]["backup_dir"] = str(backups)
    config.write_text(yaml.safe_dump(data))
    _playbook(tmp_path, "good", GOOD)
    done = run_tma(
        "playbook", "run", "touch-and-list", "--site", "shop", "--var", "names=[a.txt]",
        "--format", "json", config=config,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (site / "a.txt").exists() and (site / "seen-by-when").exists()
    if sshd.is_root:
        assert (site / "a.txt").stat().st_uid == os.stat(backups).st_uid  # made by the ssh user
    pid_files = list((backups / "shop").glob(".*.pid"))
    assert len(pid_files) == 1 and pid_files[0].read_text().strip().isdigit()


def test_a_template_may_stand_for_a_list_checked_once_rendered(
    local_site: tuple[Path, Path], tmp_path: Path
) -> None:
    config, _ = local_site
    _playbook(
        tmp_path,
        "codes",
        "variables:\n  codes: {default: [0, 3]}\n"
        "steps:\n  - shell: {argv: [sh, -c, 'exit 3'], ok_codes: '{{ codes }}'}\n",
    )
    done = run_tma("playbook", "run", "codes", "--site", "shop", config=config)
    assert done.returncode == 0, done.stderr
    bad = run_tma(
        "playbook", "run", "codes", "--site", "shop", "--var", "codes=[zero]", config=config
    )
    assert bad.returncode == 4
    assert "ok_codes.0: Input should be a valid integer" in bad.stdout + bad.stderr

"""The `tickets:` blocks are checked against the backend they name, with `file:line` errors."""

from __future__ import annotations

from pathlib import Path

from tma_agent.testing.cli import run_tma

BASE = """\
state_dir: {state}
tickets:
  backend: {backend}
  labels: [tma, maintenance]
{extra}clients:
  - id: acme
    name: ACME
{client}sites: []
"""


def _config(tmp_path: Path, backend: str = "ledger", extra: str = "", client: str = "") -> Path:
    path = tmp_path / "tma.yaml"
    path.write_text(
        BASE.format(state=tmp_path / "state", backend=backend, extra=extra, client=client)
    )
    return path


def test_an_unknown_backend_is_a_file_line_error(tmp_path: Path) -> None:
    done = run_tma("config", "validate", config=_config(tmp_path, backend="redmin"))
    assert done.returncode == 2
    assert "tma.yaml:3: tickets.backend: unknown ticket backend 'redmin' (known: " in done.stderr
    assert "ledger" in done.stderr and "Traceback" not in done.stderr


def test_a_key_the_backend_does_not_take_is_named_with_its_line(tmp_path: Path) -> None:
    done = run_tma("config", "validate", config=_config(tmp_path, extra="  projet: x\n"))
    assert done.returncode == 2
    assert "tma.yaml:5: tickets.projet: unknown key (did you mean 'project'?)" in done.stderr


def test_a_client_override_is_checked_where_it_is_written(tmp_path: Path) -> None:
    client = "    tickets: {backend: nowhere}\n"
    done = run_tma("config", "validate", config=_config(tmp_path, client=client))
    assert done.returncode == 2
    assert "tma.yaml:8: clients[0].tickets.backend: unknown ticket backend 'nowhere'" in done.stderr


def test_a_valid_block_passes_and_tickets_check_says_ready(tmp_path: Path) -> None:
    config = _config(tmp_path, extra="  statuses: {validated: [OK]}\n")
    assert run_tma("config", "validate", config=config).returncode == 0
    done = run_tma("tickets", "check", config=config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("tma.yaml:2: tickets (ledger): ready")

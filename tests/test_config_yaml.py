"""Hostile configuration YAML through the real `tma config validate`: recursive aliases,
alias bombs and deep nesting are `file:line` errors with exit 2, in bounded memory."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest

from tma_agent.config import load_config
from tma_agent.testing.cli import run_tma

MEMORY_LIMIT = 1024**3  # a regression must fail here, not eat the machine

ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return run_tma("config", "validate", config=path, timeout=120, preexec_fn=_limit_memory)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clients: []\nsites: &s\n  - *s\n", "tma.yaml:3: sites[0]: recursive alias"),
        ("base: &m\n  <<: *m\n", "tma.yaml:2: base: recursive alias"),
        (ALIAS_BOMB, "tma.yaml:6: f: aliases expand to more than 200000 values"),
        ("sites: " + "[" * 5000 + "]" * 5000 + "\n", "tma.yaml:1: invalid YAML: nested too deeply"),
        ("x: " + "[" * 70 + "]" * 70 + "\n", "tma.yaml:1: x" + "[0]" * 64),
    ],
    ids=["recursive", "recursive-merge", "alias-bomb", "deep-flow", "deeper-than-64"],
)
def test_hostile_yaml_is_a_config_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "tma.yaml"
    path.write_text(text)
    assert len(text.encode()) < 12_000
    done = validate(path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("configuration error: tma.yaml:")
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_the_alias_bomb_is_a_few_hundred_bytes() -> None:
    assert len(ALIAS_BOMB.encode()) < 500


def test_a_typo_beside_a_merge_key_names_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "tma.yaml"
    path.write_text(
        "clients: [{id: acme, name: ACME}]\n"
        "sites:\n"
        "  - id: one\n"
        "    client: acme\n"
        "    environments:\n"
        "      production: &prod {host: local, path: /srv/www}\n"
        "      staging: {<<: *prod, hots: typo}\n"
    )
    done = validate(path)
    assert done.returncode == 2
    assert "tma.yaml:7: sites[0].environments.staging.hots: unknown key" in done.stderr


def test_aliases_resolve_to_the_anchored_values(tmp_path: Path) -> None:
    path = tmp_path / "tma.yaml"
    path.write_text(
        "clients: [{id: acme, name: ACME}]\n"
        "sites:\n"
        "  - id: one\n"
        "    client: acme\n"
        "    environments: {production: &prod {host: local, path: /srv/www}}\n"
        "  - {id: two, client: acme, environments: {production: {<<: *prod, path: /srv/two}}}\n"
        "  - {id: three, client: acme, environments: {production: *prod}}\n"
    )
    config = load_config(path)
    paths = [site.environments["production"].path for site in config.sites]
    assert paths == ["/srv/www", "/srv/two", "/srv/www"]

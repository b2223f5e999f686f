from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tma_agent._secrets import mask
from tma_agent.config import find_config_path, load_config
from tma_agent.errors import ConfigError

ROOT = Path(__file__).parent.parent

GOOD = """\
state_dir: /tmp/tma-state
ssh: {key_file: ~/.ssh/id_ed25519, known_hosts: ~/.ssh/known_hosts, connect_timeout: 10}
sources:
  drupal: {url: https://updates.example/release-history}
clients:
  - {id: acme, name: ACME SA, contract: {days: 10, hours_per_day: 7, period: monthly}}
sites:
  - id: acme-www
    client: acme
    stack: drupal
    check: production
    environments:
      production: {host: "ssh://deploy@prod.acme.example:22", path: /var/www/acme, url: https://acme.example}
      staging: {host: local, path: /srv/acme-staging, url: http://staging.acme.test, ssh: {connect_timeout: 3}}
"""


def write(tmp_path: Path, text: str, name: str = "tma.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_the_issue_shape_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    site = config.sites[0]
    assert site.check_env == "production"
    assert config.sources["drupal"].url == "https://updates.example/release-history"
    assert config.ssh_for(site, "staging").connect_timeout == 3
    assert config.ssh_for(site, "production").connect_timeout == 10
    assert config.clients[0].contract is not None and config.clients[0].contract.days == 10


def test_the_shipped_example_is_valid() -> None:
    config = load_config(ROOT / "config.example.yaml")
    assert [s.id for s in config.sites] == ["acme-www"]


def test_unknown_key_names_file_line_and_path(tmp_path: Path) -> None:
    text = GOOD.replace("      staging: {host: local,", "      staging: {hots: local,")
    message = error_of(tmp_path, text)
    assert "tma.yaml:14: sites[0].environments.staging.hots: unknown key" in message


def test_bad_host_spec_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('"ssh://deploy@prod.acme.example:22"', '"ftp://prod.acme.example"')
    message = error_of(tmp_path, text)
    assert message.startswith("tma.yaml:13: sites[0].environments.production.host: ")


def test_third_site_error_points_at_its_own_line(tmp_path: Path) -> None:
    text = GOOD + (
        "  - id: second\n    client: acme\n    environments: {production: {host: local, path: /srv/a}}\n"
        "  - id: third\n    client: acme\n    environments:\n"
        "      staging: {host: local, path: relative/path}\n"
    )
    message = error_of(tmp_path, text)
    assert "tma.yaml:21: sites[2].environments.staging.path: must be an absolute path" in message


def test_unknown_client_reference(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("    client: acme", "    client: nobody"))
    assert "tma.yaml:9: sites[0].client: unknown client 'nobody'" in message


def test_duplicate_site_ids(tmp_path: Path) -> None:
    text = GOOD + "  - {id: acme-www, client: acme, environments: {p: {path: /x}}}\n"
    assert "sites[1].id: duplicate site id 'acme-www'" in error_of(tmp_path, text)


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        GOOD.replace("    check: production\n", "    check: production\n    check: staging\n"),
    )
    assert "tma.yaml:12: sites[0].check: duplicate key" in message


def test_check_must_name_an_environment(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("check: production", "check: prod"))
    assert "sites[0]" in message and "no environment named 'prod'" in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "clients:\n  - {id: a, name: [unclosed\nsites: []\n")
    assert message.startswith("tma.yaml:3: invalid YAML")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.yaml")


def test_env_and_file_secrets_are_resolved_and_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMA_TEST_KEYFILE", "/secret/key-from-env")
    (tmp_path / "kh").write_text("/secret/known-hosts-from-file\n")
    text = GOOD.replace(
        "key_file: ~/.ssh/id_ed25519", "key_file: {$env: TMA_TEST_KEYFILE}"
    ).replace("known_hosts: ~/.ssh/known_hosts", "known_hosts: {$file: kh}")
    config = load_config(write(tmp_path, text))
    assert config.ssh.key_file == "/secret/key-from-env"
    assert config.ssh.known_hosts == "/secret/known-hosts-from-file"
    assert mask("using /secret/key-from-env now") == "using *** now"


def test_missing_env_secret_names_variable_and_line(tmp_path: Path) -> None:
    text = GOOD.replace("key_file: ~/.ssh/id_ed25519", "key_file: {$env: TMA_DEFINITELY_UNSET}")
    assert (
        "tma.yaml:2: ssh.key_file: environment variable TMA_DEFINITELY_UNSET is not set"
        in error_of(tmp_path, text)
    )


def test_config_path_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMA_CONFIG", raising=False)
    assert find_config_path(None) == Path("tma.yaml")
    monkeypatch.setenv("TMA_CONFIG", "/etc/tma/x.yaml")
    assert find_config_path(None) == Path("/etc/tma/x.yaml")
    assert find_config_path("mine.yaml") == Path("mine.yaml")


def test_http_block_sets_the_fetcher_deadline_and_tries(tmp_path: Path) -> None:
    from tma_agent.sources import Fetcher

    config = load_config(write(tmp_path, GOOD + "http: {timeout: 2.5, retries: 1}\n"))
    assert (config.http.timeout, config.http.retries) == (2.5, 1)
    with Fetcher.from_config(config) as fetcher:
        assert fetcher._wire.policy.timeout == 2.5
        assert fetcher._wire.policy.retries == 1
    default = load_config(write(tmp_path, GOOD))
    assert (default.http.timeout, default.http.retries) == (30.0, 3)


def test_http_timeout_must_be_positive(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD + "http:\n  timeout: 0\n")
    assert "tma.yaml:16: http.timeout: Input should be greater than 0" in message

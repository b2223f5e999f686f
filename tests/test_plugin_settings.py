"""Settings plugins declare (`tma_register_settings`): `sites[].options` and stack-specific
`sources` keys are checked when the config is loaded, through the real CLI in a subprocess with
a config file on disk and real site trees; typed values reach the plugins at run time."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel
from tma_drupal.testing.trees import build_drupal10
from tma_npm.testing.trees import build_npm_site
from tma_wordpress import security
from tma_wordpress.settings import FEED_NAMES

from tma_agent.errors import ConfigError
from tma_agent.hookspecs import hookimpl
from tma_agent.plugin_settings import SettingsInfo, registered_settings
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.settings import Strict
from tma_agent.testing.cli import run_tma

ROOT = Path(__file__).parent.parent


def tma(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_tma(*args, cwd=cwd, env=env, timeout=120)


def config_file(tmp_path: Path, sites: str, sources: str = "{}") -> Path:
    """`tmp_path/tma.yaml` with one client and the given YAML blocks (indented as written)."""
    text = (
        f"state_dir: {tmp_path / 'state'}\n"
        "clients:\n  - {id: acme, name: ACME}\n"
        f"sources: {sources}\n"
        f"sites:\n{sites}"
    )
    path = tmp_path / "tma.yaml"
    path.write_text(text)
    return path


def site(site_id: str, path: Path | str, *, stack: str | None = None, options: str = "") -> str:
    lines = [f"  - id: {site_id}", "    client: acme"]
    if stack:
        lines.append(f"    stack: {stack}")
    if options:
        lines.append("    options:")
        lines += [f"      {line}" for line in options.splitlines()]
    lines.append(f"    environments: {{production: {{path: {path}}}}}")
    return "\n".join(lines) + "\n"


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the file where `needle` first appears."""
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def assert_config_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


# --- Every stack's settings, valid -------------------------------------------------------------

EVERY_STACK = {
    "drupal": "",
    "wordpress": (
        "content_dir: /srv/wp/wp-content\n"
        'php_version: "8.2"\n'
        "vulnerability_sources: [wordfence, wpscan]"
    ),
    "magento": "composer_transitive: true",
    "prestashop": "",
    "composer": "composer_transitive: false",
    "npm": "npm_dir: frontend",
}

EVERY_SOURCE = """
  drupal: {url: http://127.0.0.1:9/release-history}
  composer:
    repositories:
      - {url: http://127.0.0.1:9/mirror}
      - {url: http://127.0.0.1:9/market, auth: {username: pub, password: {$env: TMA_TEST_KEY}}}
  npm: {url: http://127.0.0.1:9/npm, token: {$env: TMA_TEST_KEY}}
  wordfence: {url: http://127.0.0.1:9/wordfence, token: {$env: TMA_TEST_KEY}}
  wpscan: {token: {$env: TMA_TEST_KEY}}
  prestashop: {modules: /etc/tma/modules.json, advisories: http://127.0.0.1:9/advisories.json}"""


def test_a_valid_config_of_every_stack_validates(tmp_path: Path) -> None:
    sites = "".join(
        site(f"{stack}-site", f"/srv/{stack}", stack=stack, options=options)
        for stack, options in EVERY_STACK.items()
    )
    path = config_file(tmp_path, sites, EVERY_SOURCE)
    result = tma(tmp_path, "config", "validate", env={"TMA_TEST_KEY": "s3cret-key"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path.name}: valid (1 clients, 6 sites)"
    # The six built-in stacks are the ones this config covers.
    assert set(EVERY_STACK) == set(registered_stacks(get_plugin_manager()))


# --- Mistakes: file:line, exit 2, before any site is read ---------------------------------------


def test_a_site_option_typo_is_an_error_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    front = build_npm_site(tmp_path / "front", dependencies={"vite": ("^5.0.0", "5.0.2")})
    path = config_file(
        tmp_path,
        site("shop", "/srv/shop", stack="drupal") + site("front", front, options="npm_dri: web"),
    )
    expected = f"tma.yaml:{line_of(path, 'npm_dri')}: sites[1].options.npm_dri: unknown key"
    result = tma(tmp_path, "config", "validate")
    assert_config_error(result, expected, "(did you mean 'npm_dir'?)")
    # `tma check` stops at the same point: nothing is read, no state directory is made.
    result = tma(tmp_path, "check", "--format", "json")
    assert_config_error(result, expected)
    assert result.stdout == "" and not (tmp_path / "state").exists()


def test_an_option_of_another_stack_names_the_keys_this_stack_takes(tmp_path: Path) -> None:
    path = config_file(tmp_path, site("blog", "/srv/blog", stack="wordpress", options="npm_dir: x"))
    assert_config_error(
        tma(tmp_path, "config", "validate"),
        f"tma.yaml:{line_of(path, 'npm_dir')}: sites[0].options.npm_dir: unknown key "
        "(stack wordpress takes: content_dir, php_version, vulnerability_sources)",
    )


def test_a_stack_without_options_takes_none(tmp_path: Path) -> None:
    config_file(tmp_path, site("d", "/srv/d", stack="drupal", options="composer_transitive: true"))
    assert_config_error(
        tma(tmp_path, "config", "validate"),
        "sites[0].options.composer_transitive: unknown key (stack drupal takes none)",
    )


@pytest.mark.parametrize(
    ("stack", "option", "message"),
    [
        ("composer", 'composer_transitive: "yes"', "must be true or false"),
        ("wordpress", "php_version: 8.10", 'must be a quoted PHP version such as "8.2"'),
        ("wordpress", "content_dir: wp-content", "must be an absolute path, not 'wp-content'"),
        ("wordpress", "vulnerability_sources: wordfence", "Input should be a valid list"),
        (
            "wordpress",
            "vulnerability_sources: [wordfense]",
            "unknown source 'wordfense' (known: wordfence, wpscan)",
        ),
        ("npm", "npm_dir: ../elsewhere", "must be a relative path inside the site path"),
    ],
)
def test_a_wrong_typed_or_bad_site_option_names_its_line(
    tmp_path: Path, stack: str, option: str, message: str
) -> None:
    key = option.split(":")[0]
    path = config_file(tmp_path, site("s", "/srv/s", stack=stack, options=option))
    assert_config_error(
        tma(tmp_path, "config", "validate"),
        f"tma.yaml:{line_of(path, key)}: sites[0].options.{key}: {message}",
    )


def test_a_wrong_typed_source_key_names_its_line(tmp_path: Path) -> None:
    sources = (
        "\n  composer:\n    repositories: {url: http://127.0.0.1:9/mirror}"
        "\n  wpscan: {token: 12345}"
    )
    path = config_file(tmp_path, site("s", "/srv/s", stack="composer"), sources)
    assert_config_error(
        tma(tmp_path, "config", "validate"),
        f"tma.yaml:{line_of(path, 'repositories')}: sources.composer.repositories: "
        "Input should be a valid list",
        f"tma.yaml:{line_of(path, 'token: 12345')}: sources.wpscan.token: "
        "Input should be a valid string",
    )


def test_unknown_source_keys_are_errors(tmp_path: Path) -> None:
    sources = (
        "\n  npm: {url: http://127.0.0.1:9/npm, tokn: abcd}"
        "\n  drupal: {url: http://127.0.0.1:9/rh, token: abcd}"
        "\n  composer: {repositories: [{url: http://127.0.0.1:9/m, user: x}]}"
    )
    path = config_file(tmp_path, site("s", "/srv/s", stack="npm"), sources)
    assert_config_error(
        tma(tmp_path, "config", "validate"),
        f"tma.yaml:{line_of(path, 'tokn')}: sources.npm.tokn: unknown key (did you mean 'token'?)",
        f"tma.yaml:{line_of(path, 'drupal:')}: sources.drupal.token: unknown key "
        "(sources.drupal takes: url)",
        "sources.composer.repositories[0].user: unknown key",
    )


def test_a_secret_in_a_rejected_value_stays_masked(tmp_path: Path) -> None:
    config_file(tmp_path, site("s", "/srv/s", stack="npm", options="npm_dir: {$env: TMA_TEST_DIR}"))
    result = tma(tmp_path, "config", "validate", env={"TMA_TEST_DIR": "../private-dir"})
    assert_config_error(result, "sites[0].options.npm_dir: must be a relative path", "'***'")
    assert "private-dir" not in result.stderr


# --- Sites whose stack is detected ---------------------------------------------------------------


def test_without_a_stack_options_must_suit_some_stack(tmp_path: Path) -> None:
    config_file(tmp_path, site("s", "/srv/s", options="npm_dri: web"))
    assert_config_error(
        tma(tmp_path, "config", "validate"),
        "sites[0].options.npm_dri: unknown key (did you mean 'npm_dir'?)",
    )
    config_file(tmp_path, site("s", "/srv/s", options="npm_dir: web"))
    assert tma(tmp_path, "config", "validate").returncode == 0


def test_options_of_another_stack_than_the_detected_one_are_that_sites_error(
    tmp_path: Path,
) -> None:
    # Both sites' options suit some stack, so the config is valid; detection then finds npm
    # and Drupal, whose plugins reject them before reading anything else or asking upstream.
    front = build_npm_site(tmp_path / "front", dependencies={"vite": ("^5.0.0", "5.0.2")})
    drupal = build_drupal10(tmp_path / "drupal", modules={}).project_root
    sites = site("front", front, options="content_dir: /srv/wp-content") + site(
        "drupal", drupal, options="composer_transitive: true"
    )
    config_file(tmp_path, sites)
    assert tma(tmp_path, "config", "validate").returncode == 0
    result = tma(tmp_path, "check", "--format", "json")
    assert result.returncode == 0, result.stderr
    reports = {r["site"]: r for r in json.loads(result.stdout)["sites"]}
    assert (reports["front"]["stack"], reports["front"]["status"]) == ("npm", "error")
    assert reports["front"]["error"] == "site front: options.content_dir: unknown key"
    assert (reports["drupal"]["stack"], reports["drupal"]["status"]) == ("drupal", "error")
    assert reports["drupal"]["error"] == (
        "site drupal: options: stack drupal takes no options (given: composer_transitive)"
    )


# --- A plugin from elsewhere declares its own --------------------------------------------------

FLATFILE = textwrap.dedent("""
    from __future__ import annotations

    from typing import Literal

    from tma_agent.hookspecs import hookimpl
    from tma_agent.models import StackInfo
    from tma_agent.plugin_settings import SettingsInfo
    from tma_agent.settings import Strict


    class FlatfileOptions(Strict):
        edition: Literal["lite", "pro"] = "lite"


    @hookimpl
    def tma_register_stacks(register):
        register(StackInfo("flatfile", "Flat-file CMS"))


    @hookimpl
    def tma_register_settings(register):
        register(SettingsInfo("options", "flatfile", FlatfileOptions))
""")


def test_a_third_party_stack_declares_its_options_with_plain_hooks(tmp_path: Path) -> None:
    packages = tmp_path / "site-packages"
    dist = packages / "tma_flatfile-0.1.dist-info"
    dist.mkdir(parents=True)
    (packages / "tma_flatfile.py").write_text(FLATFILE)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tma-flatfile\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[tma_agent]\nflatfile = tma_flatfile\n")
    env = {"PYTHONPATH": str(packages)}
    config_file(tmp_path, site("flat", "/srv/flat", stack="flatfile", options="edition: pro"))
    assert tma(tmp_path, "config", "validate", env=env).returncode == 0
    path = config_file(
        tmp_path, site("flat", "/srv/flat", stack="flatfile", options="edition: max")
    )
    assert_config_error(
        tma(tmp_path, "config", "validate", env=env),
        f"tma.yaml:{line_of(path, 'edition')}: sites[0].options.edition: "
        "Input should be 'lite' or 'pro'",
    )


# --- The registry ---------------------------------------------------------------------------------


class _OtherRepositories(Strict):
    mirrors: list[str] = []


class _Plugin:
    def __init__(self, *infos: SettingsInfo) -> None:
        self.infos = infos

    @hookimpl
    def tma_register_settings(self, register: object) -> None:
        for info in self.infos:
            register(info)


def test_built_in_settings_are_documented_in_the_example_and_their_fields() -> None:
    registry = registered_settings(get_plugin_manager())
    assert set(registry.options) == {"wordpress", "npm", "composer", "magento"}
    assert set(registry.sources) == {"composer", "npm", "wordfence", "wpscan", "prestashop"}
    assert set(registry.sources) <= set(registered_sources(get_plugin_manager()))
    example = (ROOT / "config.example.yaml").read_text()
    models: list[type[BaseModel]] = [*registry.options.values(), *registry.sources.values()]
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert name in example, f"config.example.yaml does not mention {name}"
    assert FEED_NAMES == security.FEED_NAMES


def test_one_source_may_share_a_model_but_not_have_two() -> None:
    pm = get_plugin_manager()
    # Composer and Magento already both declare the composer source's model: no conflict.
    shared = registered_settings(pm).sources["composer"]
    pm.register(_Plugin(SettingsInfo("sources", "composer", shared)), name="same")
    assert registered_settings(pm).sources["composer"] is shared
    pm.register(_Plugin(SettingsInfo("sources", "composer", _OtherRepositories)), name="other")
    with pytest.raises(ConfigError, match="two plugins declare different settings for sources"):
        registered_settings(pm)


def test_an_unknown_scope_is_refused() -> None:
    pm = get_plugin_manager()
    bad = SettingsInfo("site", "npm", _OtherRepositories)
    pm.register(_Plugin(bad), name="bad-scope")
    with pytest.raises(ConfigError, match="unknown scope 'site'"):
        registered_settings(pm)

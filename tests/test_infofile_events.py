"""The Drupal info-file parser reads libyaml events: it must give what PyYAML's SafeLoader gives
for the fields the agent reads, and keep refusing what is unsafe, with one-line errors."""

from __future__ import annotations

import pytest
import yaml
from tma_drupal.infofiles import MAX_INFO_DEPTH, parse_info_file


def _parse(content: str) -> tuple[str | None, str | None, str | None, int | None]:
    info = parse_info_file("modules/m/m.info.yml", content, drupal7=False)
    return info.error, info.version, info.project, info.datestamp


@pytest.mark.parametrize(
    "content",
    [
        "name: M\nversion: '8.x-1.2'\nproject: 'm'\ndatestamp: 1700000000\n",
        "version: 1.10\nproject: p\n",  # a plain float: SafeLoader says 1.1
        "version: ~\nproject: null\n",
        "version: true\n",
        'version: !!str 1.10\nproject: "q"\n',
        "version: 'a'\nversion: 'b'\n",  # the last duplicate wins
        "{version: x, type: profile}\n",
        "libraries:\n  - a\n  - {b: [c, d]}\nversion: z\ndependencies: [drupal:node]\n",
        'x: |\n  text\n  more\nversion: "8.x-1.0"\n',
    ],
)
def test_fields_are_what_safe_load_gives(content: str) -> None:
    data = yaml.safe_load(content)
    expected = {k: None if data.get(k) is None else str(data[k]) for k in ("version", "project")}
    error, version, project, _ = _parse(content)
    assert (error, version, project) == (None, expected["version"], expected["project"])


def test_datestamp_and_kind() -> None:
    info = parse_info_file(
        "themes/t/t.info.yml", "type: theme\ndatestamp: '1700000000'\n", drupal7=False
    )
    assert (info.kind, info.datestamp, info.error) == ("theme", 1700000000, None)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("a: &a [x]\nb: *a\n", "YAML anchors and aliases are not allowed in an info file"),
        ("&top\nversion: x\n", "YAML anchors and aliases are not allowed in an info file"),
        ("k: " + "[" * MAX_INFO_DEPTH + "]" * MAX_INFO_DEPTH + "\n", "nested deeper than 16"),
        ("k: " + "{a: " * 5000, "nested deeper than 16"),  # libyaml's own limit comes first
        ("".join(" " * i + "a:\n" for i in range(300)), "nested deeper than 16"),
        ("- a\n- b\n", "not a YAML mapping"),
        ("", "not a YAML mapping"),
        ("---\na: 1\n---\nb: 2\n", "invalid YAML (expected a single document"),
        ("\x00bad: 1\n", "invalid YAML (unacceptable character"),
        ("version: !php/object x\n", "invalid YAML (could not determine a constructor"),
        ("a: b: c\n", "invalid YAML (mapping values are not allowed"),
    ],
)
def test_refusals_are_one_line(content: str, error: str) -> None:
    found = _parse(content)[0]
    assert found is not None and found.startswith(error) and "\n" not in found


def test_nesting_just_under_the_limit_is_fine() -> None:
    depth = MAX_INFO_DEPTH - 1
    assert _parse("k: " + "[" * depth + "]" * depth + "\nversion: y\n")[:2] == (None, "y")

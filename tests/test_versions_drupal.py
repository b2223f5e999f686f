"""Drupal version strings: the three numbering schemes and the Composer mapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tma_agent.versions import (
    compare,
    composer_to_drupal_candidates,
    drupal_branch_major,
    drupal_major,
    drupal_to_composer,
    parse_drupal,
)


@pytest.mark.parametrize(
    ("raw", "prefix", "major", "minor", "patch", "extra"),
    [
        ("8.x-1.2", "8.x", 1, None, 2, None),
        ("7.x-3.0-rc1", "7.x", 3, None, 0, "rc1"),
        ("2.0.1", None, 2, 0, 1, None),
        ("10.2.3", None, 10, 2, 3, None),
        ("7.98", None, 7, None, 98, None),
        ("8.x-1.x-dev", "8.x", 1, None, None, "dev"),
        ("2.0.x-dev", None, 2, 0, None, "dev"),
        ("11.0.0-beta1", None, 11, 0, 0, "beta1"),
    ],
)
def test_parse_drupal(
    raw: str,
    prefix: str | None,
    major: int,
    minor: int | None,
    patch: int | None,
    extra: str | None,
) -> None:
    version = parse_drupal(raw)
    assert (version.core_prefix, version.major, version.minor, version.patch, version.extra) == (
        prefix,
        major,
        minor,
        patch,
        extra,
    )
    assert drupal_major(raw) == major


@pytest.mark.parametrize("raw", ["", "VERSION", "1", "8.x-1", "1.x", "8.x-1.2; rm -rf /", "a.b.c"])
def test_parse_drupal_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_drupal(raw)


def test_branch_major() -> None:
    assert [drupal_branch_major(b) for b in ("8.x-1.", "2.0.", "10.2.", "7.")] == [1, 2, 10, 7]
    with pytest.raises(ValueError):
        drupal_branch_major("8.x-1")


def test_order_within_a_major() -> None:
    ordered = [
        "8.x-1.x-dev",
        "8.x-1.0-alpha1",
        "8.x-1.0-beta2",
        "8.x-1.0-rc1",
        "8.x-1.0",
        "8.x-1.10",
    ]
    keys = [parse_drupal(v).sort_key() for v in ordered]
    assert keys == sorted(keys)


def test_composer_mapping() -> None:
    assert drupal_to_composer("8.x-1.2") == "1.2.0"
    assert drupal_to_composer("8.x-1.2-beta1") == "1.2.0-beta1"
    assert drupal_to_composer("2.0.1") == "2.0.1"
    assert drupal_to_composer("8.x-1.x-dev") == "1.x-dev"
    assert composer_to_drupal_candidates("1.2.0") == ["1.2.0", "8.x-1.2"]
    assert composer_to_drupal_candidates("2.0.1") == ["2.0.1"]
    assert composer_to_drupal_candidates("3.0.0-rc1", core_prefix="7.x") == [
        "3.0.0-rc1",
        "7.x-3.0-rc1",
    ]


def test_existing_compare_untouched() -> None:
    assert compare("10.2.3", "10.2.4") == -1
    assert compare("1.0.0", "1.0.0-rc1") == 1


@given(
    major=st.integers(0, 30),
    patch=st.integers(0, 99),
    extra=st.sampled_from(["", "-alpha1", "-beta3", "-rc2"]),
)
def test_legacy_versions_survive_composer(major: int, patch: int, extra: str) -> None:
    legacy = f"8.x-{major}.{patch}{extra}"
    assert legacy in composer_to_drupal_candidates(drupal_to_composer(legacy))


def test_composer_dev_branch() -> None:
    assert composer_to_drupal_candidates("1.x-dev") == ["1.x-dev", "8.x-1.x-dev"]
    assert drupal_to_composer("8.x-1.x-dev") == "1.x-dev"

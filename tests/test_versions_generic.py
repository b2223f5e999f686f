"""The generic ordering used for WordPress core, plugins and themes, and PrestaShop:
property-based checks that it is a total order where releases beat their pre-releases and
`-pN` patch releases follow the release they patch."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tma_agent.versions import Version, compare, is_stable

numbers = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4)
tags = st.sampled_from(["", "-alpha", "-beta2", "-RC1", "-rc3", "-p1", "-p12"])


@st.composite
def versions(draw: st.DrawFn) -> str:
    return ".".join(map(str, draw(numbers))) + draw(tags)


@given(versions(), versions(), versions())
def test_compare_is_a_total_order(a: str, b: str, c: str) -> None:
    assert compare(a, b) == -compare(b, a)
    assert compare(a, a) == 0
    if compare(a, b) <= 0 and compare(b, c) <= 0:
        assert compare(a, c) <= 0


@given(numbers, st.sampled_from(["-alpha", "-beta1", "-RC2"]))
def test_a_release_is_newer_than_its_pre_releases(parts: list[int], tag: str) -> None:
    release = ".".join(map(str, parts))
    assert compare(release + tag, release) < 0
    assert is_stable(release) and not is_stable(release + tag)


@given(numbers, st.integers(min_value=1, max_value=20))
def test_patch_releases_follow_their_release_and_precede_the_next(
    parts: list[int], patch: int
) -> None:
    release = ".".join(map(str, parts))
    following = ".".join(map(str, [*parts[:-1], parts[-1] + 1]))
    assert compare(release, f"{release}-p{patch}") < 0
    assert compare(f"{release}-p{patch}", f"{release}-p{patch + 1}") < 0
    assert compare(f"{release}-p{patch}", following) < 0


@given(numbers, st.integers(min_value=1, max_value=3))
def test_trailing_zeros_do_not_matter(parts: list[int], zeros: int) -> None:
    release = ".".join(map(str, parts))
    assert Version(release) == Version(release + ".0" * zeros)


def test_wordpress_examples() -> None:
    ordered = ["6.1", "6.1.9", "6.1.10", "6.5-beta2", "6.5-RC1", "6.5", "6.7.1"]
    assert sorted(ordered, key=Version) == ordered

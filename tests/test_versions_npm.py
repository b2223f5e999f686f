"""npm semver: properties (hypothesis), node-semver's documented examples, and a differential
check against the real node-semver, the exact release scripts/setup installs for the tests."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tma_agent.versions import NpmRange, NpmVersion, max_satisfying, npm_satisfies

# --- Strategies -------------------------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=4)
pre_ids = st.sampled_from(["alpha", "beta", "rc", "0", "1", "2", "11", "x-y", "a1"])
prereleases = st.lists(pre_ids, min_size=1, max_size=3).map(".".join)
builds = st.sampled_from(["", "+build", "+sha.5114f85", "+001"])


@st.composite
def versions(draw: st.DrawFn, *, pre: bool | None = None) -> str:
    main = ".".join(str(draw(numbers)) for _ in range(3))
    with_pre = draw(st.booleans()) if pre is None else pre
    tag = "-" + draw(prereleases) if with_pre else ""
    return main + tag + draw(builds)


@st.composite
def partials(draw: st.DrawFn, *, pre: bool = True) -> str:
    """`1`, `1.x`, `1.2.*`, `1.2.3`, `1.2.3-beta.1`: what a comparator or hyphen end holds."""
    parts = [str(draw(numbers))]
    for _ in range(draw(st.integers(0, 2))):
        parts.append(draw(st.sampled_from([str(draw(numbers)), "x", "X", "*"])))
    text = ".".join(parts)
    if len(parts) == 3 and parts[2].isdigit() and pre and draw(st.booleans()):
        text += "-" + draw(prereleases)
    return draw(st.sampled_from(["", "", "v"])) + text


@st.composite
def simple_ranges(draw: st.DrawFn, *, pre: bool = True) -> str:
    if draw(st.integers(0, 5)) == 0:
        return f"{draw(partials(pre=pre))} - {draw(partials(pre=pre))}"
    comparators = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["", "=", "<", "<=", ">", ">=", "^", "~", "~>"]))
        space = draw(st.sampled_from(["", "", " "]))
        comparators.append(op + space + draw(partials(pre=pre)))
    return " ".join(comparators)


def ranges(*, pre: bool = True) -> st.SearchStrategy[str]:
    return st.lists(simple_ranges(pre=pre), min_size=1, max_size=3).map(" || ".join)


def valid(range_: str) -> bool:
    try:
        NpmRange(range_)
    except ValueError:
        return False
    return True


# --- Properties -------------------------------------------------------------------------------


@given(versions(), versions(), versions())
def test_precedence_is_a_total_order(a: str, b: str, c: str) -> None:
    va, vb, vc = NpmVersion(a), NpmVersion(b), NpmVersion(c)
    assert sum([va < vb, va == vb, va > vb]) == 1
    if va == vb:
        assert hash(va) == hash(vb)
    if va <= vb and vb <= vc:
        assert va <= vc
    assert sorted([va, vb, vc]) == sorted([vc, vb, va])


@given(versions(pre=False), prereleases)
def test_prerelease_sorts_before_its_release_and_build_is_ignored(main: str, tag: str) -> None:
    release = main.split("+")[0]
    assert NpmVersion(f"{release}-{tag}") < NpmVersion(release)
    assert NpmVersion(f"{release}+any.build") == NpmVersion(release)
    assert str(NpmVersion(f"v{release}-{tag}+b")) == f"{release}-{tag}"


def caret_bounds(major: int, minor: int, patch: int) -> str:
    if major:
        return f">={major}.{minor}.{patch} <{major + 1}.0.0-0"
    if minor:
        return f">=0.{minor}.{patch} <0.{minor + 1}.0-0"
    return f">=0.0.{patch} <0.0.{patch + 1}-0"


@given(numbers, numbers, numbers, versions())
def test_caret_is_its_documented_comparators(m: int, n: int, p: int, version: str) -> None:
    assert npm_satisfies(version, f"^{m}.{n}.{p}") == npm_satisfies(version, caret_bounds(m, n, p))
    assert npm_satisfies(version, "^1.2.3") == npm_satisfies(version, ">=1.2.3 <2.0.0-0")


@given(numbers, numbers, numbers, versions())
def test_tilde_is_its_documented_comparators(m: int, n: int, p: int, version: str) -> None:
    expected = npm_satisfies(version, f">={m}.{n}.{p} <{m}.{n + 1}.0-0")
    assert npm_satisfies(version, f"~{m}.{n}.{p}") == expected
    assert npm_satisfies(version, "~1.2.3") == npm_satisfies(version, ">=1.2.3 <1.3.0-0")


@given(simple_ranges(), simple_ranges(), versions())
def test_or_is_the_union_of_its_sets(left: str, right: str, version: str) -> None:
    assume(valid(left) and valid(right))
    either = npm_satisfies(version, left) or npm_satisfies(version, right)
    assert npm_satisfies(version, f"{left} || {right}") == either


@given(ranges(pre=False), versions(pre=True))
def test_prereleases_never_match_a_range_without_prerelease_opt_in(
    range_: str, version: str
) -> None:
    assume(valid(range_))
    assert not npm_satisfies(version, range_)
    # ...but the same version is in reach once a comparator names its major.minor.patch.
    assert npm_satisfies(version, f">={version}")


@given(st.lists(versions(), max_size=8), ranges())
def test_max_satisfying_is_the_highest_match(candidates: list[str], range_: str) -> None:
    assume(valid(range_))
    best = max_satisfying(candidates, range_)
    matching = [NpmVersion(v) for v in candidates if npm_satisfies(v, range_)]
    if not matching:
        assert best is None
    else:
        assert best is not None
        assert NpmVersion(best) == max(matching)
        assert best in candidates


# --- node-semver's documented examples (README "Ranges") --------------------------------------

DESUGARED = [
    ("1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"),
    ("1.2 - 2.3.4", ">=1.2.0 <=2.3.4"),
    ("1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"),
    ("1.2.3 - 2", ">=1.2.3 <3.0.0-0"),
    ("*", ""),
    ("", ""),
    ("1.x", ">=1.0.0 <2.0.0-0"),
    ("1.2.x", ">=1.2.0 <1.3.0-0"),
    ("1", ">=1.0.0 <2.0.0-0"),
    ("1.2", ">=1.2.0 <1.3.0-0"),
    ("~1.2.3", ">=1.2.3 <1.3.0-0"),
    ("~1.2", ">=1.2.0 <1.3.0-0"),
    ("~1", ">=1.0.0 <2.0.0-0"),
    ("~0.2.3", ">=0.2.3 <0.3.0-0"),
    ("~0.2", ">=0.2.0 <0.3.0-0"),
    ("~0", "<1.0.0-0"),  # `>=0.0.0` is "any", dropped next to another comparator
    ("~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"),
    ("^1.2.3", ">=1.2.3 <2.0.0-0"),
    ("^0.2.3", ">=0.2.3 <0.3.0-0"),
    ("^0.0.3", ">=0.0.3 <0.0.4-0"),
    ("^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"),
    ("^0.0.3-beta", ">=0.0.3-beta <0.0.4-0"),
    ("^1.2.x", ">=1.2.0 <2.0.0-0"),
    ("^0.0.x", "<0.1.0-0"),
    ("^0.0", "<0.1.0-0"),
    ("^1.x", ">=1.0.0 <2.0.0-0"),
    ("^0.x", "<1.0.0-0"),
    (">1", ">=2.0.0"),
    ("<=0.7.x", "<0.8.0-0"),
    ("> 1.2.3   < 1.2.5", ">1.2.3 <1.2.5"),
    ("~> 1.2", ">=1.2.0 <1.3.0-0"),
    ("=1.2.3", "1.2.3"),
    (">*", "<0.0.0-0"),
    ("1.2.3 || *", ""),
]


@pytest.mark.parametrize(("range_", "desugared"), DESUGARED)
def test_desugars_like_the_readme(range_: str, desugared: str) -> None:
    assert str(NpmRange(range_)) == desugared


MATCHES = [
    (">=1.2.7", ["1.2.7", "1.2.8", "2.5.3", "1.3.9"], ["1.2.6", "1.1.0"]),
    (">1", ["2.0.0", "3.1.0"], ["1.0.1", "1.1.0"]),
    (">=1.2.7 <1.3.0", ["1.2.7", "1.2.8", "1.2.99"], ["1.2.6", "1.3.0", "1.1.0"]),
    ("1.2.7 || >=1.2.9 <2.0.0", ["1.2.7", "1.2.9", "1.4.6"], ["1.2.8", "2.0.0"]),
    (">1.2.3-alpha.3", ["1.2.3-alpha.7", "3.4.5"], ["3.4.5-alpha.9", "1.2.3-alpha.2"]),
    ("~1.2.3-beta.2", ["1.2.3-beta.4", "1.2.9"], ["1.2.4-beta.2", "1.3.0"]),
    ("^1.2.3-beta.2", ["1.2.3-beta.4", "1.9.0"], ["1.2.4-beta.2", "2.0.0-0"]),
    ("^0.0.3-beta", ["0.0.3-pr.2", "0.0.3"], ["0.0.4", "0.0.3-alpha"]),
    ("*", ["0.0.0", "99.0.0"], ["1.0.0-rc.1"]),
    ("<1.0.0", ["0.9.9"], ["1.0.0-rc.1", "1.0.0"]),
    ("1.2.3-rc.1+build.5", ["1.2.3-rc.1"], ["1.2.3"]),
]


@pytest.mark.parametrize(("range_", "inside", "outside"), MATCHES)
def test_documented_matches(range_: str, inside: list[str], outside: list[str]) -> None:
    assert [v for v in inside if not npm_satisfies(v, range_)] == []
    assert [v for v in outside if npm_satisfies(v, range_)] == []


@pytest.mark.parametrize(
    "bad", ["==1.2.3", "1.x.2", "x.1", "=1.2.3 - 2", "> = 1.2.3", "latest", "git+https://x"]
)
def test_invalid_ranges_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="not an npm range"):
        NpmRange(bad)


@pytest.mark.parametrize("bad", ["1.2", "01.2.3", "1.2.3-01", "=1.2.3", "1.2.3.4", "", "x"])
def test_invalid_versions_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="npm version"):
        NpmVersion(bad)


def test_identifier_precedence_from_semver_spec() -> None:
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    ]
    parsed = [NpmVersion(v) for v in chain]
    assert parsed == sorted(reversed(parsed))
    assert all(a < b for a, b in itertools.pairwise(parsed))


def test_max_satisfying_skips_non_versions_and_keeps_the_first_tie() -> None:
    assert max_satisfying(["1.2.3", "not-a-version", "1.2.4+b", "1.2.4", "2.0.0"], "~1.2") == (
        "1.2.4+b"
    )
    assert max_satisfying(["2.0.0"], "^1") is None


# --- Differential check against the real node-semver -----------------------------------------

_ORACLE = r"""
const semver = require(process.argv[1])
const rl = require('readline').createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const q = JSON.parse(line)
  let range = null
  try { range = new semver.Range(q.range).range } catch (e) { range = null }
  const satisfies = range === null ? null : semver.satisfies(q.version, q.range)
  const compare = semver.compare(q.version, q.other)
  process.stdout.write(JSON.stringify({ range, satisfies, compare }) + '\n')
})
"""


# node-semver releases disagree with each other on corner cases (`0 - 0 || 0.x.0` before 7.8), so
# the reference is this exact release, installed by scripts/setup (its NODE_SEMVER names it too).
NODE_SEMVER = "7.8.6"
REFERENCE = Path(__file__).resolve().parents[1] / ".cache" / "reference" / "node_modules" / "semver"


def _node_semver() -> Path:
    manifest = REFERENCE / "package.json"
    assert manifest.is_file(), f"node-semver {NODE_SEMVER} is missing: run scripts/setup"
    version = json.loads(manifest.read_text())["version"]
    assert version == NODE_SEMVER, (
        f"{REFERENCE} is node-semver {version}, the tests compare with {NODE_SEMVER}: "
        "run scripts/setup"
    )
    return REFERENCE


class NodeSemver:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", "-e", _ORACLE, str(_node_semver())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **query: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(query) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def node_semver() -> Iterator[NodeSemver]:
    oracle = NodeSemver()
    yield oracle
    oracle.close()


@settings(max_examples=400, deadline=None)
@given(ranges(), versions(), versions())
def test_agrees_with_node_semver(
    node_semver: NodeSemver, range_: str, version: str, other: str
) -> None:
    answer = node_semver.ask(range=range_, version=version, other=other)
    try:
        ours: str | None = str(NpmRange(range_))
    except ValueError:
        ours = None
    assert ours == answer["range"]
    if ours is not None:
        assert npm_satisfies(version, range_) == answer["satisfies"]
    a, b = NpmVersion(version), NpmVersion(other)
    assert (a > b) - (a < b) == answer["compare"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>=^~ 019.xX*-|vab+", max_size=14), versions())
def test_agrees_with_node_semver_on_arbitrary_text(
    node_semver: NodeSemver, range_: str, version: str
) -> None:
    answer = node_semver.ask(range=range_, version=version, other=version)
    try:
        ours: str | None = str(NpmRange(range_))
    except ValueError:
        ours = None
    assert ours == answer["range"]
    if ours is not None:
        assert npm_satisfies(version, range_) == answer["satisfies"]

"""parse_json: orjson's speed with the stdlib's contract (values, one-line errors, any depth)."""

from __future__ import annotations

import json

import pytest

from tma_agent._json import JSONError, parse_json


@pytest.mark.parametrize(
    "text",
    [
        '{"packages": [{"name": "drupal/core", "version": "10.2.3"}], "n": 1.5, "x": null}',
        "[NaN, Infinity, -Infinity]",  # orjson refuses these: the stdlib still decides
        '"\\ud800"',  # a lone surrogate, the same
        "1e400",
        '{"a": 1, "a": 2}',
    ],
)
def test_values_are_the_stdlib_ones(text: str) -> None:
    got, want = parse_json(text), json.loads(text)
    assert repr(got) == repr(want)  # repr: NaN != NaN, and inf/str types must match too
    assert repr(parse_json(text.encode("utf-8", "surrogatepass"))) == repr(want)


def test_utf8_bom_in_bytes_is_read_as_the_stdlib_reads_it() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize("depth", [2000, 100_000])
def test_deep_nesting_is_one_line_error(depth: int) -> None:
    with pytest.raises(JSONError) as caught:
        parse_json("[" * depth + "]" * depth)
    assert str(caught.value) == "nested too deeply"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1,\n "b": }', "invalid JSON (Expecting value at line 2 column 7)"),
        ("[1,]", "invalid JSON (Expecting value at line 1 column 4)"),
        ("", "invalid JSON (Expecting value at line 1 column 1)"),
    ],
)
def test_bad_syntax_is_one_line_error_with_position(text: str, message: str) -> None:
    with pytest.raises(JSONError) as caught:
        parse_json(text)
    assert str(caught.value) == message


def test_bad_encoding_is_one_line_error() -> None:
    with pytest.raises(JSONError) as caught:
        parse_json(b'{"a": "\xff\xfe"}')
    assert str(caught.value).startswith("invalid JSON (")
    assert "\n" not in str(caught.value)

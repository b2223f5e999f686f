"""The time entry's comment: the description cut to the ticket system's limit with the
delivery line kept whole at the end, and read back to the intervention it names."""

from __future__ import annotations

import pytest

from tma_agent.tickets import intervention_of, time_comment


@pytest.mark.parametrize("length", [0, 10, 1000, 1024, 5000])
def test_the_delivery_line_survives_any_description(length: int) -> None:
    comment = time_comment("é" * length, "time_create:123:0", 1024)
    assert len(comment) <= 1024
    assert comment.endswith("tma-time: time_create:123:0")
    assert intervention_of(comment) == 123
    if length > 1024:
        assert "…" in comment


def test_whitespace_is_one_line_and_other_comments_name_nothing() -> None:
    assert time_comment("a\n\n b\tc", "time_update:7:2", 100) == "a b c — tma-time: time_update:7:2"
    assert intervention_of("a — tma-time: time_update:7:2") == 7
    assert intervention_of("1h of support") is None
    assert intervention_of("tma-time: time_delete:7:3") is None
    assert intervention_of(None) is None

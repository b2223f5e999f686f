"""Maintenance windows and freezes (`apply.windows`, `apply.freeze`), judged in the configured
timezone, and how the global, client and site `apply` blocks merge them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tma_agent.apply.gate import Waiting, check_window
from tma_agent.apply.windows import Freeze, Window, closed_reason, next_opening
from tma_agent.config import load_config
from tma_agent.errors import ConfigError

PARIS = ZoneInfo("Europe/Paris")
OFFICE = [
    Window.model_validate({"days": ["mon", "tue", "wed", "thu"], "from": "09:00", "to": "17:00"})
]
DECEMBER = Freeze.model_validate({"from": "2026-12-01", "to": "2026-12-31", "reason": "sales"})
FRIDAYS = Freeze.model_validate({"days": ["fri"]})


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def test_a_window_opens_on_its_days_between_its_times() -> None:
    assert closed_reason(OFFICE, [], at(26, 9)) is None  # Thursday 09:00: open
    assert closed_reason(OFFICE, [], at(26, 16, 59)) is None
    assert "outside the maintenance windows" in (closed_reason(OFFICE, [], at(26, 17)) or "")
    assert closed_reason(OFFICE, [], at(23, 8, 59)) is not None  # Monday, too early
    assert closed_reason(OFFICE, [], at(29, 12)) is not None  # Sunday
    assert closed_reason([], [], at(29, 3)) is None  # no window: any time


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    night = [Window.model_validate({"days": ["sat"], "from": "22:00", "to": "02:00"})]
    assert closed_reason(night, [], at(28, 23)) is None  # Saturday night
    assert closed_reason(night, [], at(29, 1, 30)) is None  # Sunday morning, same window
    assert closed_reason(night, [], at(29, 23)) is not None  # Sunday night: no window
    assert closed_reason(night, [], at(28, 1)) is not None  # Saturday morning: Friday's


def test_freezes_win_over_windows_and_say_why() -> None:
    assert closed_reason(OFFICE, [DECEMBER], at(2, 10, month=12)) == (
        "in a freeze 2026-12-01 to 2026-12-31 (sales)"
    )
    assert closed_reason([], [FRIDAYS], at(27, 10)) == "in a freeze fri"
    fridays_of_december = Freeze.model_validate(
        {"from": "2026-12-01", "to": "2026-12-31", "days": ["fri"]}
    )
    assert closed_reason([], [fridays_of_december], at(4, 10, month=12)) is not None
    assert closed_reason([], [fridays_of_december], at(3, 10, month=12)) is None
    assert closed_reason([], [fridays_of_december], at(27, 10)) is None  # a November Friday


def test_waiting_names_the_rule_and_the_next_opening_in_the_configured_zone() -> None:
    # Friday 2026-11-27 10:00 in Paris is 09:00 UTC.
    now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    with pytest.raises(Waiting) as caught:
        check_window("www", "deploy", OFFICE, [FRIDAYS, DECEMBER], PARIS, now=now)
    assert caught.value.exit_code == 7
    assert str(caught.value) == (
        "deploy on www waits: Fri 2026-11-27 10:00 CET is in a freeze fri; "
        "next opening Mon 2026-11-30 09:00 CET"
    )
    # December is frozen, 2027-01-01 is a Friday: the next opening is Monday 4 January.
    assert next_opening(OFFICE, [FRIDAYS, DECEMBER], at(2, 10, month=12)) == dt.datetime(
        2027, 1, 4, 9, 0, tzinfo=PARIS
    )
    check_window("www", "apply", OFFICE, [FRIDAYS], PARIS, now=at(26, 10))  # open: no raise


def _config(tmp_path: Path, apply: object, *, client: object = None, site: object = None) -> Path:
    path = tmp_path / "tma.yaml"
    client_block = {"id": "acme", "name": "ACME", **({"apply": client} if client else {})}
    site_block = {
        "id": "www",
        "client": "acme",
        "environments": {"staging": {"path": "/srv/www"}},
        **({"apply": site} if site is not None else {}),
    }
    path.write_text(json.dumps({"apply": apply, "clients": [client_block], "sites": [site_block]}))
    return path


def test_the_narrowest_apply_block_that_gives_a_key_wins(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        {"freeze": [{"days": ["fri"]}], "windows": [{"from": "09:00", "to": "17:00"}]},
        client={"freeze": [{"from": "2026-12-01", "to": "2026-12-31"}]},
        site={"freeze": []},
    )
    config = load_config(path)
    merged = config.apply_for(config.sites[0])
    assert merged.freeze == []  # the site lifts the client's freeze
    assert merged.windows == config.apply.windows  # kept from the global block
    assert merged.windows[0].start == dt.time(9, 0)


def test_yaml_times_unquoted_and_bad_windows(tmp_path: Path) -> None:
    path = tmp_path / "tma.yaml"
    # YAML 1.1 reads an unquoted 17:30 as the number 1050 (base 60): still 17:30.
    path.write_text("apply:\n  windows:\n    - {from: 08:00, to: 17:30}\n")
    window = load_config(path).apply.windows[0]
    assert (window.start, window.end) == (dt.time(8, 0), dt.time(17, 30))
    path.write_text("apply:\n  windows:\n    - {from: '25:00', to: '17:00'}\n")
    with pytest.raises(ConfigError, match=r"tma.yaml:3: apply.windows\[0\].from: .*HH:MM"):
        load_config(path)
    path.write_text("apply:\n  freeze:\n    - {reason: nothing said}\n")
    with pytest.raises(ConfigError, match="a freeze needs from/to dates, days, or both"):
        load_config(path)
    path.write_text("apply:\n  freeze:\n    - {days: [friday]}\n")
    with pytest.raises(ConfigError, match=r"apply.freeze\[0\].days\[0\]"):
        load_config(path)

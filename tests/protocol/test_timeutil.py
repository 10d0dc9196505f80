"""RFC 3339 times: ``format_time`` writes what its strftime form wrote, faster."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.timeutil import format_time, parse_time


def _format_time_before(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


_ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)),
                          dt.timezone(dt.timedelta(hours=-5, minutes=-30))])


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31),
                    timezones=_ZONES))
def test_format_time_is_the_strftime_form(value: dt.datetime) -> None:
    assert format_time(value) == _format_time_before(value)


@pytest.mark.parametrize("value", [dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
                                   dt.datetime(1000, 1, 1, tzinfo=dt.UTC),
                                   dt.datetime(2026, 2, 9, 0, 0, 0, 120, tzinfo=dt.UTC)],
                         ids=["year-999", "year-1000", "microseconds"])
def test_format_time_boundaries(value: dt.datetime) -> None:
    assert format_time(value) == _format_time_before(value)
    if value.year >= 1000:
        assert parse_time(format_time(value)) == value

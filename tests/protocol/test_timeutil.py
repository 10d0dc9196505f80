"""RFC 3339 times: what ``format_time`` writes, ``parse_time`` reads back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.timeutil import format_time, parse_time


@pytest.mark.parametrize("year", [1, 9, 99, 999])
def test_format_time_pads_years_before_1000_so_parse_time_reads_them(year: int) -> None:
    value = dt.datetime(year, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    text = format_time(value)
    assert text == f"{year:04d}-03-04T05:06:07Z"
    assert parse_time(text) == value


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_format_time_round_trips_through_parse_time(value: dt.datetime) -> None:
    assert parse_time(format_time(value)) == value

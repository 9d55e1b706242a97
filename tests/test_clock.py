"""The app's one clock: moved in process or for a whole run by WAREHOUSE_CLOCK, read by every date rule."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from warehouse_tui import clock
from warehouse_tui.db.models import utcnow
from warehouse_tui.scan.resolver import parse_expiry


@pytest.fixture
def restore_clock():
    yield
    clock.reset_clock()


def test_a_moved_clock_moves_today_and_the_stored_timestamps(restore_clock):
    clock.set_clock(dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.timezone.utc))

    assert clock.utcnow().date() == dt.date(2031, 3, 1)
    assert utcnow().date() == dt.date(2031, 3, 1)  # what every row is stamped with
    assert abs(clock.now() - dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.timezone.utc)) < dt.timedelta(seconds=5)
    assert clock.is_moved()


def test_a_frozen_clock_stands_still_and_reset_brings_the_process_clock_back(restore_clock):
    before = clock.timestamp()  # the real time, or where WAREHOUSE_CLOCK put this run
    clock.set_clock(dt.datetime(2028, 2, 29, 23, 59, 59), frozen=True)
    first = clock.timestamp()

    assert clock.today() == dt.date(2028, 2, 29)
    assert clock.timestamp() == first
    clock.reset_clock()
    assert abs(clock.timestamp() - before) < 5
    assert clock.is_moved() == bool(os.environ.get(clock.ENV))


def test_a_running_clock_runs_on_from_where_it_was_set(restore_clock):
    clock.set_clock(dt.datetime(2030, 12, 31, 23, 59, 59, 990_000))
    import time

    time.sleep(0.02)
    assert clock.today() == dt.date(2031, 1, 1)


def test_two_digit_years_follow_the_gs1_century_of_the_moved_clock(restore_clock):
    # GS1 General Specifications §7.12: 49 years back to 50 ahead of the current year.
    clock.set_clock(dt.date(2080, 6, 1))
    assert parse_expiry("291231") == dt.date(2129, 12, 31)  # 51 years back: the next century
    assert parse_expiry("310101") == dt.date(2031, 1, 1)  # 49 years back: still this century
    clock.set_clock(dt.date(2026, 12, 3))
    assert parse_expiry("291231") == dt.date(2029, 12, 31)
    assert parse_expiry("760101") == dt.date(2076, 1, 1)  # 50 years ahead: still this century
    assert parse_expiry("770101") == dt.date(1977, 1, 1)  # 51 ahead: the last one


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_warehouse_clock_in_the_environment_moves_a_whole_process():
    done = run_python("from warehouse_tui import clock; print(clock.today(), clock.is_moved())",
                      WAREHOUSE_CLOCK="2041-06-30T10:00:00+00:00", TZ="UTC")

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2041-06-30", "True"]


def test_a_local_time_in_the_environment_is_the_terminal_s_local_day():
    # 23:30 on New Year's Eve in Los Angeles is already New Year's Day in UTC.
    done = run_python("from warehouse_tui import clock; print(clock.today(), clock.utcnow().date())",
                      WAREHOUSE_CLOCK="2026-12-31T23:30:00", TZ="America/Los_Angeles")

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2026-12-31", "2027-01-01"]


def test_a_clock_setting_that_is_no_date_says_what_it_expects():
    done = run_python("import warehouse_tui.clock", WAREHOUSE_CLOCK="next tuesday")

    assert done.returncode != 0
    assert "WAREHOUSE_CLOCK='next tuesday' is not an ISO date" in done.stderr

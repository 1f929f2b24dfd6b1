"""LIVEREPORT_TEST_HOUR moves the whole run to another hour of the day (tests/clock_hour.py)."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest

import clock_hour


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_the_target_is_the_next_time_the_clock_shows_that_hour():
    now = at("2026-12-05T02:10:00")
    assert clock_hour.target("13:30", now) == at("2026-12-05T13:30:00")
    assert clock_hour.target("01:00", now) == at("2026-12-06T01:00:00")  # passed today: tomorrow's
    assert clock_hour.target("02:10", now) == now
    for bad in ("25:00", "7:30", "noon", "13:30:00", ""):
        with pytest.raises(SystemExit, match="HH:MM"):
            clock_hour.target(bad, now)


@pytest.mark.skipif(not os.environ.get(clock_hour.HOUR_ENV), reason="only under LIVEREPORT_TEST_HOUR")
def test_every_clock_of_the_run_reads_the_chosen_hour():
    wanted = os.environ[clock_hour.HOUR_ENV]
    started = datetime.now(timezone.utc)
    # this test may run up to the whole suite's length after the travel started
    since = (started - started.replace(hour=int(wanted[:2]), minute=int(wanted[3:]))).total_seconds() % 86400
    assert since < 3600
    assert abs(time.time() - started.timestamp()) < 5 and time.gmtime().tm_hour == started.hour

"""Under LIVEREPORT_TEST_HOUR the page reads the same clock as the API and the seeds."""
from __future__ import annotations

import os
import time

import pytest

import clock_hour


@pytest.mark.skipif(not os.environ.get(clock_hour.HOUR_ENV), reason="only under LIVEREPORT_TEST_HOUR")
def test_the_page_clock_reads_the_chosen_hour(page, stack):
    page.goto(stack.web_url)
    first = page.evaluate("() => Date.now()")
    assert abs(first / 1000 - time.time()) < 30
    page.wait_for_timeout(1500)
    assert page.evaluate("() => Date.now()") - first >= 1000  # it ticks

"""Run the suite as if it were another hour of the day (issue 19: tests pass at any hour).

`LIVEREPORT_TEST_HOUR=HH:MM` (UTC) moves every clock of the test process to the next time the
UTC clock shows HH:MM (0-24 hours ahead) and lets it tick from there: `time.time`,
`datetime.now`, `gmtime`/`localtime` (time-machine patches them at the C level, so clocks
bound earlier, like `clock=time.time` defaults, move too), hence the app, the in-process
moto server, the local stack's threads and the seeds. `time.monotonic` (timeouts, waits)
is left alone. The browser tests set Chromium's clock to the same moment
(tests/browser/conftest.py). `make test-hours` runs the browser tests at several hours.
"""
from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta, timezone

HOUR_ENV = "LIVEREPORT_TEST_HOUR"
_travel = None


def target(hour: str, now: float) -> float:
    """The next moment (0-24 h after `now`) whose UTC clock reads `hour` (HH:MM)."""
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", hour.strip())
    if not m:
        raise SystemExit(f"{HOUR_ENV}={hour!r}: a UTC time of day, HH:MM")
    at = datetime.fromtimestamp(now, timezone.utc).replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
    if at.timestamp() < now:
        at += timedelta(days=1)
    return at.timestamp()


def start_from_env() -> float:
    """Start travelling when LIVEREPORT_TEST_HOUR is set; the offset applied, in seconds (0 without)."""
    global _travel
    hour = os.environ.get(HOUR_ENV, "").strip()
    if not hour or _travel is not None:
        return 0.0
    import time_machine
    now = time.time()
    at = target(hour, now)
    _travel = time_machine.travel(at, tick=True)
    _travel.start()
    return at - now


def shifted() -> bool:
    return _travel is not None

"""Time buckets and bounded read plans (DESIGN invariant 3).

A window is covered by the coarsest aligned buckets that fit inside it and
finer ones only at its edges, so a 24-hour window costs at most ~23 hour
items and ~120 minute items whatever the event volume, and a year costs
~365 day items plus edges.
"""
from __future__ import annotations

from datetime import datetime, timezone

from . import tables

UNIT_SECONDS = {tables.MINUTE: 60, tables.HOUR: 3600, tables.DAY: 86400}
BUCKET_FORMATS = tables.BUCKET_FORMATS

Range = tuple[str, int, int]  # (granularity, start epoch, end epoch exclusive)


def bucket_of(granularity: str, epoch: int) -> str:
    size = UNIT_SECONDS[granularity]
    start = epoch - epoch % size
    return datetime.fromtimestamp(start, tz=timezone.utc).strftime(BUCKET_FORMATS[granularity])


def bucket_start(granularity: str, bucket: str) -> int:
    dt = datetime.strptime(bucket, BUCKET_FORMATS[granularity]).replace(tzinfo=timezone.utc)
    return int(dt.timestamp())


def plan(start: int, end: int, granularities: list[str]) -> list[Range]:
    """Cover [start, end) with coarse buckets inside and finer ones at the edges.

    The finest granularity rounds the edges outward to whole buckets.
    """
    if end <= start:
        return []
    gran, *finer = granularities
    size = UNIT_SECONDS[gran]
    if not finer:
        return [(gran, start - start % size, end + (-end) % size)]
    inner_start = start + (-start) % size
    inner_end = end - end % size
    if inner_start >= inner_end:
        return plan(start, end, finer)
    return plan(start, inner_start, finer) + [(gran, inner_start, inner_end)] + plan(inner_end, end, finer)


def sk_bounds(prefix: str, granularity: str, start: int, end: int) -> tuple[str, str]:
    """Sort-key bounds selecting every item of buckets in [start, end)."""
    return f"{prefix}{granularity}#{bucket_of(granularity, start)}", \
        f"{prefix}{granularity}#{bucket_of(granularity, end - 1)}#\uffff"


#: Events are accepted up to this far ahead of the time they are received (events.Limits.max_future).
FUTURE_TOLERANCE = 300


def horizon(now: float) -> int:
    """The end of the last minute that can hold data (now + FUTURE_TOLERANCE): no
    read plan needs anything after it."""
    return (int(now) + FUTURE_TOLERANCE) // 60 * 60 + 60


#: A closed day is read from its roll-up this long after it ends (the rollup runs
#: every minute); before that, from its hours. An hour with no roll-up item is
#: read from its minutes for this long after it ends (see `frontier.py`).
ROLLED_AFTER = 180


def rolled_plan(ranges: list[Range], now: float) -> list[Range]:
    """The plan with the days not rolled up yet read as hours (hours carry their
    own frontier, see `frontier.py`), cut at the horizon (whole buckets): an hour
    with no roll-up is read as minutes while it may not be rolled yet, so a future
    hour left in a plan would cost minute reads and a pending-delta read for nothing."""
    edge = horizon(now)
    cut = {gran: edge + (-edge) % size for gran, size in UNIT_SECONDS.items()}
    out: list[Range] = []
    for gran, start, end in ranges:
        end = min(end, cut[gran])
        if end <= start:
            continue
        if gran != tables.DAY:
            out.append((gran, start, end))
            continue
        boundary = (int(now) - ROLLED_AFTER) // 86400 * 86400  # days ending by here are rolled
        if start < min(end, boundary):
            out.append((gran, start, min(end, boundary)))
        if max(start, boundary) < min(end, cut[tables.HOUR]):
            out.append((tables.HOUR, max(start, boundary), min(end, cut[tables.HOUR])))
    return out

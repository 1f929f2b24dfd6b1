"""Hour items and the minutes after their frontier: how every report reads hours.

The rollup writes an hour's counters (`H#`) and sketches (`SH#`/`PH#`) as the
roll-up of its minutes *before a frontier* `f`, stored on each item: the
hour's end once the hour is closed and rolled, or a few minutes before now
while it is open (so the current hour costs one item, not sixty). A reader
takes each hour item and then the minute items at or after its frontier: the
same numbers as reading every minute, from a handful of items. An hour with
no item at all is read from its minutes while it may not be rolled yet
(`buckets.ROLLED_AFTER`); after that, no item means no data.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from . import buckets, tables
from .store import CounterStore, ReadStats

FRONTIER = "f"
HOUR = 3600


def _hour_and_execution(sk: str) -> tuple[int, str, str]:
    """(bucket start, execution, bucket) of any hour or minute item's sort key."""
    prefix, bucket, execution = sk.split("#")[:3]
    execution = execution.split(tables.SALT_SEP, 1)[0]
    gran = prefix[-1] if prefix[-1] in buckets.UNIT_SECONDS else tables.MINUTE  # SX: minute deltas
    return buckets.bucket_start(gran, bucket), execution, bucket


def read_hours(store: CounterStore, pk: str, kind: str, start: int, end: int, now: float, stats: ReadStats,
               minute_limit: int | None = None,
               extra_minutes: Callable[[int, int], Iterable[dict[str, Any]]] | None = None,
               ) -> Iterable[tuple[int, dict[str, Any]]]:
    """(bucket start, item) of the hour items of [start, end) (sort-key prefix `kind`: "" for
    counters, "S"/"P" for sketches) and of the minute items after their frontiers.

    `minute_limit` stops minutes at the report's end (events may be up to 5 min ahead);
    `extra_minutes(lo, hi)` yields more minute-grain items for the same spans (the fold
    deltas the rollup has not compacted yet), filtered by the same frontiers."""
    frontiers: dict[tuple[int, str], int] = {}
    hours_with_items: dict[int, int] = {}
    for item in store.query(pk, *buckets.sk_bounds(kind, tables.HOUR, start, end), stats):
        hour, execution, _ = _hour_and_execution(item[tables.SK])
        f = int(item.get(FRONTIER, hour + HOUR))
        frontiers[(hour, execution)] = f
        hours_with_items[hour] = min(f, hours_with_items.get(hour, f))
        yield hour, item
    spans: list[tuple[int, int]] = []
    for hour in range(start, end, HOUR):
        if hour in hours_with_items:
            if hours_with_items[hour] < hour + HOUR:
                spans.append((hours_with_items[hour], hour + HOUR))
        elif hour + HOUR + buckets.ROLLED_AFTER > now:
            spans.append((hour, hour + HOUR))
    if not spans:
        return
    lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
    if minute_limit is not None:
        hi = min(hi, minute_limit)
    if hi <= lo:
        return
    sources: list[Iterable[dict[str, Any]]] = [store.query(pk, *buckets.sk_bounds(kind, tables.MINUTE, lo, hi), stats)]
    if extra_minutes is not None:
        sources.append(extra_minutes(lo, hi))
    for source in sources:
        for item in source:
            minute, execution, _ = _hour_and_execution(item[tables.SK])
            hour = minute - minute % HOUR
            if not any(s <= minute < e for s, e in spans):
                continue
            if minute >= frontiers.get((hour, execution), hour):
                yield minute, item


def hours_to_window_end(plan: list[buckets.Range]) -> list[buckets.Range]:
    """A plan whose trailing minute edge (the current hour) becomes an hour range:
    its hour item holds all but the last few minutes."""
    if not plan or plan[-1][0] != tables.MINUTE or plan[-1][1] % HOUR:
        return plan
    hour = plan[-1][1]
    head = plan[:-1]
    if head and head[-1][0] == tables.HOUR and head[-1][2] == hour:
        return head[:-1] + [(tables.HOUR, head[-1][1], hour + HOUR)]
    return head + [(tables.HOUR, hour, hour + HOUR)]

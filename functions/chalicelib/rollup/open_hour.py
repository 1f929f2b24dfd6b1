"""The open hour: its roll-up up to a frontier, and its closed minutes' compaction.

- **Frontier**: the open hour's items cover its minutes before a frontier OPEN_LAG
  behind now, in OPEN_STEP steps (marked on the items, `frontier.py`), so a report
  reads one hour item and a few minutes instead of sixty. Written only when they
  changed; and a partition whose entry has not moved since the last roll-up (same
  version `ov`, same frontier `of`) is not even read: every write to a minute
  before the frontier is to a closed minute, which a fold always marks (v moves).
- **Compaction**: the closed minutes marked `m<minute>` are compacted into minute
  sketches COMPACT_GRACE after they end; each mark leaves the entry only if its
  count did not move since it was read (a late delta re-marks its minute).
"""
from __future__ import annotations

from typing import Any

from .. import buckets, tables
from ..fold.marks import marked_minutes
from ..sketches import Unions, is_domain_attr, sketch_attrs
from ..store import ReadStats
from .parts import Parts, RollupStats, numbers, sketch_items
from .worklist import WorkList

#: The open hour's roll-up covers its minutes up to at least this far behind now, in
#: steps of OPEN_STEP: a report reads the later minutes (at most ~10) itself, so events
#: up to this late stay exact without waiting, and the roll-up is rewritten at most
#: every OPEN_STEP seconds (each rewrite is billed by the whole hour item).
OPEN_LAG = 300
OPEN_STEP = 300
#: a closed minute's deltas are compacted this long after it ends (a fold decides "open"
#: with fold.marks.CLOSE_MARGIN to spare, so it never skips a mark the rollup relies on)
COMPACT_GRACE = 30


def frontier_of(now: float) -> int:
    return (int(now) - OPEN_LAG) // OPEN_STEP * OPEN_STEP


def closed_marks(entry: dict[str, Any], now: float) -> list[str]:
    """The entry's marked minutes that are ready to compact."""
    return sorted(m for m in marked_minutes(entry) if buckets.bucket_start(tables.MINUTE, m) + 60 + COMPACT_GRACE <= now)


def idle(entry: dict[str, Any], hour: str, now: float) -> bool:
    """Nothing to do for this open hour's partition: no minute to compact, and neither its
    version nor the frontier moved since its last roll-up."""
    if closed_marks(entry, now):
        return False
    frontier = frontier_of(now)
    if frontier <= buckets.bucket_start(tables.HOUR, hour):
        return True
    return _int(entry.get("ov")) == _int(entry.get("v")) and _int(entry.get("of")) == frontier


class OpenHour(Parts):
    def __init__(self, client: Any, config: Any, worklist: WorkList) -> None:
        super().__init__(client, config)
        self.worklist = worklist

    def roll(self, pk: str, hour: str, entry: dict[str, Any], now: float, stats: RollupStats) -> None:
        if idle(entry, hour, now):
            stats.idle_skipped += 1
            return
        version = _int(entry.get("v"))
        stats.minutes_compacted += self.compact(pk, entry, now, stats)
        frontier = frontier_of(now)
        if frontier > buckets.bucket_start(tables.HOUR, hour):
            self.roll_to_frontier(pk, hour, frontier, stats)
            self.worklist.note_open_roll(hour, pk, version, frontier)
            stats.open_hours_rolled += 1

    def roll_to_frontier(self, pk: str, hour: str, frontier: int, stats: RollupStats) -> None:
        start = buckets.bucket_start(tables.HOUR, hour)
        read = ReadStats()
        counters = self.counter_sums(pk, tables.HOUR, hour, tables.MINUTE, start, frontier, read, frontier)
        stored = {i[tables.SK]: numbers(i) for i in self.store.query(
            pk, *buckets.sk_bounds("", tables.HOUR, start, start + 3600), read)}
        puts = [] if stored == {i[tables.SK]["S"]: numbers(i) for i in counters} else counters
        per_hour = Unions()
        for kind in ("S", "P"):
            for item in self.store.query(pk, *buckets.sk_bounds(kind, tables.MINUTE, start, frontier), read):
                execution = item[tables.SK].split("#")[2]
                for attr, blob in sketch_attrs(item):
                    per_hour.add((execution, attr), blob, is_domain_attr(attr))
        sketches = sketch_items(pk, tables.HOUR, {(hour, e, a): b for (e, a), b in per_hour.serialized().items()},
                                frontier)
        puts += self.changed(pk, tables.HOUR, start, start + 3600, sketches)
        self.write(puts, stats)

    def compact(self, pk: str, entry: dict[str, Any], now: float, stats: RollupStats) -> int:
        """Minute sketches of the closed minutes folds touched since the last compaction,
        then those minutes leave the entry unless a fold marked them again meanwhile."""
        marks = marked_minutes(entry)
        closed = closed_marks(entry, now)
        if not closed:
            return 0
        start = buckets.bucket_start(tables.MINUTE, closed[0])
        end = buckets.bucket_start(tables.MINUTE, closed[-1]) + 60
        per_minute, _ = self.delta_unions(pk, start, end, ReadStats(), set(closed))
        self.write(self.changed(pk, tables.MINUTE, start, end, sketch_items(pk, tables.MINUTE, per_minute.serialized())),
                   stats)
        for minute in closed:
            if not self.worklist.unmark(entry[tables.PK], pk, {minute: marks[minute]}):
                stats.raced += 1
        return len(closed)


def _int(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dict):
        return int(value["N"])
    return int(value)

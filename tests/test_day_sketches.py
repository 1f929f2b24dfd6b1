"""Day sketches: read from hours while the day is open, built once after it closes,
and late profiles still reach them."""
from __future__ import annotations

from chalicelib import tables
from chalicelib.sketches import DAY_GRACE, SketchStore, summarise
from chalicelib.store import CounterStore, ReadStats, StoreConfig

from conftest import TABLE

DAY0 = 1_764_028_800  # 2025-11-25T00:00Z
PK = tables.counter_pk("ws", "camp", "email")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def add(store: SketchStore, at_hour: int, ids: set[str], metric: str = "open", execution: str = "_") -> None:
    epoch = DAY0 + at_hour * 3600
    from chalicelib.buckets import bucket_of
    store.add({(PK, tables.HOUR, bucket_of(tables.HOUR, epoch), execution, metric): ids,
               (PK, tables.DAY, bucket_of(tables.DAY, epoch), execution, metric): ids}, int(epoch))


def day_count(store: SketchStore, counters: CounterStore, stats: ReadStats | None = None,
              executions: set[str] | None = None) -> int:
    unions = store.union(counters, PK, [(tables.DAY, DAY0, DAY0 + 86400)], ["open"], executions,
                         stats or ReadStats())
    return summarise(unions["open"]).estimate


def sketch_items(aws, prefix: str) -> list[str]:
    items = aws.query(TableName=TABLE, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                      ExpressionAttributeValues={":p": {"S": PK}, ":s": {"S": prefix}})["Items"]
    return [i["sk"]["S"] for i in items]


def test_open_day_reads_hours_then_is_built_once_and_takes_late_profiles(aws):
    config = StoreConfig(table_name=TABLE)
    clock = Clock(DAY0 + 12 * 3600)
    store, counters = SketchStore(aws, config, clock=clock), CounterStore(aws, config)
    add(store, 9, {f"a{i}" for i in range(300)})
    add(store, 15, {f"a{i}" for i in range(200, 500)})
    add(store, 15, {"x1", "x2"}, execution="run-2")
    assert sketch_items(aws, "SD#") == []  # the open day's sketch is never rewritten by batches
    assert day_count(store, counters) == 502
    assert day_count(store, counters, executions={"run-2"}) == 2

    clock.t = DAY0 + 86400 + DAY_GRACE - 1  # just over, still in grace: hours are read, nothing is built
    assert day_count(store, counters) == 502 and sketch_items(aws, "SB") == []

    clock.t = DAY0 + 86400 + DAY_GRACE + 1  # closed: the first reader builds the day
    assert day_count(store, counters) == 502
    assert sorted(sketch_items(aws, "SD#")) == [f"SD#20251125#_#open", f"SD#20251125#run-2#open"]
    assert sketch_items(aws, "SB") == ["SBD#20251125"]
    stats = ReadStats()
    assert day_count(store, counters, stats) == 502
    assert stats.items == 3  # the marker and two day sketches, not 24 hours

    clock.t = DAY0 + 86400 + 3600  # a late batch for the closed day reaches both sketches
    add(store, 23, {"late-1", "late-2", "a1"})
    assert day_count(store, counters) == 504
    hours = store.union(counters, PK, [(tables.HOUR, DAY0 + 23 * 3600, DAY0 + 86400)], ["open"], None, ReadStats())
    assert summarise(hours["open"]).estimate == 3


def test_a_batch_at_the_end_of_the_day_merges_into_the_day_sketch(aws):
    config = StoreConfig(table_name=TABLE)
    clock = Clock(DAY0 + 86400 - DAY_GRACE // 2)
    store, counters = SketchStore(aws, config, clock=clock), CounterStore(aws, config)
    add(store, 23, {"z1", "z2"})
    assert sketch_items(aws, "SD#") == ["SD#20251125#_#open"]  # partial: the builder will merge hours into it
    add(store, 10, {"early"})
    clock.t = DAY0 + 86400 + 2 * DAY_GRACE
    assert day_count(store, counters) == 3

"""Roll-ups, off the write path (scheduled every minute).

Folds only write minute items. Each fold also bumps, in the same transaction,
a version `v` in the rollup's work list: one entry per (hour, counter
partition) it touched. The rollup:

- rolls a closed hour whose entry has v > rv (rolled version): hour counters
  are the sum of its minute items, its minute sketches the union of their
  fold deltas, its hour sketches the union of the hour — all recomputed and
  overwritten, so a rollup run twice changes nothing, and a late event for an
  hour already rolled (it bumps v again) simply gets the hour rolled again;
- then records rv = v only if no fold bumped v meanwhile (conditional), and
  bumps the day's entry, so closed days are rolled from their hours the same way;
- rolls the open hour so far: its minutes before a frontier five minutes
  behind now, marked on the items (see `frontier.py`), so a report reads one
  hour item and a few minutes instead of sixty;
- compacts the closed minutes of open hours that folds touched since its last
  pass, then removes them from the entry's touched-minute set `tm` (readers
  union the deltas of the minutes still in `tm` themselves; see `sketches.py`).

One run at a time holds a lease, so two runs never overwrite each other's
newer sums with older ones.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from botocore.exceptions import ClientError

from . import buckets, tables
from .fold.guards import is_counter, stamp_of
from .fold.marks import marked_minutes, minute_attr
from .frontier import FRONTIER
from .sketches import ATTR_PREFIX, Unions, delta_bounds, is_domain_attr, sketch_attrs
from .store import CounterStore, ReadStats, StoreConfig, item_size, put_all, with_retries

#: how far back work lists are scanned: 48 h of accepted lateness + 24 h of stream retention + margin
LOOKBACK_HOURS = 75
LEASE_PK, LEASE_SK = "ROLLUP#LEASE", "LEASE"
COUNTER_SKIP = {tables.PK, tables.SK, tables.TTL_ATTRIBUTE, FRONTIER}
#: The open hour's roll-up covers its minutes up to at least this far behind now, in
#: steps of OPEN_STEP: a report reads the later minutes (at most ~10) itself, so events
#: up to this late stay exact without waiting, and the roll-up is rewritten at most
#: every OPEN_STEP seconds (each rewrite is billed by the whole hour item).
OPEN_LAG = 300
OPEN_STEP = 300
#: a closed minute's deltas are compacted this long after it ends (a fold decides "open"
#: with fold.marks.CLOSE_MARGIN to spare, so it never skips a mark the rollup relies on)
COMPACT_GRACE = 30


@dataclass
class RollupStats:
    hours_rolled: int = 0
    days_rolled: int = 0
    minutes_compacted: int = 0
    raced: int = 0
    items_written: int = 0
    bytes_written: int = 0
    skipped_lease: bool = False


class Rollup:
    def __init__(self, client: Any, config: StoreConfig, clock: Callable[[], float] = time.time,
                 lease_seconds: int = 240) -> None:
        self.client = client
        self.config = config
        self.store = CounterStore(client, StoreConfig(config.table_name, consistent_reads=True))
        self.clock = clock
        self.lease_seconds = lease_seconds

    def run(self, now: float | None = None, hours: Iterable[str] | None = None,
            wait_seconds: float = 0.0) -> RollupStats:
        """One pass over the work lists of `hours` (default: the last LOOKBACK_HOURS).
        While another run holds the lease, wait up to `wait_seconds` for it, else skip."""
        now = self.clock() if now is None else now
        stats = RollupStats()
        owner = f"{time.time_ns()}"
        give_up = time.monotonic() + wait_seconds
        while not self._acquire(owner, now):
            if time.monotonic() >= give_up:
                stats.skipped_lease = True
                return stats
            time.sleep(0.05)
        try:
            if hours is None:
                current = int(now) - int(now) % 3600
                hours = [buckets.bucket_of(tables.HOUR, current - i * 3600) for i in range(LOOKBACK_HOURS)]
            days: set[str] = set()
            for hour in sorted(set(hours)):
                hour_end = buckets.bucket_start(tables.HOUR, hour) + 3600
                for entry in self._entries(tables.HOUR, hour):
                    pk, v = entry[tables.SK], int(entry.get("v", 0))
                    if hour_end > now:
                        stats.minutes_compacted += self._compact_touched(pk, entry, now, v, stats)
                        self._roll_open_hour(pk, hour, now, stats)
                    elif v > int(entry.get("rv", 0)):
                        self._roll_hour(pk, hour, v, stats, marked_minutes(entry))
                        if int(entry.get("rv", 0)) > 0:  # rolled before: late minutes changed what it shows
                            self._touch_stamp(pk, now)
                days.add(hour[:8])
            for day in sorted(days):
                if buckets.bucket_start(tables.DAY, day) + 86400 > now:
                    continue
                for entry in self._entries(tables.DAY, day):
                    v = int(entry.get("v", 0))
                    if v > int(entry.get("rv", 0)):
                        self._roll_day(entry[tables.SK], day, v, stats)
        finally:
            self._release(owner)
        return stats

    # --- hours and days ---

    def _roll_hour(self, pk: str, hour: str, version: int, stats: RollupStats, marks: dict[str, int]) -> None:
        start = buckets.bucket_start(tables.HOUR, hour)
        read = ReadStats()
        puts = self._counter_sums(pk, tables.HOUR, hour, tables.MINUTE, start, start + 3600, read, start + 3600)
        per_minute, per_hour = self._delta_unions(pk, start, start + 3600, read)
        puts += self._changed(pk, tables.MINUTE, start, start + 3600,
                              _sketch_items(pk, tables.MINUTE, per_minute.serialized()))
        puts += _sketch_items(pk, tables.HOUR, {(hour, e, a): b for (e, a), b in per_hour.serialized().items()},
                              start + 3600)
        self._write(puts, stats)
        # rolled: rv = v and the minutes' marks go, unless a fold bumped v meanwhile (rolled again next run)
        if self._unmark(tables.rollup_pk(tables.HOUR, hour), pk, marks, version) if marks else \
                self._mark_rolled(tables.HOUR, hour, pk, version):
            stats.hours_rolled += 1
            self._bump(tables.rollup_pk(tables.DAY, hour[:8]), pk)
        else:
            stats.raced += 1

    def _touch_stamp(self, pk: str, now: float) -> None:
        """Move the campaign's change stamp: a re-rolled hour's distinct counts now include its late
        minutes, and pages (and the shared live report, live_push/report_cache.py) key on the stamp."""
        workspace, _, rest = pk.partition("#C#")
        campaign = rest.split("#", 1)[0]
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(tables.campaigns_pk(workspace), campaign),
                UpdateExpression="SET stamp = :s", ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(stamp) OR stamp < :s)",
                ExpressionAttributeValues={":s": {"S": stamp_of(int(max(now, time.time()) * 1000), "r", 0)}}), self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def _roll_day(self, pk: str, day: str, version: int, stats: RollupStats) -> None:
        start = buckets.bucket_start(tables.DAY, day)
        read = ReadStats()
        puts = self._counter_sums(pk, tables.DAY, day, tables.HOUR, start, start + 86400, read)
        per_day = Unions()
        for kind in ("S", "P"):
            for item in self.store.query(pk, *buckets.sk_bounds(kind, tables.HOUR, start, start + 86400), read):
                execution = item[tables.SK].split("#")[2]
                for attr, blob in sketch_attrs(item):
                    per_day.add((execution, attr), blob, is_domain_attr(attr))
        puts += _sketch_items(pk, tables.DAY, {(day, e, a): b for (e, a), b in per_day.serialized().items()})
        self._write(puts, stats)
        if self._mark_rolled(tables.DAY, day, pk, version):
            stats.days_rolled += 1
        else:
            stats.raced += 1

    def _counter_sums(self, pk: str, gran: str, bucket: str, finer: str, start: int, end: int,
                      read: ReadStats, frontier: int | None = None) -> list[dict[str, Any]]:
        """Counter items of one hour (day) per execution: the sums of its minute (hour)
        items in [start, end), marked with the frontier they cover up to (hours)."""
        sums = _sum_per_execution(self.store.query(pk, *buckets.sk_bounds("", finer, start, end), read))
        mark = {FRONTIER: {"N": str(frontier)}} if frontier is not None else {}
        return [{tables.PK: {"S": pk}, tables.SK: {"S": tables.counter_sk(gran, bucket, e)},
                 **{a: {"N": str(n)} for a, n in attrs.items()}, **mark} for e, attrs in sums.items()]

    def _roll_open_hour(self, pk: str, hour: str, now: float, stats: RollupStats) -> None:
        """The open hour's items so far: its minutes before a frontier OPEN_LAG behind now, so a
        report reads one hour item and a few minutes instead of every minute of the hour.
        Written only when they changed (an idle partition costs reads, not writes)."""
        start = buckets.bucket_start(tables.HOUR, hour)
        frontier = (int(now) - OPEN_LAG) // OPEN_STEP * OPEN_STEP
        if frontier <= start:
            return
        read = ReadStats()
        counters = self._counter_sums(pk, tables.HOUR, hour, tables.MINUTE, start, frontier, read, frontier)
        stored = {i[tables.SK]: _numbers(i) for i in self.store.query(
            pk, *buckets.sk_bounds("", tables.HOUR, start, start + 3600), read)}
        puts = [] if stored == {i[tables.SK]["S"]: _numbers(i) for i in counters} else counters
        per_hour = Unions()
        for kind in ("S", "P"):
            for item in self.store.query(pk, *buckets.sk_bounds(kind, tables.MINUTE, start, frontier), read):
                execution = item[tables.SK].split("#")[2]
                for attr, blob in sketch_attrs(item):
                    per_hour.add((execution, attr), blob, is_domain_attr(attr))
        sketches = _sketch_items(pk, tables.HOUR, {(hour, e, a): b for (e, a), b in per_hour.serialized().items()},
                                 frontier)
        puts += self._changed(pk, tables.HOUR, start, start + 3600, sketches)
        self._write(puts, stats)

    def _compact_touched(self, pk: str, entry: dict[str, Any], now: float, version: int,
                         stats: RollupStats) -> int:
        """Minute sketches of the open hour's closed minutes that folds touched since
        the last compaction (the entry's `tm` set), then those minutes leave the set
        unless a fold bumped the entry meanwhile (it will be compacted again)."""
        marks = marked_minutes(entry)
        closed = sorted(m for m in marks if buckets.bucket_start(tables.MINUTE, m) + 60 + COMPACT_GRACE <= now)
        if not closed:
            return 0
        start = buckets.bucket_start(tables.MINUTE, closed[0])
        end = buckets.bucket_start(tables.MINUTE, closed[-1]) + 60
        per_minute, _ = self._delta_unions(pk, start, end, ReadStats(), set(closed))
        puts = self._changed(pk, tables.MINUTE, start, end, _sketch_items(pk, tables.MINUTE, per_minute.serialized()))
        self._write(puts, stats)
        # each minute leaves the list only if no fold marked it again meanwhile (then it is compacted
        # again next run): other minutes' activity never keeps a compacted minute in the list
        for minute in closed:
            if not self._unmark(entry[tables.PK], pk, {minute: marks[minute]}):
                stats.raced += 1
        return len(closed)

    def _unmark(self, entry_pk: str, pk: str, marks: dict[str, int], version: int | None = None) -> bool:
        """Remove minute marks whose counts are still those read (and `v`, when given)."""
        if not marks:
            return True
        names = {f"#m{i}": minute_attr(m) for i, m in enumerate(sorted(marks))}
        values = {f":c{i}": {"N": str(marks[m])} for i, m in enumerate(sorted(marks))}
        conditions = [f"#m{i} = :c{i}" for i in range(len(marks))]
        update = "REMOVE " + ", ".join(names)
        if version is not None:
            conditions.append("v = :v")
            values[":v"] = {"N": str(version)}
            update = "SET rv = :v " + update
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(entry_pk, pk), UpdateExpression=update,
                ConditionExpression=" AND ".join(conditions), ExpressionAttributeNames=names,
                ExpressionAttributeValues=values), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False

    def _delta_unions(self, pk: str, start: int, end: int, read: ReadStats,
                      minutes: set[str] | None = None) -> tuple[Unions, Unions]:
        """Fold deltas of [start, end) (only `minutes`, when given) unioned per
        (minute, execution, attribute) and per (execution, attribute)."""
        per_minute, per_span = Unions(), Unions()
        for item in self.store.query(pk, *delta_bounds(start, end), read):
            _, minute, execution = item[tables.SK].split("#")[:3]
            if minutes is not None and minute not in minutes:
                continue
            for attr, blob in sketch_attrs(item):
                domain = is_domain_attr(attr)
                per_minute.add((minute, execution, attr), blob, domain)
                per_span.add((execution, attr), blob, domain)
        return per_minute, per_span

    def _changed(self, pk: str, gran: str, start: int, end: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Only the sketch items that differ from what is stored (most minutes don't change)."""
        stored: dict[str, dict[str, Any]] = {}
        for kind in ("S", "P"):
            for item in self.store.query(pk, *buckets.sk_bounds(kind, gran, start, end), ReadStats()):
                stored[item[tables.SK]] = {k: {"B": v} for k, v in item.items() if k.startswith(ATTR_PREFIX)}
        return [i for i in items if _comparable(stored.get(i[tables.SK]["S"])) != _comparable(i)]

    # --- work lists and writes ---

    def _entries(self, gran: str, bucket: str) -> list[dict[str, Any]]:
        # sk of an entry is a counter partition key: it starts with a workspace (a-z, 0-9)
        return list(self.store.query(tables.rollup_pk(gran, bucket), "0", "z\uffff", ReadStats()))

    def _mark_rolled(self, gran: str, bucket: str, pk: str, version: int) -> bool:
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(tables.rollup_pk(gran, bucket), pk),
                UpdateExpression="SET rv = :v", ConditionExpression="v = :v",
                ExpressionAttributeValues={":v": {"N": str(version)}}), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False  # a fold bumped v meanwhile: the next run rolls it again

    def _bump(self, rollup_pk: str, pk: str) -> None:
        with_retries(lambda: self.client.update_item(
            TableName=self.config.table_name, Key=tables.key(rollup_pk, pk), UpdateExpression="ADD v :one",
            ExpressionAttributeValues={":one": {"N": "1"}}), self.config)

    def _write(self, items: list[dict[str, Any]], stats: RollupStats) -> None:
        put_all(self.client, self.config, items)
        stats.items_written += len(items)
        stats.bytes_written += sum(item_size(it) for it in items)

    def _acquire(self, owner: str, now: float) -> bool:
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name,
                Item={**tables.key(LEASE_PK, LEASE_SK), "owner": {"S": owner},
                      "until": {"N": str(int(now) + self.lease_seconds)}},
                ConditionExpression="attribute_not_exists(#o) OR #u < :now",
                ExpressionAttributeNames={"#o": "owner", "#u": "until"},
                ExpressionAttributeValues={":now": {"N": str(int(now))}}), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False

    def _release(self, owner: str) -> None:
        try:
            self.client.delete_item(TableName=self.config.table_name, Key=tables.key(LEASE_PK, LEASE_SK),
                                    ConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                                    ExpressionAttributeValues={":o": {"S": owner}})
        except ClientError:
            pass  # the lease expires by itself


def _sum_per_execution(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        execution = tables.parse_counter_sk(item[tables.SK])[2]
        target = sums[execution]
        for attr, n in item.items():
            if attr not in COUNTER_SKIP and is_counter(attr) and isinstance(n, int):
                target[attr] += n
    return sums


def _numbers(item: dict[str, Any]) -> dict[str, int]:
    """The counters of an item, plain or low-level, without keys and frontier."""
    out = {}
    for name, value in item.items():
        if name not in COUNTER_SKIP and is_counter(name):
            out[name] = int(value["N"]) if isinstance(value, dict) else value
    return out


def _sketch_items(pk: str, gran: str, blobs: dict[tuple[str, str, str], bytes],
                  frontier: int | None = None) -> list[dict[str, Any]]:
    """(bucket, execution, attr) -> blob, as S items (per metric) and P items (per domain)."""
    items: dict[str, dict[str, Any]] = {}
    for (bucket, execution, attr), blob in sorted(blobs.items()):
        kind = "P" if is_domain_attr(attr) else "S"
        sk = f"{kind}{gran}#{bucket}#{execution}"
        item = items.setdefault(sk, tables.key(pk, sk))
        if gran == tables.MINUTE:
            item[tables.TTL_ATTRIBUTE] = {"N": str(buckets.bucket_start(gran, bucket) + tables.MINUTE_TTL_SECONDS)}
        if frontier is not None:
            item[FRONTIER] = {"N": str(frontier)}
        item[ATTR_PREFIX + attr] = {"B": blob}
    return list(items.values())


def _comparable(item: dict[str, Any] | None) -> dict[str, bytes] | None:
    if item is None:
        return None
    return {k: bytes(v["B"]) for k, v in item.items() if k.startswith(ATTR_PREFIX)}

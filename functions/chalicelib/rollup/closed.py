"""Closed hours and days, recomputed from their finer items.

A closed hour whose work-list entry has v > rv: hour counters = the sums of its
minute items, minute sketches = the unions of their fold deltas, hour sketches =
the union of the hour; all overwritten (a roll run twice changes nothing), then
rv = v and the minutes' marks go only if no fold bumped v meanwhile (a late event
bumps it again: the hour is simply rolled again). The day's entry is bumped, and a
closed day is rolled from its hours the same way. An hour rolled again moves its
campaign's change stamp: its distinct counts now include the late minutes.
"""
from __future__ import annotations

import time

from botocore.exceptions import ClientError

from .. import buckets, tables
from ..fold.guards import stamp_of
from ..sketches import Unions, is_domain_attr, sketch_attrs
from ..store import ReadStats, with_retries
from .parts import Parts, RollupStats, sketch_items
from .worklist import WorkList


class ClosedPeriods(Parts):
    def __init__(self, client, config, worklist: WorkList) -> None:  # noqa: ANN001 - boto3 client
        super().__init__(client, config)
        self.worklist = worklist

    def roll_hour(self, pk: str, hour: str, version: int, stats: RollupStats, marks: dict[str, int]) -> None:
        start = buckets.bucket_start(tables.HOUR, hour)
        read = ReadStats()
        puts = self.counter_sums(pk, tables.HOUR, hour, tables.MINUTE, start, start + 3600, read, start + 3600)
        per_minute, per_hour = self.delta_unions(pk, start, start + 3600, read)
        puts += self.changed(pk, tables.MINUTE, start, start + 3600,
                             sketch_items(pk, tables.MINUTE, per_minute.serialized()))
        puts += sketch_items(pk, tables.HOUR, {(hour, e, a): b for (e, a), b in per_hour.serialized().items()},
                             start + 3600)
        self.write(puts, stats)
        # rolled: rv = v and the minutes' marks go, unless a fold bumped v meanwhile (rolled again next run)
        entry_pk = tables.rollup_pk(tables.HOUR, hour)
        if self.worklist.unmark(entry_pk, pk, marks, version) if marks else \
                self.worklist.mark_rolled(tables.HOUR, hour, pk, version):
            stats.hours_rolled += 1
            self.worklist.bump(tables.rollup_pk(tables.DAY, hour[:8]), pk)
        else:
            stats.raced += 1

    def touch_stamp(self, pk: str, now: float) -> None:
        """Move the campaign's change stamp: a re-rolled hour's distinct counts now include its late
        minutes, and pages (and the shared live report, live_push/report_cache.py) key on the stamp."""
        workspace, campaign = tables.parse_counter_pk(pk)
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(tables.campaigns_pk(workspace), campaign),
                UpdateExpression="SET stamp = :s", ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(stamp) OR stamp < :s)",
                ExpressionAttributeValues={":s": {"S": stamp_of(int(max(now, time.time()) * 1000), "r", 0)}}),
                self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def roll_day(self, pk: str, day: str, version: int, stats: RollupStats) -> None:
        start = buckets.bucket_start(tables.DAY, day)
        read = ReadStats()
        puts = self.counter_sums(pk, tables.DAY, day, tables.HOUR, start, start + 86400, read)
        per_day = Unions()
        for kind in ("S", "P"):
            for item in self.store.query(pk, *buckets.sk_bounds(kind, tables.HOUR, start, start + 86400), read):
                execution = item[tables.SK].split("#")[2]
                for attr, blob in sketch_attrs(item):
                    per_day.add((execution, attr), blob, is_domain_attr(attr))
        puts += sketch_items(pk, tables.DAY, {(day, e, a): b for (e, a), b in per_day.serialized().items()})
        self.write(puts, stats)
        if self.worklist.mark_rolled(tables.DAY, day, pk, version):
            stats.days_rolled += 1
        else:
            stats.raced += 1

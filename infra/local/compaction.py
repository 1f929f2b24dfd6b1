"""Local mode's merge of sketch deltas: the part of a day of traffic that
would not fit in memory otherwise.

Every fold writes one sketch delta item per (counter partition, minute,
execution) it touched (`SX#minute#exec#fold`, see chalicelib/sketches.py), and
they stay until their TTL (96 h): the rollup unions them into minute, hour and
day sketches, and unions them again whenever a late event re-rolls an hour.
In DynamoDB that is cheap storage; in moto's memory it is ~2.4 KB per item, and
the demo's one fold a second makes ~390,000 of them a day (~0.9 GB).

Once a minute has settled (SETTLE_SECONDS after its end), its deltas are
replaced by one delta holding their union (`SX#minute#exec#merged`), in one
transaction (the Put and the Deletes), so a reader sees either the deltas or
their union. HLL unions are idempotent and associative, so every union a
report or the rollup computes is the same, merged or not; a delta a retried
fold writes again, or a late fold's new one, is merged on a later pass or read
beside the merged one. Through the same DynamoDB API the app uses (the moto
server), nothing here reaches into moto.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import datasketches as ds

from chalicelib import buckets, tables
from chalicelib.sketches import ATTR_PREFIX, DOMAIN_LG_K, LG_K, delta_bounds, is_domain_attr
from chalicelib.store import CounterStore, ReadStats, StoreConfig, with_retries

SETTLE_SECONDS = 300
MERGED = "merged"  # the fold id of a merged delta; real fold ids are `{shard tail}.{sequence}`
FIRST_LOOKBACK_SECONDS = 8 * 3600  # the first pass also takes the demo's backfill (6 h)
MAX_OPS = 100  # TransactWriteItems


class DeltaMerger:
    """Call it every minute or so; each pass merges the minutes settled since the last."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name
        self.config = StoreConfig(table_name=table_name, consistent_reads=True)
        self.store = CounterStore(client, self.config)
        self.done_until: int | None = None
        self.items_merged = 0
        self.items_written = 0

    def __call__(self, now: float | None = None) -> int:
        """Merge the deltas of the minutes settled since the last pass; returns items removed."""
        now = time.time() if now is None else now
        end = int(now) - SETTLE_SECONDS
        end -= end % 60
        start = self.done_until if self.done_until is not None else end - FIRST_LOOKBACK_SECONDS
        removed = 0
        for hour_start in range(start - start % 3600, end, 3600):
            hour = buckets.bucket_of(tables.HOUR, hour_start)
            lo, hi = max(start, hour_start), min(end, hour_start + 3600)
            if lo >= hi:
                continue
            for entry in self.store.query(tables.rollup_pk(tables.HOUR, hour), "0", "z\uffff", ReadStats()):
                removed += self._merge_partition(entry[tables.SK], lo, hi)
        self.done_until = max(end, start)
        self.items_merged += removed
        return removed

    def _merge_partition(self, pk: str, start: int, end: int) -> int:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for item in self.store.query(pk, *delta_bounds(start, end), ReadStats()):
            _, minute, execution = item[tables.SK].split("#")[:3]
            groups[(minute, execution)].append(item)
        removed = 0
        for (minute, execution), items in sorted(groups.items()):
            while len(items) > 1:
                chunk, items = items[:MAX_OPS - 1], items[MAX_OPS - 1:]
                merged = self._merge(pk, minute, execution, chunk)
                items = [merged, *items]
                removed += len(chunk) - 1
        return removed

    def _merge(self, pk: str, minute: str, execution: str, chunk: list[dict[str, Any]]) -> dict[str, Any]:
        sk = tables.minute_sketch_sk(tables.SKETCH_DELTA, minute, execution, MERGED)
        unions: dict[str, ds.hll_union] = {}
        expires = 0
        for item in chunk:
            expires = max(expires, int(item.get(tables.TTL_ATTRIBUTE, 0)))
            for name, blob in item.items():
                if name.startswith(ATTR_PREFIX):
                    union = unions.get(name)
                    if union is None:
                        union = unions[name] = ds.hll_union(DOMAIN_LG_K if is_domain_attr(name) else LG_K)
                    union.update(ds.hll_sketch.deserialize(blob))
        blobs = {name: u.get_result(ds.tgt_hll_type.HLL_4).serialize_compact() for name, u in sorted(unions.items())}
        put = {**tables.key(pk, sk), **{name: {"B": blob} for name, blob in blobs.items()}}
        if expires:
            put[tables.TTL_ATTRIBUTE] = {"N": str(expires)}
        ops: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": put}}]
        ops += [{"Delete": {"TableName": self.table, "Key": tables.key(pk, item[tables.SK])}}
                for item in chunk if item[tables.SK] != sk]
        with_retries(lambda: self.client.transact_write_items(TransactItems=ops), self.config)
        self.items_written += 1
        return {tables.PK: pk, tables.SK: sk, tables.TTL_ATTRIBUTE: expires, **blobs}

"""Distinct profiles per bucket as Apache DataSketches HLL sketches.

One sketch item per (campaign, channel, execution, bucket, metric) at ten
minutes (expires with the minute counters), hour and day granularity;
reports union the sketches of a read plan. lg_k=14 gives a relative
standard error of ~0.8% (within 2% at 95% confidence for a million
profiles) and counts exactly up to a few hundred values (list/set modes).

Updating is read-modify-write, made safe under concurrency by a version
number checked on write (lost races are retried). Re-adding a profile to an
HLL sketch changes nothing, so a retried batch may merge again safely.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import datasketches as ds
from botocore.exceptions import ClientError

from . import buckets, tables
from .store import CounterStore, ReadStats, StoreConfig, StoreUnavailable, with_retries

LG_K = 14
SKETCH_GRANULARITIES = (buckets.TEN_MINUTES, tables.HOUR, tables.DAY)
CONFIDENCE_STDDEVS = 2  # bounds at ~95% confidence

#: (pk, granularity of counters, bucket, execution, metric) -> profile ids
ProfileDeltas = Mapping[tuple[str, str, str, str, str], set[str]]


@dataclass(frozen=True)
class Distinct:
    estimate: int
    lower: int
    upper: int

    def as_dict(self) -> dict[str, int]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper}


def new_sketch() -> ds.hll_sketch:
    return ds.hll_sketch(LG_K, ds.tgt_hll_type.HLL_4)


def merge(a: ds.hll_sketch | None, b: ds.hll_sketch) -> ds.hll_sketch:
    if a is None:
        return b
    union = ds.hll_union(LG_K)
    union.update(a)
    union.update(b)
    return union.get_result()


def summarise(sketch: ds.hll_sketch | None) -> Distinct:
    if sketch is None or sketch.is_empty():
        return Distinct(0, 0, 0)
    est = round(sketch.get_estimate())
    lower = round(sketch.get_lower_bound(CONFIDENCE_STDDEVS))
    upper = round(sketch.get_upper_bound(CONFIDENCE_STDDEVS))
    return Distinct(est, min(est, lower), max(est, upper))


class SketchStore:
    def __init__(self, client: Any, config: StoreConfig, max_races: int = 8) -> None:
        self.client = client
        self.config = config
        self.max_races = max_races
        self.writes = 0

    def add(self, profiles: ProfileDeltas, now: int) -> None:
        """Merge a batch's profile ids into every sketch item they touch."""
        merged: dict[tuple[str, str], set[str]] = defaultdict(set)
        expiring: set[tuple[str, str]] = set()
        for (pk, gran, bucket, execution, metric), ids in profiles.items():
            if gran == tables.MINUTE:
                gran, bucket = buckets.TEN_MINUTES, bucket[:11] + "0"
            key = (pk, tables.sketch_sk(gran, bucket, execution, metric))
            merged[key] |= ids
            if gran == buckets.TEN_MINUTES:
                expiring.add(key)
        for key in sorted(merged):
            ttl = now + self.config.minute_ttl_seconds if key in expiring else None
            self._merge(key, merged[key], ttl)

    def _merge(self, key: tuple[str, str], ids: Iterable[str], ttl: int | None) -> None:
        db_key = {tables.PK: {"S": key[0]}, tables.SK: {"S": key[1]}}
        for _ in range(self.max_races):
            item = with_retries(lambda: self.client.get_item(
                TableName=self.config.table_name, Key=db_key, ConsistentRead=True), self.config).get("Item")
            if item:
                sketch = ds.hll_sketch.deserialize(item["hll"]["B"])
                version = int(item["v"]["N"])
            else:
                sketch, version = new_sketch(), 0
            before = sketch.get_estimate()
            for profile in ids:
                sketch.update(profile)
            if item and sketch.get_estimate() == before:
                return  # nothing new: spare the write
            new_item = {**db_key, "hll": {"B": sketch.serialize_compact()}, "v": {"N": str(version + 1)}}
            if ttl is not None:
                new_item[tables.TTL_ATTRIBUTE] = {"N": str(ttl)}
            condition = ("attribute_not_exists(#v)", {}) if not item else ("#v = :v", {":v": {"N": str(version)}})
            try:
                self.writes += 1
                with_retries(lambda: self.client.put_item(
                    TableName=self.config.table_name, Item=new_item, ConditionExpression=condition[0],
                    ExpressionAttributeNames={"#v": "v"}, **({"ExpressionAttributeValues": condition[1]}
                                                             if condition[1] else {})), self.config)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
        raise StoreUnavailable(f"sketch {key[1]} kept changing under concurrent writers")

    def union(self, store: CounterStore, pk: str, ranges: list[buckets.Range], metrics: Iterable[str],
              executions: set[str] | None, stats: ReadStats) -> dict[str, ds.hll_sketch]:
        """Union per metric of the sketch items of a read plan."""
        wanted = set(metrics)
        unions = {m: ds.hll_union(LG_K) for m in wanted}
        for gran, start, end in ranges:
            sketch_gran = buckets.TEN_MINUTES if gran == tables.MINUTE else gran
            lo, hi = buckets.sk_bounds("S", sketch_gran, start, end)
            for item in store.query(pk, lo, hi, stats):
                _, _, execution, metric = item[tables.SK].split("#", 3)
                if metric in wanted and (executions is None or execution in executions):
                    unions[metric].update(ds.hll_sketch.deserialize(item["hll"]))
        return {m: u.get_result() for m, u in unions.items()}

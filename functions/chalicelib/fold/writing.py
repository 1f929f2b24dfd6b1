"""Counter items applied exactly once, without transactions (DESIGN invariant 2).

Each touched item gets one UpdateItem: its deltas (ADD), the fold's last
sequence number in the item's guard for this shard, the change stamp and
receipt time (SET), under the condition that the guard is below the fold's
first record. So each write is idempotent on its own applied sequence:

- fast path, the usual case: the condition holds, one write, billed once
  (a transaction bills every item twice and conflicts with other shards');
- slow path, after a crash or an overlapping invocation: the condition fails,
  so the item already holds the fold's records up to its guard; the writer
  reads the guard and applies only the deltas of the records after it
  (`recompute`), conditional on the guard it read.

A write DynamoDB refuses for good (an item over 400 KB, a malformed value) is
set aside in the dead-letter partition with its deltas, counted and logged,
and the fold goes on: one bad item never blocks a shard for 24 hours.
"""
from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from botocore.exceptions import ClientError

from .. import buckets, tables
from ..frontier import FRONTIER
from ..store import StoreConfig, with_retries
from .guards import RECEIVED, STAMP, guard_attr, seq_key

logger = logging.getLogger(__name__)
ItemKey = tables.ItemKey
Deltas = Mapping[str, int]
#: deltas of every item for the fold's records after a sequence number (the slow path)
Recompute = Callable[[int], Mapping[ItemKey, Deltas]]
WRITES_PER_STEP = 50  # the after_step hook runs every this many items (tests crash a fold there)
MAX_SLOW_ROUNDS = 5
PERMANENT = {"ValidationException", "ItemCollectionSizeLimitExceededException"}
#: minutes older than this may be covered by their hour's roll-up (the open hour's frontier
#: trails now by at least rollup.OPEN_LAG): a fold adds late deltas to the roll-up too
LATE_AFTER = 300
#: A closed hour (day) this long past its end has an item if it had any data (the rollup runs every
#: minute): without one, a late minute's deltas create it (CounterWriter._create_rolled).
SETTLED_AFTER = buckets.ROLLED_AFTER + 600


@dataclass(frozen=True)
class Applied:
    key: ItemKey
    created: bool = False  # the item did not exist before this write
    slow: bool = False  # the fast path's condition failed (a retry or an overlap)
    dead: bool = False  # set aside: DynamoDB refused it for good
    deltas: Deltas | None = None  # what this write added


@dataclass
class FoldWrite:
    """What one fold's identity is, for its writes."""

    tag: str  # the shard's guard tag (`guards.shard_tag`)
    first: int
    last: int
    stamp: str
    received: int
    ttl_of: Callable[[ItemKey], int | None] = lambda key: None
    after_step: Callable[[int], None] | None = None
    applied: list[Applied] = field(default_factory=list)


class CounterWriter:
    def __init__(self, client: Any, config: StoreConfig, concurrency: int = 1) -> None:
        self.client = client
        self.config = config
        self.concurrency = max(1, concurrency)

    def apply(self, fold: FoldWrite, items: Mapping[ItemKey, Deltas], recompute: Recompute) -> list[Applied]:
        """Apply every item's deltas; a sorted, deterministic order."""
        keys = sorted(items)
        steps = [keys[i:i + WRITES_PER_STEP] for i in range(0, len(keys), WRITES_PER_STEP)]
        pool = ThreadPoolExecutor(self.concurrency) if self.concurrency > 1 and len(keys) > 1 else None
        try:
            for index, step in enumerate(steps):
                if pool is None:
                    fold.applied.extend(self._one(fold, k, items[k], recompute) for k in step)
                else:
                    fold.applied.extend(pool.map(lambda k: self._one(fold, k, items[k], recompute), step))
                if fold.after_step is not None:
                    fold.after_step(index)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return fold.applied

    def _one(self, fold: FoldWrite, key: ItemKey, deltas: Deltas, recompute: Recompute) -> Applied:
        guard = guard_attr(fold.tag)
        try:
            try:
                old = self._update(fold, key, deltas, guard, f"attribute_not_exists(#g) OR #g < :first",
                                   {":first": {"S": seq_key(fold.first)}})
                # every fold's stamp differs, so an existing item always returns its old stamp
                return Applied(key, created=STAMP not in old, deltas=deltas)
            except _ConditionFailed:
                pass
            for _ in range(MAX_SLOW_ROUNDS):
                seen = self._guard_of(key, guard)
                remaining = recompute(int(seen)).get(key, {}) if seen is not None else deltas
                remaining = {a: n for a, n in remaining.items() if n}
                if not remaining:
                    return Applied(key, slow=True)
                condition = "#g = :seen" if seen is not None else "attribute_not_exists(#g)"
                values = {":seen": {"S": seen}} if seen is not None else {}
                try:
                    self._update(fold, key, remaining, guard, condition, values)
                    return Applied(key, slow=True, deltas=remaining)
                except _ConditionFailed:
                    continue  # another invocation moved the guard meanwhile: read it again
            raise RuntimeError(f"item {key} kept changing under this fold")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in PERMANENT:
                raise
            self._dead_letter(fold, key, deltas, str(exc))
            return Applied(key, dead=True)

    def _update(self, fold: FoldWrite, key: ItemKey, deltas: Deltas, guard: str, condition: str,
                extra_values: dict[str, Any]) -> dict[str, Any]:
        names = {"#g": guard, "#st": STAMP, "#le": RECEIVED}
        values: dict[str, Any] = {":last": {"S": seq_key(fold.last)}, ":st": {"S": fold.stamp},
                                  ":le": {"N": str(fold.received)}, **extra_values}
        adds = []
        for i, (attr, n) in enumerate(sorted(deltas.items())):
            names[f"#a{i}"] = attr
            values[f":v{i}"] = {"N": str(n)}
            adds.append(f"#a{i} :v{i}")
        sets = "#g = :last, #st = :st, #le = :le"
        ttl = fold.ttl_of(key)
        if ttl is not None:
            names["#ttl"] = tables.TTL_ATTRIBUTE
            values[":ttl"] = {"N": str(ttl)}
            sets += ", #ttl = :ttl"
        try:
            response = with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(*key),
                UpdateExpression=f"ADD {', '.join(adds)} SET {sets}", ConditionExpression=condition,
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD"), self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise _ConditionFailed() from None
            raise
        return response.get("Attributes") or {}

    def _guard_of(self, key: ItemKey, guard: str) -> str | None:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(*key), ConsistentRead=True,
            ProjectionExpression="#g", ExpressionAttributeNames={"#g": guard}), self.config).get("Item") or {}
        return item.get(guard, {}).get("S")

    def _dead_letter(self, fold: FoldWrite, key: ItemKey, deltas: Deltas, reason: str) -> None:
        logger.error("counter write refused for good: set aside", extra={"pk": key[0], "sk": key[1],
                                                                        "reason": reason[:300]})
        body = json.dumps({"pk": key[0], "sk": key[1], "deltas": dict(deltas)}, separators=(",", ":"))
        with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item={
            tables.PK: {"S": "DEADLETTER"}, tables.SK: {"S": f"item#{fold.tag}#{seq_key(fold.last)}#{key[0]}#{key[1]}"[:1000]},
            "data": {"S": body[:350_000]}, "reason": {"S": reason[:500]}, "at": {"N": str(fold.received)}}),
            self.config)


    def add_to_rollups(self, applied: Iterable[Applied], now: float) -> int:
        """Late minutes reach reports at once: the deltas of a minute the rolled-up hour
        (or day) already covers are added to that hour (day) item too, so reports, which
        read rolled items for closed periods, never miss an accepted event. The rollup
        recomputes those items from their minutes anyway (the fold marked the minute), so
        the sums converge whatever the order; only items that exist and cover the minute
        (the hour's frontier is past it) are touched, or created when the period is long
        closed and has none (it had no data); a recently closed one is read from minutes."""
        writes = 0
        for a in applied:
            if a.dead or not a.deltas:
                continue
            pk, sk = a.key
            gran, minute, execution = tables.parse_counter_sk(sk)
            start = buckets.bucket_start(tables.MINUTE, minute)
            if gran != tables.MINUTE or start >= now - LATE_AFTER:
                continue
            hour = (pk, tables.counter_sk(tables.HOUR, minute[:10], execution))
            hour_end = buckets.bucket_start(tables.HOUR, minute[:10]) + 3600
            written = self._add_rolled(hour, a.deltas, "attribute_exists(#f) AND #f > :start", start)
            if not written and hour_end + SETTLED_AFTER <= now:
                written = self._create_rolled(hour, a.deltas, hour_end) or \
                    self._add_rolled(hour, a.deltas, "attribute_exists(#f) AND #f > :start", start)
            writes += written
            day_end = buckets.bucket_start(tables.DAY, minute[:8]) + 86400
            if day_end + buckets.ROLLED_AFTER <= now:
                day = (pk, tables.counter_sk(tables.DAY, minute[:8], execution))
                written = self._add_rolled(day, a.deltas, "attribute_exists(pk)", None)
                if not written and day_end + SETTLED_AFTER <= now:
                    written = self._create_rolled(day, a.deltas, None) or \
                        self._add_rolled(day, a.deltas, "attribute_exists(pk)", None)
                writes += written
        return writes

    def _create_rolled(self, key: ItemKey, deltas: Deltas, frontier: int | None) -> int:
        """A long-closed hour (day) without an item had no data (the rollup writes one a minute
        after any): the late minute's deltas are its whole roll-up, read at once by reports
        (frontier.py reads no minutes of a closed hour without an item). The rollup recomputes
        it from its minutes next run (the minute is marked)."""
        extra = {":f": {"N": str(frontier)}} if frontier is not None else {}
        return self._add_if(key, deltas, "attribute_not_exists(pk)", extra, " SET #f = :f" if extra else "")

    def _add_rolled(self, key: ItemKey, deltas: Deltas, condition: str, start: int | None) -> int:
        return self._add_if(key, deltas, condition, {":start": {"N": str(start)}} if start is not None else {})

    def _add_if(self, key: ItemKey, deltas: Deltas, condition: str, extra: dict[str, Any], set_clause: str = "") -> int:
        """ADD the deltas to one item if `condition` holds (`#f` names the frontier): 1 written, 0 not."""
        names = {f"#a{i}": attr for i, attr in enumerate(sorted(deltas))}
        values: dict[str, Any] = {f":v{i}": {"N": str(deltas[attr])} for i, attr in enumerate(sorted(deltas))}
        values.update(extra)
        if "#f" in condition or "#f" in set_clause:
            names["#f"] = FRONTIER
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(*key),
                UpdateExpression="ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(deltas))) + set_clause,
                ConditionExpression=condition, ExpressionAttributeNames=names,
                ExpressionAttributeValues=values), self.config)
            return 1
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return 0


class _ConditionFailed(Exception):
    pass


def merge_into(target: dict[ItemKey, dict[str, int]], more: Iterable[tuple[ItemKey, Mapping[str, int]]]) -> None:
    for key, deltas in more:
        row = target.setdefault(key, {})
        for attr, n in deltas.items():
            row[attr] = row.get(attr, 0) + n

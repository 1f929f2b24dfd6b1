"""Stream batch -> one fold -> applied exactly once (the Kinesis handler's body).

Lambda delivers each shard's records in order, at least once, with retried
batches not guaranteed to keep their bounds. So exactness is keyed on
sequence numbers, per shard (ParallelizationFactor 1), never on batch identity:

- A per-shard state item holds the watermark: the last sequence number whose
  fold is fully applied. Records at or below it are skipped.
- A fold covers the records above the watermark. Its chunks of counter
  updates are TransactWriteItems, each carrying a conditional update of the
  state item: the first chunk pins the fold (its first and last sequence
  numbers and record count), each chunk bumps the count of chunks done, the
  last one advances the watermark and unpins. A retried invocation finds the
  pin, re-forms the same fold from the same records (reading them back from
  the stream if its batch is shorter) and applies only the chunks not done.
- The fold is a deterministic function of its records: items are sorted, the
  ledger's committed attempts never change, and cardinality decisions only
  move one way (see `cardinality.py`).
"""
from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import datasketches as ds
from botocore.exceptions import ClientError

from . import tables
from .aggregate import Aggregate, aggregate, split_sketch_attr
from .buckets import bucket_start
from .cardinality import CardinalityGuard
from .experiments.profiles import ProfileStates, relevant
from .ledger import DROP_AFTER, BatchLedger
from .live_push.notifier import Stamped, announce, stamped_of
from .sketches import DOMAIN_LG_K, LG_K
from .store import StoreConfig, StoreUnavailable, put_all, update_expression, with_retries
from .stream import EventStream, PoisonRecord, StreamRecord, decode

logger = logging.getLogger(__name__)
OPS_PER_CHUNK = 99  # + the state item = TransactWriteItems' 100
MAX_RESTARTS = 5


@dataclass(frozen=True)
class RawRecord:
    sequence: int
    data: bytes


@dataclass
class Pin:
    first: int
    last: int
    records: int
    chunks_done: int


@dataclass
class FoldStats:
    records: int = 0
    events: int = 0
    folds: int = 0
    chunks: int = 0
    skipped_chunks: int = 0
    ops: int = 0
    dropped_uncommitted: int = 0
    dropped_other_attempt: int = 0
    poison: int = 0
    duplicates_skipped: int = 0
    profile_reads: int = 0
    profile_writes: int = 0
    waited_seconds: float = 0.0
    notify_failed: int = 0  # live notifications that raised (logged; the fold stands)
    campaigns: set[tuple[str, str]] = field(default_factory=set)
    hours: set[str] = field(default_factory=set)  # hour buckets touched: what the rollup must look at

    def merge(self, other: "FoldStats") -> None:
        for name, value in vars(other).items():
            if isinstance(value, set):
                getattr(self, name).update(value)
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass
class _Fold:
    agg: Aggregate
    fold_id: str
    first: int
    last: int
    records: int
    #: (workspace, event) of the events that may change an experiment (experiments/profiles.py)
    experiment_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def parse_lambda_event(event: dict[str, Any]) -> tuple[str, str, list[RawRecord]]:
    """(stream name, shard id, records) of a Kinesis event source batch (one shard)."""
    records = event.get("Records") or []
    if not records:
        return "", "", []
    shard_id = records[0]["eventID"].rsplit(":", 1)[0]
    stream = records[0].get("eventSourceARN", "").rsplit("/", 1)[-1]
    return stream, shard_id, [RawRecord(int(r["kinesis"]["sequenceNumber"]), base64.b64decode(r["kinesis"]["data"]))
                              for r in records]


class Aggregator:
    def __init__(self, client: Any, config: StoreConfig, ledger: BatchLedger, guard: CardinalityGuard,
                 stream: EventStream | None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 after_chunk: Callable[[int], None] | None = None,
                 experiments: ProfileStates | None = None,
                 notify: Callable[[list[Stamped]], None] | None = None) -> None:
        self.client = client
        self._notify = notify  # live_push: told the stamped campaigns once a fold's last chunk committed
        self.experiments = experiments
        self.config = config
        self.ledger = ledger
        self.guard = guard
        self.stream = stream
        self.clock = clock
        self.sleep = sleep
        self._after_chunk = after_chunk  # test hook: a crash between chunks

    # --- the handler ---

    def handle(self, event: dict[str, Any]) -> FoldStats:
        stream, shard_id, records = parse_lambda_event(event)
        stats = FoldStats()
        if records:
            self.process(stream or (self.stream.stream_name if self.stream else "local"), shard_id, records, stats)
        return stats

    def process(self, stream: str, shard_id: str, records: list[RawRecord], stats: FoldStats) -> None:
        stats.records += len(records)
        for _ in range(MAX_RESTARTS):
            try:
                self._process_once(stream, shard_id, sorted(records, key=lambda r: r.sequence), stats)
                return
            except _StateMoved:
                continue  # another invocation applied part of this: re-read the state, go on from there
        raise StoreUnavailable(f"shard {shard_id}: state kept moving under this invocation")

    def _process_once(self, stream: str, shard_id: str, records: list[RawRecord], stats: FoldStats) -> None:
        watermark, pin = self._state(stream, shard_id)
        if watermark is not None:
            before = len(records)
            records = [r for r in records if r.sequence > watermark]
            stats.duplicates_skipped += before - len(records)
        if pin is not None:
            mine = [r for r in records if pin.first <= r.sequence <= pin.last]
            if len(mine) != pin.records:
                mine = self._read_back(shard_id, pin)
            fold = self._form(shard_id, mine, stats)
            self._apply(stream, shard_id, fold, watermark, pin.chunks_done, stats, pinned=True)
            records = [r for r in records if r.sequence > pin.last]
            watermark = pin.last
        if records:
            fold = self._form(shard_id, records, stats)
            self._apply(stream, shard_id, fold, watermark, 0, stats)

    # --- forming a fold ---

    def _read_back(self, shard_id: str, pin: Pin) -> list[RawRecord]:
        """A retried batch shorter than the pinned fold: read the fold's records from the stream."""
        if self.stream is None:
            raise StoreUnavailable("pinned fold spans records this batch lacks, and no stream to read")
        out = []
        for raw in self.stream.read(shard_id, after=pin.first - 1, at=pin.first):
            seq = int(raw["SequenceNumber"])
            if seq > pin.last:
                break
            out.append(RawRecord(seq, raw["Data"]))
        if len(out) != pin.records:
            raise StoreUnavailable(f"pinned fold of {pin.records} records, {len(out)} found on the stream")
        return out

    def _form(self, shard_id: str, records: list[RawRecord], stats: FoldStats) -> _Fold:
        decoded: list[StreamRecord] = []
        for raw in records:
            try:
                decoded.append(decode(raw.data, shard_id, raw.sequence))
            except PoisonRecord as exc:
                stats.poison += 1
                self._dead_letter(shard_id, raw, str(exc))
        counted = self._committed(decoded, stats)
        agg = aggregate(((r.workspace, r.received_at, r.events) for r in counted),
                        lambda ws, c, d, v: self.guard.admit(ws, c, d, v))
        stats.events += agg.events
        first, last = records[0].sequence, records[-1].sequence
        experiment_events = [(r.workspace, ev) for r in counted for ev in r.events if relevant(ev)] \
            if self.experiments is not None else []
        return _Fold(agg, f"{shard_id[-6:]}.{first}", first, last, len(records), experiment_events)

    def _committed(self, records: list[StreamRecord], stats: FoldStats) -> list[StreamRecord]:
        """The records whose attempt the ledger committed; waits (bounded) for young
        records whose request has not committed yet, drops the rest."""
        decided: dict[tuple[str, str], str] = {}
        while True:
            undecided = {(r.workspace, r.batch_id) for r in records} - decided.keys()
            decided.update(self.ledger.committed_attempts(undecided))
            now = self.clock()
            waiting = [r for r in records if (r.workspace, r.batch_id) not in decided
                       and now - r.received_at <= DROP_AFTER]
            if not waiting:
                break
            pause = min(0.2, max(0.01, DROP_AFTER - (now - min(r.received_at for r in waiting))))
            stats.waited_seconds += pause
            self.sleep(pause)
        out = []
        for r in records:
            attempt = decided.get((r.workspace, r.batch_id))
            if attempt == r.attempt:
                out.append(r)
            elif attempt is None:
                stats.dropped_uncommitted += 1
                logger.warning("dropping records of an attempt never committed",
                               extra={"batch_id": r.batch_id, "sequence": r.sequence_str})
            else:
                stats.dropped_other_attempt += 1
        return out

    def _dead_letter(self, shard_id: str, raw: RawRecord, reason: str) -> None:
        logger.error("poison record set aside", extra={"shard": shard_id, "sequence": str(raw.sequence),
                                                       "reason": reason})
        with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item={
            tables.PK: {"S": "DEADLETTER"}, tables.SK: {"S": f"{shard_id}#{raw.sequence:060d}"},
            "data": {"B": raw.data[:300_000]}, "reason": {"S": reason[:500]},
            "at": {"N": str(int(self.clock()))}}), self.config)

    # --- applying a fold ---

    def _ops(self, fold: _Fold) -> tuple[list[tuple[tuple[str, str], str, dict[str, Any]]], list[dict[str, Any]]]:
        """((key, hour, op) of every minute item, sorted; directory ops), deterministic for a fold."""
        table = self.config.table_name
        agg = fold.agg
        ops: list[tuple[tuple[str, str], str, dict[str, Any]]] = []
        for pk, sk in agg.counters:
            minute = sk.split("#")[1]
            ops.append(((pk, sk), minute[:10], {"Update": {"TableName": table, "Key": tables.key(pk, sk),
                                                           **update_expression(agg.counters[(pk, sk)],
                                                                               _minute_ttl(minute))}}))
        ops.sort(key=lambda o: o[0])
        directory = []
        for (workspace, campaign), (channels, latest) in sorted(agg.campaigns.items()):
            values = {":c": {"SS": sorted(channels)}, ":t": {"N": str(latest)},
                      ":s": {"S": f"{fold.fold_id}.{fold.last}"}}
            experiments = agg.experiments.get((workspace, campaign))
            if experiments:
                values[":x"] = {"SS": sorted(experiments)}
            directory.append({"Update": {
                "TableName": table, "Key": tables.key(tables.campaigns_pk(workspace), campaign),
                "UpdateExpression": "ADD channels :c" + (", experiments :x" if experiments else "")
                                    + " SET last_event = :t, stamp = :s",
                "ExpressionAttributeValues": values}})
        return ops, directory

    def _sketch_deltas(self, fold: _Fold) -> list[dict[str, Any]]:
        """The fold's sketch delta items: one per (partition, minute, execution) with profiles.

        They are written before the fold's first chunk, outside its transactions
        (a Put keyed by the fold's id is idempotent, and half the price): a reader
        unions deltas only of the minutes in the work list's `tm`, which the chunk
        holding the minute's counters updates, so deltas show with their counts."""
        items = []
        for (pk, minute, execution), attrs in sorted(fold.agg.profiles.items()):
            sk = tables.minute_sketch_sk(tables.SKETCH_DELTA, minute, execution, fold.fold_id)
            item = {**tables.key(pk, sk), tables.TTL_ATTRIBUTE: {"N": str(_minute_ttl(minute))}}
            for attr, ids in sorted(attrs.items()):
                item["s:" + attr] = {"B": _sketch_of(ids, DOMAIN_LG_K if split_sketch_attr(attr)[1] else LG_K)}
            items.append(item)
        return items

    def _chunks(self, fold: _Fold) -> list[list[dict[str, Any]]]:
        """Transaction chunks. Each chunk bumps the rollup work-list entry of every
        (partition, hour) it writes minutes of, in the same transaction, and adds
        those minutes to the entry's set of touched minutes (`tm`), so a rollup can
        never see an entry's version without the minutes that came with it."""
        ops, directory = self._ops(fold)
        chunks: list[list[dict[str, Any]]] = []
        current: list[dict[str, Any]] = []
        hours: dict[tuple[str, str], set[str]] = {}

        def close() -> None:
            bumps = [{"Update": {"TableName": self.config.table_name,
                                 "Key": tables.key(tables.rollup_pk(tables.HOUR, hour), pk),
                                 "UpdateExpression": "ADD v :one, tm :minutes",
                                 "ExpressionAttributeValues": {":one": {"N": "1"},
                                                               ":minutes": {"SS": sorted(hours[(pk, hour)])}}}}
                     for pk, hour in sorted(hours)]
            chunks.append(current + bumps)

        for (pk, sk), hour, op in ops:
            if len(current) + len(hours) + 1 + int((pk, hour) not in hours) > OPS_PER_CHUNK:
                close()
                current, hours = [], {}
            current.append(op)
            hours.setdefault((pk, hour), set()).add(sk.split("#")[1])
        if current or not chunks:
            close()
        # Change stamps go with the last chunk: a page that sees one moved finds the whole fold.
        if len(chunks[-1]) + len(directory) <= OPS_PER_CHUNK:
            chunks[-1] = chunks[-1] + directory
        else:
            chunks.extend(directory[i:i + OPS_PER_CHUNK] for i in range(0, len(directory), OPS_PER_CHUNK))
        return chunks

    def _apply(self, stream: str, shard_id: str, fold: _Fold, watermark: int | None, start: int,
               stats: FoldStats, pinned: bool = False) -> None:
        if fold.experiment_events and self.experiments is not None:
            # Profile states are written before the chunks, so the fold is pinned first: a retry
            # must re-form exactly these records under the same tag (experiments/profiles.py).
            if not pinned:
                self._pin(stream, shard_id, fold, watermark)
                pinned = True
            resolution = self.experiments.resolve(fold.fold_id, fold.experiment_events)
            _merge(fold.agg, resolution.counters)
            stats.profile_reads += resolution.reads
            stats.profile_writes += resolution.writes
        chunks = self._chunks(fold)
        if start == 0:
            put_all(self.client, self.config, self._sketch_deltas(fold))
        stats.folds += 1
        stats.campaigns.update(fold.agg.campaigns)
        stats.hours.update(hour for _, hour in fold.agg.hours)
        for index in range(start, len(chunks)):
            state_op = self._state_op(stream, shard_id, fold, watermark, index, len(chunks), pinned)
            items = chunks[index] + [state_op]
            try:
                with_retries(lambda: self.client.transact_write_items(TransactItems=items), self.config)
            except ClientError as exc:
                if _state_condition_failed(exc, len(items) - 1):
                    raise _StateMoved() from None
                raise
            stats.chunks += 1
            stats.ops += len(chunks[index])
            if self._after_chunk is not None:
                self._after_chunk(index)
        stats.skipped_chunks += start
        if self._notify is not None and len(chunks) > start:  # this invocation committed the last chunk
            stamped = stamped_of(fold.agg.campaigns, fold.agg.counters, f"{fold.fold_id}.{fold.last}")
            stats.notify_failed += int(not announce(self._notify, stamped))

    def _pin(self, stream: str, shard_id: str, fold: _Fold, watermark: int | None) -> None:
        """Pin the fold (first, last, records; no chunk done) before anything else is written."""
        condition = "attribute_not_exists(pf) AND " + (
            "attribute_not_exists(#wm)" if watermark is None else "#wm = :prev")
        values: dict[str, Any] = {":first": {"S": str(fold.first)}, ":plast": {"S": str(fold.last)},
                                  ":pn": {"N": str(fold.records)}, ":zero": {"N": "0"}}
        if watermark is not None:
            values[":prev"] = {"S": str(watermark)}
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(*_state_key(stream, shard_id)),
                UpdateExpression="SET pf = :first, pl = :plast, pn = :pn, pd = :zero",
                ConditionExpression=condition, ExpressionAttributeNames={"#wm": "wm"},
                ExpressionAttributeValues=values), self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise _StateMoved() from None
            raise

    def _state_op(self, stream: str, shard_id: str, fold: _Fold, watermark: int | None, index: int,
                  total: int, pinned: bool = False) -> dict[str, Any]:
        names = {"#wm": "wm"}
        values: dict[str, Any] = {}
        if index == 0 and not pinned:
            condition = "attribute_not_exists(pf) AND " + (
                "attribute_not_exists(#wm)" if watermark is None else "#wm = :prev")
            if watermark is not None:
                values[":prev"] = {"S": str(watermark)}
        else:
            condition = "pf = :first AND pd = :done"
            values.update({":first": {"S": str(fold.first)}, ":done": {"N": str(index)}})
        if index == total - 1:
            update = "SET #wm = :last, t = :now REMOVE pf, pl, pn, pd"
            values.update({":last": {"S": str(fold.last)}, ":now": {"N": str(int(self.clock()))}})
        elif index == 0 and not pinned:
            update = "SET pf = :first, pl = :plast, pn = :pn, pd = :next"
            values.update({":first": {"S": str(fold.first)}, ":plast": {"S": str(fold.last)},
                           ":pn": {"N": str(fold.records)}, ":next": {"N": "1"}})
        else:
            update = "SET pd = :next"
            values[":next"] = {"N": str(index + 1)}
        op = {"TableName": self.config.table_name, "Key": tables.key(*_state_key(stream, shard_id)),
              "UpdateExpression": update, "ConditionExpression": condition, "ExpressionAttributeValues": values}
        if "#wm" in update or "#wm" in condition:
            op["ExpressionAttributeNames"] = names
        return {"Update": op}

    def _state(self, stream: str, shard_id: str) -> tuple[int | None, Pin | None]:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(*_state_key(stream, shard_id)),
            ConsistentRead=True), self.config).get("Item") or {}
        watermark = int(item["wm"]["S"]) if "wm" in item else None
        pin = None
        if "pf" in item:
            pin = Pin(int(item["pf"]["S"]), int(item["pl"]["S"]), int(item["pn"]["N"]), int(item["pd"]["N"]))
        return watermark, pin


class _StateMoved(Exception):
    """The shard's state changed under this invocation (a concurrent or late one)."""


def _merge(agg: Aggregate, counters: dict[tuple[str, str], dict[str, int]]) -> None:
    """Add experiment counter deltas to the fold's, with their hours in the rollup's work list."""
    for (pk, sk), attrs in counters.items():
        target = agg.counters.setdefault((pk, sk), {})
        for attr, n in attrs.items():
            target[attr] = target.get(attr, 0) + n
        agg.hours.add((pk, sk.split("#")[1][:10]))


def _state_key(stream: str, shard_id: str) -> tuple[str, str]:
    return tables.shard_state_pk(stream, shard_id), "STATE"


def _minute_ttl(minute: str) -> int:
    return bucket_start(tables.MINUTE, minute) + tables.MINUTE_TTL_SECONDS


def _sketch_of(ids: Iterable[str], lg_k: int) -> bytes:
    sketch = ds.hll_sketch(lg_k, ds.tgt_hll_type.HLL_4)
    for profile in sorted(ids):
        sketch.update(profile)
    return sketch.serialize_compact()


def _state_condition_failed(exc: ClientError, state_index: int) -> bool:
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons", [])
    return len(reasons) > state_index and reasons[state_index].get("Code") == "ConditionalCheckFailed"

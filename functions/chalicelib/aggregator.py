"""Stream batch -> one fold -> applied exactly once (the Kinesis handler's body).

Lambda delivers each shard's records in order, at least once, and a retried
batch may have other bounds. Exactness is kept per item, without transactions
(DESIGN invariant 2; docs/design.md "Exactly once"):

1. **Form** the fold: decode the batch's records (an undecodable one is a
   poison record: dead-lettered, the shard goes on), keep those whose request's
   committed attempt is theirs (`ledger.py`), park those whose request has not
   committed yet (`fold/parking.py`, so they never hold the shard), and
   aggregate the rest into minute deltas (`aggregate.py`).
2. **Experiments**: profiles' states and the counter deltas they imply
   (`experiments/profiles.py`), recorded with their source record.
3. **Counters**: one conditional UpdateItem per touched item, idempotent on the
   item's own applied sequence for this shard (`fold/writing.py`).
4. **The rest, once and only when needed**: sketch deltas, the rollup's work-list
   marks, the campaign directory (`fold/marks.py`).
5. **The shard's watermark** (records at or below it are skipped on
   redelivery) is an optimisation now, written at most every WATERMARK_EVERY
   seconds: the items' guards, not the watermark, make a redelivery harmless.
"""
from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import datasketches as ds
from botocore.exceptions import ClientError

from . import buckets, tables
from .aggregate import Aggregate, aggregate, split_sketch_attr
from .cardinality import CardinalityGuard
from .experiments.profiles import ProfileStates, relevant
from .fold.guards import seq_key, shard_tag, stamp_of
from .fold.marks import STAMP_RECENT, DirectoryWriter, Marks, needs_mark
from .fold.parking import PARK_AFTER, Parked, Parking
from .fold.writing import CounterWriter, FoldWrite, merge_into
from .hot_flags import HotFlags
from .ledger import DROP_AFTER, BatchLedger
from .live_push.notifier import Stamped, announce, stamped_of
from .sketches import DOMAIN_LG_K, LG_K
from .store import StoreConfig, with_retries
from .stream import EventStream, PoisonRecord, StreamRecord, decode

logger = logging.getLogger(__name__)
#: The watermark only spares a redelivered batch the slow path (the items' guards keep it exact);
#: every 10 s it was 0.15 WRU per event at one request a second on two shards (bench/ingest.py)
WATERMARK_EVERY = 60.0


@dataclass(frozen=True)
class RawRecord:
    sequence: int
    data: bytes


@dataclass
class FoldStats:
    records: int = 0
    events: int = 0
    folds: int = 0
    items_written: int = 0
    slow_items: int = 0  # items a redelivered or overlapping fold found partly or wholly applied
    dead_items: int = 0
    marks: int = 0
    directory_writes: int = 0
    dropped_uncommitted: int = 0
    dropped_other_attempt: int = 0
    parked: int = 0
    unparked: int = 0
    poison: int = 0
    duplicates_skipped: int = 0
    waited_seconds: float = 0.0
    profile_reads: int = 0
    profile_writes: int = 0
    rollup_adds: int = 0  # late minutes added to their rolled-up hour or day too
    notify_failed: int = 0  # live notifications that raised (logged; the fold stands)
    hot_flags: int = 0  # campaigns flagged hot for ingest to salt (hot_flags.py)
    campaigns: set[tuple[str, str]] = field(default_factory=set)
    hours: set[str] = field(default_factory=set)  # hour buckets touched: what the rollup must look at

    def merge(self, other: "FoldStats") -> None:
        for name, value in vars(other).items():
            if isinstance(value, set):
                getattr(self, name).update(value)
            else:
                setattr(self, name, getattr(self, name) + value)


def parse_lambda_event(event: dict[str, Any]) -> tuple[str, str, list[RawRecord]]:
    """(stream name, shard id, records) of a Kinesis event source batch (one shard)."""
    records = event.get("Records") or []
    if not records:
        return "", "", []
    shard_id = records[0]["eventID"].rsplit(":", 1)[0]
    stream = records[0].get("eventSourceARN", "").rsplit("/", 1)[-1]
    return stream, shard_id, [RawRecord(int(r["kinesis"]["sequenceNumber"]), base64.b64decode(r["kinesis"]["data"]))
                              for r in records]


@dataclass
class _Fold:
    tag: str
    first: int
    last: int
    records: list[StreamRecord]  # committed, in sequence order
    agg: Aggregate

    @property
    def fold_id(self) -> str:
        return f"{self.tag}.{self.first}"


class Aggregator:
    def __init__(self, client: Any, config: StoreConfig, ledger: BatchLedger, guard: CardinalityGuard,
                 stream: EventStream | None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 after_chunk: Callable[[int], None] | None = None,
                 experiments: ProfileStates | None = None, write_concurrency: int = 1,
                 notify: Callable[[list[Stamped]], None] | None = None, hot: HotFlags | None = None) -> None:
        self.client = client
        self.hot = hot  # flags a campaign one shard's fold finds past its share (hot_flags.py)
        self._notify = notify  # live_push: told the stamped campaigns once a fold's items are written
        self.config = config
        self.ledger = ledger
        self.guard = guard
        self.stream = stream
        self.clock = clock
        self.sleep = sleep
        self.experiments = experiments
        self._after_chunk = after_chunk  # test hook: a crash after a step of item writes
        self.writer = CounterWriter(client, config, write_concurrency)
        self.marks = Marks(client, config)
        self.directory = DirectoryWriter(client, config, clock)
        self.parking = Parking(client, config, _state_key, clock)
        self._watermarks: dict[tuple[str, str], float] = {}

    # --- the handler ---

    def handle(self, event: dict[str, Any]) -> FoldStats:
        stream, shard_id, records = parse_lambda_event(event)
        stats = FoldStats()
        if records:
            self.process(stream or (self.stream.stream_name if self.stream else "local"), shard_id, records, stats)
        return stats

    def process(self, stream: str, shard_id: str, records: list[RawRecord], stats: FoldStats) -> None:
        stats.records += len(records)
        records = sorted(records, key=lambda r: r.sequence)
        watermark, parked_max = self._state(stream, shard_id)
        if watermark is not None:
            fresh = [r for r in records if r.sequence > watermark]
            stats.duplicates_skipped += len(records) - len(fresh)
            records = fresh
        if parked_max is not None:
            # a retry may bring records an earlier attempt parked: those are the queue's now
            queue = self.parking.queue(stream, shard_id)
            queued = {p.sequence for p in queue}
            stats.duplicates_skipped += sum(1 for r in records if r.sequence in queued)
            records = [r for r in records if r.sequence not in queued]
            self._drain(stream, shard_id, queue, parked_max, stats)
        if not records:
            return
        decoded = self._decode(shard_id, records, stats)
        counted, parked = self._committed(decoded, stats)
        if parked:
            self.parking.park(stream, shard_id, [Parked(r.sequence, raw) for r, raw in parked])
            stats.parked += len(parked)
        tag = shard_tag(shard_id)
        self._apply(stream, shard_id, tag, records[0].sequence, records[-1].sequence, counted, stats)
        self._advance_watermark(stream, shard_id, records[-1].sequence)

    def drain_all_parked(self, stream: str) -> FoldStats:
        """Every shard's parked queue (a minute's schedule: a shard that went quiet gets no
        invocation to drain it)."""
        stats = FoldStats()
        for shard_id in self.parking.shards_with_parked(stream):
            self.drain_parked(stream, shard_id, stats)
        return stats

    def drain_parked(self, stream: str, shard_id: str, stats: FoldStats) -> None:
        """The parked queue of a shard that may have gone quiet (the rollup schedule calls this)."""
        parked_max = self._state(stream, shard_id)[1]
        if parked_max is not None:
            self._drain(stream, shard_id, self.parking.queue(stream, shard_id), parked_max, stats)

    def _drain(self, stream: str, shard_id: str, queue: list[Parked], parked_max: int, stats: FoldStats) -> None:
        """Apply, in sequence order, the parked records whose request committed since;
        drop those that can no longer commit; stop at the first still undecided."""
        if not queue:
            self.parking.release(stream, shard_id, [], seq_key(parked_max))
            return
        decoded: list[StreamRecord] = []
        for p in queue:
            try:
                decoded.append(decode(p.data, shard_id, p.sequence))
            except PoisonRecord as exc:  # it decoded once; never expected
                self._dead_letter(shard_id, RawRecord(p.sequence, p.data), str(exc))
        decided = self.ledger.committed_attempts({(r.workspace, r.batch_id) for r in decoded})
        now = self.clock()
        ready: list[StreamRecord] = []
        released: list[int] = []
        for r in decoded:
            attempt = decided.get((r.workspace, r.batch_id))
            if attempt is None and now - r.received_at <= DROP_AFTER:
                break  # later parked records wait behind this one: the parked guard only moves forward
            if attempt == r.attempt:
                ready.append(r)
            elif attempt is None:
                stats.dropped_uncommitted += 1
                logger.warning("dropping a parked record never committed", extra={"batch_id": r.batch_id})
            else:
                stats.dropped_other_attempt += 1
            released.append(r.sequence)
        if ready:
            self._apply(stream, shard_id, shard_tag(shard_id) + "p", ready[0].sequence, ready[-1].sequence,
                        ready, stats)
            stats.unparked += len(ready)
        if released:
            self.parking.release(stream, shard_id, released,
                                 seq_key(parked_max) if len(released) == len(queue) else None)

    # --- forming ---

    def _decode(self, shard_id: str, records: list[RawRecord], stats: FoldStats) -> list[tuple[StreamRecord, bytes]]:
        out = []
        for raw in records:
            try:
                out.append((decode(raw.data, shard_id, raw.sequence), raw.data))
            except PoisonRecord as exc:
                stats.poison += 1
                self._dead_letter(shard_id, raw, str(exc))
        return out

    def _committed(self, records: list[tuple[StreamRecord, bytes]],
                   stats: FoldStats) -> tuple[list[StreamRecord], list[tuple[StreamRecord, bytes]]]:
        """(records whose attempt the ledger committed, records to park). A young record whose
        request has not committed is waited for at most PARK_AFTER, then parked; an old one
        (past DROP_AFTER: ingest never commits that late) is dropped."""
        decided: dict[tuple[str, str], str] = {}
        started = self.clock()
        while True:
            undecided = {(r.workspace, r.batch_id) for r, _ in records} - decided.keys()
            decided.update(self.ledger.committed_attempts(undecided))
            now = self.clock()
            waiting = [r for r, _ in records if (r.workspace, r.batch_id) not in decided
                       and now - r.received_at <= DROP_AFTER]
            if not waiting or now - started >= PARK_AFTER:
                break
            pause = min(0.2, max(0.01, PARK_AFTER - (now - started)))
            stats.waited_seconds += pause
            self.sleep(pause)
        counted, parked = [], []
        now = self.clock()
        for r, raw in records:
            attempt = decided.get((r.workspace, r.batch_id))
            if attempt == r.attempt:
                counted.append(r)
            elif attempt is None and now - r.received_at <= DROP_AFTER:
                parked.append((r, raw))
            elif attempt is None:
                stats.dropped_uncommitted += 1
                logger.warning("dropping records of an attempt never committed",
                               extra={"batch_id": r.batch_id, "sequence": r.sequence_str})
            else:
                stats.dropped_other_attempt += 1
        return counted, parked

    def _aggregate(self, records: list[StreamRecord]) -> Aggregate:
        return aggregate(((r.workspace, r.received_at, r.events, r.salt) for r in records),
                         lambda ws, c, d, v: self.guard.admit(ws, c, d, v))

    # --- applying ---

    def _apply(self, stream: str, shard_id: str, tag: str, first: int, last: int,
               records: list[StreamRecord], stats: FoldStats) -> None:
        if not records:
            return
        fold = _Fold(tag, first, last, records, self._aggregate(records))
        stats.events += fold.agg.events
        stats.folds += 1
        stats.campaigns.update(fold.agg.campaigns)
        stats.hours.update(hour for _, hour in fold.agg.hours)
        items = {k: dict(v) for k, v in fold.agg.counters.items()}
        resolution = None
        if self.experiments is not None:
            events = [(r.workspace, ev, r.sequence) for r in records for ev in r.events if relevant(ev)]
            if events:
                resolution = self.experiments.resolve(tag, first, events)
                merge_into(items, resolution.counters().items())
                stats.profile_reads += resolution.reads
                stats.profile_writes += resolution.writes
                stats.hours.update(sk.split("#")[1][:10] for _, sk in resolution.counters())
        recomputed: dict[int, dict[Any, dict[str, int]]] = {}

        def recompute(after: int) -> dict[Any, dict[str, int]]:
            """The items' deltas of this fold's records after a sequence (the slow path)."""
            if after not in recomputed:
                later = self._aggregate([r for r in records if r.sequence > after]).counters
                out = {k: dict(v) for k, v in later.items()}
                if resolution is not None:
                    merge_into(out, resolution.counters(after).items())
                recomputed[after] = out
            return recomputed[after]

        received = max(int(r.received_at) for r in records)
        # the stamp says when the fold wrote (a parked or late fold still moves its campaign's stamp forward)
        write = FoldWrite(tag, first, last, stamp_of(int(self.clock() * 1000), tag, last),
                          received, ttl_of=_minute_ttl, after_step=self._after_chunk)
        applied = self.writer.apply(write, items, recompute)
        stats.rollup_adds += self.writer.add_to_rollups(applied, self.clock())
        stats.items_written += sum(1 for a in applied if not a.dead)
        stats.slow_items += sum(1 for a in applied if a.slow)
        stats.dead_items += sum(1 for a in applied if a.dead)
        # distinct counts never run ahead of totals: sketch deltas after the counters they go with
        self.marks.sketch_deltas(self._sketch_deltas(fold))
        now = self.clock()
        minutes_by_hour: dict[tuple[str, str], set[str]] = {}
        for a in applied:
            pk, sk = a.key
            minute = sk.split("#")[1]
            if needs_mark(minute, a.created, a.slow, now):
                minutes_by_hour.setdefault((pk, minute[:10]), set()).add(minute)
        stats.marks += self.marks.mark(minutes_by_hour)
        stats.directory_writes += self.directory.write(self._directory_updates(fold, write.stamp, now))
        if self.hot is not None:
            stats.hot_flags += self.hot.note_records(records)
        if self._notify is not None:  # best effort, after every write of the fold: pages refetch what it wrote
            stamped = stamped_of(fold.agg.campaigns, fold.agg.counters, write.stamp)
            stats.notify_failed += int(not announce(self._notify, stamped))

    def _directory_updates(self, fold: _Fold, stamp: str, now: float) -> list[tuple]:
        oldest_recent = buckets.bucket_of(tables.MINUTE, int(now) - STAMP_RECENT)
        late: set[tuple[str, str]] = set()
        for pk, sk in fold.agg.counters:
            if sk.split("#")[1] < oldest_recent:
                late.add(tables.parse_counter_pk(pk))
        out = []
        for (workspace, campaign), (channels, latest) in sorted(fold.agg.campaigns.items()):
            experiments = fold.agg.experiments.get((workspace, campaign), set())
            if self.directory.due(workspace, campaign, channels, experiments, (workspace, campaign) in late):
                out.append((workspace, campaign, channels, experiments, latest, stamp))
        return out

    def _sketch_deltas(self, fold: _Fold) -> list[dict[str, Any]]:
        """One Put per (partition, minute, execution) with profiles, keyed by the fold: idempotent."""
        items = []
        for (pk, minute, execution), attrs in sorted(fold.agg.profiles.items()):
            sk = tables.minute_sketch_sk(tables.SKETCH_DELTA, minute, execution, fold.fold_id)
            item = {**tables.key(pk, sk), tables.TTL_ATTRIBUTE: {"N": str(_minute_ttl((pk, f"M#{minute}#")))}}
            for attr, ids in sorted(attrs.items()):
                item["s:" + attr] = {"B": _sketch_of(ids, DOMAIN_LG_K if split_sketch_attr(attr)[1] else LG_K)}
            items.append(item)
        return items

    # --- the shard's watermark (an optimisation) and dead letters ---

    def _state(self, stream: str, shard_id: str) -> tuple[int | None, int | None]:
        """(watermark, highest parked sequence) of the shard."""
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(*_state_key(stream, shard_id)),
            ConsistentRead=True), self.config).get("Item") or {}
        return (int(item["wm"]["S"]) if "wm" in item else None, int(item["pm"]["S"]) if "pm" in item else None)

    def _advance_watermark(self, stream: str, shard_id: str, last: int) -> None:
        key = (stream, shard_id)
        if self.clock() - self._watermarks.get(key, 0.0) < WATERMARK_EVERY:
            return
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(*_state_key(stream, shard_id)),
                UpdateExpression="SET wm = :last, t = :now",
                ConditionExpression="attribute_not_exists(wm) OR wm < :last",
                ExpressionAttributeValues={":last": {"S": seq_key(last)}, ":now": {"N": str(int(self.clock()))}}),
                self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        self._watermarks[key] = self.clock()

    def _dead_letter(self, shard_id: str, raw: RawRecord, reason: str) -> None:
        logger.error("poison record set aside", extra={"shard": shard_id, "sequence": str(raw.sequence),
                                                       "reason": reason})
        with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item={
            tables.PK: {"S": "DEADLETTER"}, tables.SK: {"S": f"{shard_id}#{raw.sequence:060d}"},
            "data": {"B": raw.data[:300_000]}, "reason": {"S": reason[:500]},
            "at": {"N": str(int(self.clock()))}}), self.config)


def _state_key(stream: str, shard_id: str) -> tuple[str, str]:
    return tables.shard_state_pk(stream, shard_id), "STATE"


def _minute_ttl(key: tuple[str, str]) -> int | None:
    """Minute items expire (TTL bucket + 96 h); anything else a fold writes is kept."""
    sk = key[1]
    if not sk.startswith(f"{tables.MINUTE}#"):
        return None
    return buckets.bucket_start(tables.MINUTE, sk.split("#")[1]) + tables.MINUTE_TTL_SECONDS


def _sketch_of(ids: Any, lg_k: int) -> bytes:
    sketch = ds.hll_sketch(lg_k, ds.tgt_hll_type.HLL_4)
    for profile in sorted(ids):
        sketch.update(profile)
    return sketch.serialize_compact()

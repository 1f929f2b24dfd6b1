"""moto's Kinesis, made to hold a day of records (see moto_speedups.py).

moto appends records for ever, finds a shard's last sequence number by
listing every key (each put) and reads a shard from its first record (each
GetRecords), so puts and polls slowed down with the stream's age. Here:
records older than the stream's retention period (24 h unless increased) are
dropped, as Kinesis does; sequence numbers keep increasing when a shard
empties; reads start at the iterator's position. `trim_shard` lets local mode
drop the records its consumer has folded sooner (streaming.py). put_records
also wrote two CloudWatch data points per call into moto's CloudWatch
backend, which keeps them for ever; nothing reads them locally, so they are
not recorded.
"""
from __future__ import annotations

import threading
import time
from typing import Any


def _last_sequence(shard: Any) -> int:
    last = getattr(shard, "_last_sequence", None)
    if last is None:
        last = next(reversed(shard.records), 0)
    return last


def _expire(shard: Any, retention_hours: int, now: float) -> None:
    """Drop the records older than the stream's retention, as Kinesis does."""
    horizon = now - retention_hours * 3600
    records = shard.records
    while records:
        first = next(iter(records))
        if records[first].created_at >= horizon:
            return
        shard._last_sequence = _last_sequence(shard)
        del records[first]


def trim_shard(stream: Any, shard_id: str, upto: int, put_before: float | None = None) -> int:
    """Drop a shard's oldest records up to sequence `upto` (and, with `put_before`,
    only those put before that time). Local mode drops what its consumer has
    folded (streaming.py). Returns how many were dropped."""
    shard = stream.shards[shard_id]
    shard._last_sequence = _last_sequence(shard)
    records, dropped = shard.records, 0
    while records:
        first = next(iter(records))
        if first > upto or (put_before is not None and records[first].created_at >= put_before):
            break
        del records[first]
        dropped += 1
    return dropped


_PUT_LOCK = threading.Lock()


def apply() -> None:
    """Patch moto's Kinesis models (moto_speedups.apply calls it once)."""
    from moto.kinesis.models import KinesisBackend, Record, Shard, Stream

    def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        # Kinesis never gives two records one sequence number; moto's read-then-add does under threads
        # (in-process mocks with concurrent producers), and the later record replaced the earlier one.
        with _PUT_LOCK:
            sequence_number = _last_sequence(self) + 1
            self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
            self._last_sequence = sequence_number
        return str(sequence_number)

    def get_min_sequence_number(self: Any) -> int:
        return next(iter(self.records), 0)

    def get_max_sequence_number(self: Any) -> int:
        return next(reversed(self.records), 0) if self.records else 0

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        last = int(last_sequence_id)
        records = self.records
        if not records:
            return [], last, 0
        first, newest = next(iter(records)), next(reversed(records))
        results = []
        # sequence numbers are consecutive integers (put_record above): start at the position
        for number in range(max(last + 1, first), newest + 1):
            record = records.get(number)
            if record is None:
                continue
            results.append(record)
            last = number
            if limit and len(results) == limit:
                break
        behind = records[newest].created_at - results[-1].created_at if results else 0.0
        return results, last, int(behind * 1000)

    original_stream_put = Stream.put_record

    def stream_put_record(self: Any, partition_key: str, explicit_hash_key: str, data: str) -> tuple[str, str]:
        out = original_stream_put(self, partition_key, explicit_hash_key, data)
        now = time.time()
        if now >= getattr(self, "_next_expiry", 0.0):  # at most once a minute
            self._next_expiry = now + 60
            for shard in self.shards.values():
                _expire(shard, self.retention_period_hours, now)
        return out

    Shard.put_record = put_record  # type: ignore[method-assign]
    Shard.get_min_sequence_number = get_min_sequence_number  # type: ignore[method-assign]
    Shard.get_max_sequence_number = get_max_sequence_number  # type: ignore[method-assign]
    Shard.get_records = get_records  # type: ignore[method-assign]
    Stream.put_record = stream_put_record  # type: ignore[method-assign]
    KinesisBackend._send_stream_metrics = lambda self, *args, **kwargs: None  # type: ignore[method-assign]

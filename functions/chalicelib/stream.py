"""The durable log between ingest and the aggregator: a Kinesis data stream.

Ingest puts a request's accepted events as one or a few compressed records,
partition key = the request's identity, tagged with the attempt that put
them; the aggregator decodes them in large batches. A record is only data
here: whether it counts is the ledger's answer (see `ledger.py`).
"""
from __future__ import annotations

import base64
import json
import random
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from .events import Event
from .store import StoreUnavailable

#: Events per record: 2,000 normalised events compress to ~60-120 KB, far under
#: Kinesis' 1 MiB per record, and a 5,000-event request stays 3 records.
EVENTS_PER_RECORD = 2000
PUT_BATCH = 500  # PutRecords' limit
FORMAT_VERSION = 1
#: Event fields carried on the stream (the normalised event, recipient already reduced to its domain).
FIELDS = ("event_id", "campaign_id", "channel", "type", "profile_id", "execution_id", "platform",
          "recipient_domain", "reason", "bounce_type", "error_type", "url", "action", "interaction_type",
          "element", "offer_id", "variant", "value", "currency")


@dataclass(frozen=True)
class StreamRecord:
    """One decoded record: the events of (part of) one request attempt."""

    workspace: str
    batch_id: str
    attempt: str
    received_at: float
    events: list[dict[str, Any]]
    shard_id: str = ""
    sequence: int = 0
    salt: int = 0  # >0: a hot campaign's records, spread over shards (`ingest.HotCampaigns`)

    @property
    def sequence_str(self) -> str:
        return str(self.sequence)


def compact(event: Event) -> dict[str, Any]:
    """The event as a small dict: set fields only, timestamp as epoch seconds."""
    d = event.__dict__
    out: dict[str, Any] = {"ts": int(d["timestamp"].timestamp())}
    for name in FIELDS:
        value = d[name]
        if value is not None:
            out[name] = value
    if d["machine"]:
        out["machine"] = True
    return out


def encode(workspace: str, batch_id: str, attempt: str, received_at: float,
           events: Sequence[dict[str, Any]], salt: int = 0) -> list[bytes]:
    """Records for one attempt: parts of at most EVENTS_PER_RECORD events."""
    parts = [events[i:i + EVENTS_PER_RECORD] for i in range(0, len(events), EVENTS_PER_RECORD)] or [[]]
    head: dict[str, Any] = {"v": FORMAT_VERSION, "ws": workspace, "b": batch_id, "a": attempt, "r": received_at}
    if salt:
        head["s"] = salt
    return [zlib.compress(json.dumps({**head, "e": list(part)}, separators=(",", ":")).encode(), 6)
            for part in parts]


class PoisonRecord(ValueError):
    """A record that cannot be decoded: set aside, never retried forever."""


def decode(data: bytes, shard_id: str = "", sequence: int = 0) -> StreamRecord:
    try:
        doc = json.loads(zlib.decompress(data))
        if doc.get("v") != FORMAT_VERSION:
            raise PoisonRecord(f"unknown record format {doc.get('v')!r}")
        events = doc["e"]
        if not isinstance(events, list):
            raise PoisonRecord("events is not a list")
        return StreamRecord(str(doc["ws"]), str(doc["b"]), str(doc["a"]), float(doc["r"]), events,
                            shard_id, sequence, int(doc.get("s", 0)))
    except PoisonRecord:
        raise
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise PoisonRecord(f"undecodable record: {type(exc).__name__}: {str(exc)[:120]}") from None


class EventStream:
    """Puts records on one Kinesis stream (ingest side) and reads them back
    (local mode's poller, tests, and the aggregator's recovery of a pinned fold)."""

    def __init__(self, client: Any, stream_name: str, max_attempts: int = 5, base_backoff: float = 0.05,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.stream_name = stream_name
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.sleep = sleep
        self.records_put = 0
        self.bytes_put = 0

    def put(self, partition_key: str, records: list[bytes]) -> None:
        """Put every record or raise StoreUnavailable (the request then answers 503).
        Throttled records are retried with jittered exponential backoff: retrying at once
        only adds load to a shard that is already over its limit."""
        self.put_keyed([(partition_key, r) for r in records])

    def put_keyed(self, keyed: list[tuple[str, bytes]]) -> None:
        """Put (partition key, record) pairs, as `put` does."""
        pending = [{"Data": r, "PartitionKey": k} for k, r in keyed]
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.base_backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))
            failed = []
            for i in range(0, len(pending), PUT_BATCH):
                chunk = pending[i:i + PUT_BATCH]
                try:
                    response = self.client.put_records(StreamName=self.stream_name, Records=chunk)
                except Exception:  # noqa: BLE001 - any client error: retry, then 503
                    failed.extend(chunk)
                    continue
                for sent, result in zip(chunk, response["Records"]):
                    if result.get("ErrorCode"):
                        failed.append(sent)
                    else:
                        self.records_put += 1
                        self.bytes_put += len(sent["Data"]) + len(sent["PartitionKey"])
            if not failed:
                return
            pending = failed
        raise StoreUnavailable(f"stream kept refusing {len(pending)} record(s)")

    def shards(self) -> list[str]:
        out, kwargs = [], {"StreamName": self.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            out.extend(s["ShardId"] for s in page["Shards"])
            if not page.get("NextToken"):
                return out
            kwargs = {"NextToken": page["NextToken"]}

    def read(self, shard_id: str, after: int | None, limit: int = 10000,
             at: int | None = None) -> Iterator[dict[str, Any]]:
        """Raw Kinesis records of a shard after (or at) a sequence number (None: from the start)."""
        kwargs: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": shard_id}
        if at is not None:
            kwargs.update(ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=str(at))
        elif after is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=str(after))
        iterator = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        seen = 0
        while iterator and seen < limit:
            page = self.client.get_records(ShardIterator=iterator, Limit=min(10000, limit - seen))
            records = page.get("Records", [])
            yield from records
            seen += len(records)
            if not records or not page.get("MillisBehindLatest"):
                return
            iterator = page.get("NextShardIterator")


def lambda_event(shard_id: str, records: list[dict[str, Any]], stream_name: str,
                 region: str = "eu-west-1") -> dict[str, Any]:
    """GetRecords output in the shape Lambda hands a Kinesis handler (local mode and tests)."""
    stream_arn = f"arn:aws:kinesis:{region}:123456789012:stream/{stream_name}"
    return {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                    "sequenceNumber": r["SequenceNumber"], "data": base64.b64encode(r["Data"]).decode(),
                    "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
        "eventSource": "aws:kinesis", "eventVersion": "1.0",
        "eventID": f"{shard_id}:{r['SequenceNumber']}", "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/local", "awsRegion": region,
        "eventSourceARN": stream_arn} for r in records]}


def create_stream(client: Any, stream_name: str, shards: int = 1) -> None:
    """Create the stream and wait until it is active (local mode and tests)."""
    client.create_stream(StreamName=stream_name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=stream_name, WaiterConfig={"Delay": 0.2})

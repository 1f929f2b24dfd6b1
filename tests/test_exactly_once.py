"""Counted exactly once, end to end: producer retries, Lambda redeliveries, crashes
between a fold's chunks, throttling, poison records, requests that never committed."""
from __future__ import annotations

import json
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from chalicelib import services
from chalicelib.aggregator import FoldStats, RawRecord
from chalicelib.fold.parking import PARK_AFTER
from chalicelib.ledger import DROP_AFTER
from chalicelib.store import StoreConfig, StoreUnavailable
from chalicelib.stream import lambda_event

from conftest import STREAM, api_client, config


def spread_batch(n_minutes: int = 150, prefix: str = "x", campaign: str = "retry", **extra) -> list[dict]:
    """Events over many minutes so a fold needs several transaction chunks."""
    now = datetime.now(timezone.utc)
    return [{"event_id": f"{prefix}{i}", "timestamp": (now - timedelta(minutes=i)).isoformat(),
             "campaign_id": campaign, "channel": "email", "type": "sent", "recipient_domain": "a.com",
             "profile_id": f"{prefix}p{i}", **extra} for i in range(n_minutes)]


class Boom(Exception):
    pass


def body_of(events: list[dict]) -> bytes:
    return json.dumps({"events": events}).encode()


def shard_batches(wired, after: dict[str, int] | None = None) -> dict[str, list[dict]]:
    """Every record on the stream per shard (after a position), as GetRecords gives them."""
    after = after or {}
    return {s: list(wired.stream.read(s, after.get(s))) for s in wired.stream.shards()}


def deliver(wired, shard: str, raw: list[dict]) -> FoldStats:
    return wired.aggregator.handle(lambda_event(shard, raw, STREAM))


def sent(api, campaign="retry", key=None) -> int:
    api.wired.roll()
    return api.live(campaign, "email", key=key)["totals"]["sent"]


def stored_sent(aws, campaign="retry") -> int:
    """`sent` summed over the campaign's minute items, as written (before any report or rollup)."""
    items = aws.query(TableName="livereport-test", KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                      ExpressionAttributeValues={":pk": {"S": f"acme#C#{campaign}#email"}, ":m": {"S": "M#"}})
    return sum(int(i.get("sent", {}).get("N", 0)) for i in items["Items"])


def test_crash_between_item_writes_then_a_retry_with_extra_records_counts_once(aws, api):
    events = spread_batch()
    crashing = services.build(config(), aws, after_chunk=lambda i: (_ for _ in ()).throw(Boom("died")) if i == 0 else None)
    assert crashing.ingest.ingest("acme", body_of(events), None).body["accepted"] == len(events)
    (shard, raw), = [(s, r) for s, r in shard_batches(crashing).items() if r]
    with pytest.raises(Boom):
        deliver(crashing, shard, raw)
    partial = stored_sent(aws)
    assert 0 < partial < len(events)  # the first items really landed

    # Lambda retries with a batch that gained a newer record: the items already written
    # refuse the fold by their guards and take only what they lack (none), the others all.
    extra = spread_batch(1, "late")
    assert api.wired.ingest.ingest("acme", body_of(extra), "late-key").body["accepted"] == 1
    retried = shard_batches(api.wired)[shard]
    assert len(retried) >= len(raw)
    stats = deliver(api.wired, shard, retried)
    assert stats.slow_items == 50 and stats.folds >= 1  # the first step of 50 items was written
    api.wired.pump()  # whatever landed on the other shard
    assert sent(api) == len(events) + 1

    # the same records delivered again, whole: all below the watermark
    again = deliver(api.wired, shard, retried)
    assert again.duplicates_skipped == len(retried) and again.items_written == 0
    assert sent(api) == len(events) + 1


def test_retry_batch_shorter_than_the_pinned_fold_reads_the_rest_back(aws, api):
    crashing = services.build(config(), aws, after_chunk=lambda i: (_ for _ in ()).throw(Boom()) if i == 0 else None)
    first, second = spread_batch(150, "s1", campaign="short"), spread_batch(150, "s2", campaign="short")
    crashing.ingest.ingest("acme", body_of(first), "short-a")
    crashing.ingest.ingest("acme", body_of(second), "short-b")
    batches = shard_batches(crashing)
    shard = max(batches, key=lambda s: len(batches[s]))
    raw = batches[shard]
    with pytest.raises(Boom):
        deliver(crashing, shard, raw)
    if len(raw) > 1:  # a retry delivering only the first record of the pinned fold
        deliver(api.wired, shard, raw[:1])
    api.wired.pump()
    assert sent(api, "short") == 300


def test_crash_after_the_stream_write_before_the_answer_then_the_replay_counts_once(aws, api):
    class CrashingLedger(services.BatchLedger):
        def commit(self, *args, **kwargs):
            raise Boom("lambda died after putting the records")

    wired = services.build(config(), aws)
    wired.ingest.ledger = CrashingLedger(aws, wired.ingest.ledger.config)
    events = spread_batch(20, "c")
    with pytest.raises(Boom):
        wired.ingest.ingest("acme", body_of(events), "crashy")
    r = api.post_events(events, idem="crashy")  # the producer got no answer: it retries
    assert r.status_code == 200 and json.loads(r.body)["accepted"] == 20
    assert sent(api) == 20  # the first attempt's records were dropped: another attempt committed
    replay = api.post_events(events, idem="crashy")
    assert replay.headers.get("Idempotent-Replay") == "true"
    assert sent(api) == 20


def clocked(wired) -> dict:
    """The aggregator on a clock that moves only when it waits (or a test moves it)."""
    clock = {"t": datetime.now(timezone.utc).timestamp(), "slept": 0.0}
    wired.aggregator.clock = lambda: clock["t"]

    def sleep(seconds: float) -> None:
        clock["slept"] += seconds
        clock["t"] += seconds

    wired.aggregator.sleep = sleep
    return clock


def test_records_of_an_attempt_that_never_commits_are_parked_then_dropped(aws, api):
    class NeverCommits(services.BatchLedger):
        def commit(self, *args, **kwargs):
            raise Boom()

    wired = services.build(config(), aws)
    wired.ingest.ledger = NeverCommits(aws, wired.ingest.ledger.config)
    with pytest.raises(Boom):
        wired.ingest.ingest("acme", body_of(spread_batch(5, "n")), None)
    clock = clocked(api.wired)
    stats = api.wired.pump()
    assert stats.parked == 1 and stats.dropped_uncommitted == 0
    assert clock["slept"] <= PARK_AFTER + 0.2  # a short wait, never the whole DROP_AFTER
    clock["t"] += DROP_AFTER  # the request can no longer commit
    drained = api.wired.aggregator.drain_all_parked(STREAM)
    assert drained.dropped_uncommitted == 1 and drained.unparked == 0
    assert sent(api) == 0
    assert api.wired.aggregator.parking.shards_with_parked(STREAM) == []


def test_a_parked_record_never_holds_the_rest_of_its_shard_and_counts_once_committed(aws, api):
    pending = {}

    class SlowLedger(services.BatchLedger):
        def commit(self, *args, **kwargs):
            pending["commit"] = lambda: services.BatchLedger.commit(self, *args, **kwargs)
            raise Boom("still committing")

    slow = services.build(config(), aws)
    slow.ingest.ledger = SlowLedger(aws, slow.ingest.ledger.config)
    with pytest.raises(Boom):  # its records are on the stream; its commit lands later
        slow.ingest.ingest("acme", body_of(spread_batch(7, "y", campaign="parked")), "slow")
    # a later request to the same campaign commits at once
    assert api.wired.ingest.ingest("acme", body_of(spread_batch(3, "z", campaign="parked")), "fast").body["accepted"] == 3
    clocked(api.wired)
    stats = api.wired.pump()
    assert stats.parked == 1 and stats.events == 3  # parked, and the rest went on
    assert sent(api, "parked") == 3
    pending.pop("commit")()  # the slow request commits now
    api.wired.aggregator.drain_all_parked(STREAM)
    assert sent(api, "parked") == 10
    # a redelivery of every record of the shard (a Lambda retry) changes nothing
    for shard, raw in shard_batches(api.wired).items():
        if raw:
            deliver(api.wired, shard, raw)
    api.wired.aggregator.drain_all_parked(STREAM)
    assert sent(api, "parked") == 10


def test_a_young_uncommitted_record_is_waited_for_a_moment_and_counted_once_committed(aws, api):
    pending = {}

    class SlowLedger(services.BatchLedger):
        def commit(self, *args, **kwargs):
            pending["commit"] = lambda: services.BatchLedger.commit(self, *args, **kwargs)
            raise Boom("still committing")

    wired = services.build(config(), aws)
    wired.ingest.ledger = SlowLedger(aws, wired.ingest.ledger.config)
    with pytest.raises(Boom):
        wired.ingest.ingest("acme", body_of(spread_batch(7, "y")), "young")
    api.wired.aggregator.sleep = lambda s: pending.pop("commit", lambda: None)()  # commits during the wait
    stats = api.wired.pump()
    assert stats.dropped_uncommitted == 0 and stats.events == 7
    assert sent(api) == 7


def test_idempotency_key_same_body_same_response_other_body_422(api):
    events = spread_batch(5, "k")
    events.append({"event_id": "bad", "channel": "fax"})
    first = api.post_events(events, idem="batch-0001")
    again = api.post_events(events, idem="batch-0001")
    assert first.status_code == again.status_code == 200
    assert json.loads(first.body) == json.loads(again.body)
    assert again.headers.get("Idempotent-Replay") == "true"
    assert sent(api) == 5
    other = api.post_events(events[:2], idem="batch-0001")
    assert other.status_code == 422
    assert sent(api) == 5
    # a new key with the same events is a new batch (documented: strict dedup is opt-in)
    assert api.post_events(events, idem="batch-0002").status_code == 200
    assert sent(api) == 10


def test_duplicate_event_ids_in_a_batch_count_once(api):
    base = spread_batch(3, "d")
    r = api.post_events(base + [dict(base[0]), dict(base[1], type="open")])
    body = json.loads(r.body)
    assert body["accepted"] == 3
    assert [x["index"] for x in body["rejected"]] == [3, 4]
    assert "duplicate" in body["rejected"][0]["reason"]
    totals = api.live("retry", "email")["totals"]
    assert totals["sent"] == 3 and totals["open"] == 0


class ThrottlingClient:
    """Wraps a client; the first `fail` counter writes are throttled (DynamoDB's own error shape)."""

    def __init__(self, inner, fail: int):
        self.inner = inner
        self.fail = fail
        self.calls = 0

    def update_item(self, **kwargs):
        if kwargs["Key"]["sk"]["S"].startswith("M#"):
            self.calls += 1
            if self.calls <= self.fail:
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                             "Message": "throttled"}}, "UpdateItem")
        return self.inner.update_item(**kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_throttling_during_a_fold_is_retried_then_the_invocation_fails_safely(aws, api):
    events = spread_batch(150, "t")
    api.wired.ingest.ingest("acme", body_of(events), "throttled")
    fast = StoreConfig(table_name=config().table_name, base_backoff_seconds=0.001)

    briefly = services.build(config(), ThrottlingClient(aws, fail=3))
    always = services.build(config(), ThrottlingClient(aws, fail=10**6))
    for wired in (briefly, always):
        wired.aggregator.config = wired.aggregator.writer.config = fast
    batches = {s: r for s, r in shard_batches(api.wired).items() if r}
    (shard, raw), = batches.items()
    with pytest.raises(StoreUnavailable):  # Lambda sees the error and retries the batch
        deliver(always, shard, raw)
    stats = deliver(briefly, shard, raw)  # the retry, while DynamoDB recovers
    assert stats.events == 150
    assert sent(api) == 150


def test_ingest_answers_503_when_the_stream_refuses_and_the_retry_is_safe(aws, api):
    class RefusingKinesis:
        def __init__(self, inner):
            self.inner = inner

        def put_records(self, **kwargs):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutRecords")

        def __getattr__(self, name):
            return getattr(self.inner, name)

    import boto3
    broken = services.build(config(), aws, RefusingKinesis(boto3.client("kinesis", region_name="eu-west-1")))
    key = api.key()
    events = spread_batch(4, "r")
    with api_client(broken) as down:
        r = down.post_events(events, key=key, idem="refused")
        assert r.status_code == 503 and r.headers.get("Retry-After")
    assert api.post_events(events, key=key, idem="refused").status_code == 200
    assert sent(api) == 4


def test_a_poison_record_is_set_aside_and_the_shard_goes_on(aws, api):
    api.wired.ingest.ingest("acme", body_of(spread_batch(3, "ok")), "fine")
    garbage = [b"not zlib at all", zlib.compress(b'{"v": 99}'), zlib.compress(b'{"v": 1, "ws": "a"}')]
    kinesis = api.wired.stream.client
    for data in garbage:
        kinesis.put_record(StreamName=STREAM, Data=data, PartitionKey="fine")  # same shard as the good one
    stats = api.wired.pump()
    assert stats.poison == 3 and stats.events == 3
    assert sent(api) == 3
    letters = aws.query(TableName=config().table_name, KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": "DEADLETTER"}})["Items"]
    assert len(letters) == 3 and all("reason" in item for item in letters)


def test_cardinality_decisions_do_not_change_between_an_attempt_and_its_retry(aws, api):
    """A retried fold re-forms the same deltas even when the cap filled up in between."""
    crashing = services.build(config(), aws, after_chunk=lambda i: (_ for _ in ()).throw(Boom()) if i == 0 else None)
    events = [dict(e, type="bounce", bounce_type="soft", reason=f"first reason {i % 60}")
              for i, e in enumerate(spread_batch(150, "cap", campaign="capped"))]
    crashing.ingest.ingest("acme", body_of(events), "cap-a")
    (shard, raw), = [(s, r) for s, r in shard_batches(crashing).items() if r]
    with pytest.raises(Boom):
        deliver(crashing, shard, raw)
    # meanwhile another fold fills the campaign's reason cap with 100 other values
    filler = [dict(e, type="bounce", bounce_type="soft", reason=f"filler {i}")
              for i, e in enumerate(spread_batch(100, "fill", campaign="capped"))]
    api.post_events(filler, idem="cap-b")
    deliver(api.wired, shard, raw)  # the retry of the crashed fold
    api.wired.pump()
    api.wired.roll()
    rows = {r["value"]: r["count"] for r in api.live("capped", "email")["breakdowns"]["bounce_reason"]}
    assert sum(rows.values()) == 250
    assert sum(v for k, v in rows.items() if k.startswith("first reason")) == 150  # admitted before the cap filled
    assert len(rows) <= 101


def test_store_unavailable_is_raised_after_max_attempts():
    from chalicelib.store import with_retries
    attempts = []

    def call():
        attempts.append(1)
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    with pytest.raises(StoreUnavailable):
        with_retries(call, StoreConfig(table_name="t", max_attempts=3), sleep=lambda s: None)
    assert len(attempts) == 3


def test_raw_record_parsing_keeps_sequence_order():
    event = lambda_event("shardId-000000000001", [
        {"PartitionKey": "a", "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
         "Data": b"x", "ApproximateArrivalTimestamp": datetime.now(timezone.utc)}], "s")
    from chalicelib.aggregator import parse_lambda_event
    stream, shard, records = parse_lambda_event(event)
    assert (stream, shard) == ("s", "shardId-000000000001")
    assert records == [RawRecord(49590338271490256608559692538361571095921575989136588898, b"x")]

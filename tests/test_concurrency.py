"""Several ingest Lambdas and several aggregators at once, over HTTP against a moto server.

Each thread builds its own services (own client, own cardinality cache). The
writers put onto a two-shard stream; then one aggregator per shard folds its
shard at the same time as the other, into the same counter items, the same
rollup work list and the same cardinality set, so lost updates would show as
wrong totals or distinct counts. A second test hands the same shard's records
to two aggregators at once (a Lambda retry overlapping the first attempt).
The moto server applies each request atomically, as DynamoDB does (see
AtomicMotoServer); the threads interleave freely between requests.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from chalicelib import services, tables
from chalicelib.reports.live import LiveQuery
from chalicelib.stream import create_stream, lambda_event

from conftest import services_at

TABLE, STREAM = "livereport-concurrency", "livereport-concurrency-events"

THREADS = 4
BATCHES_PER_THREAD = 5
EVENTS_PER_BATCH = 200


@pytest.fixture(scope="module")
def moto_http():
    from infra.local.stack import AtomicMotoServer
    server = AtomicMotoServer()
    url = server.start()
    client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url)
    tables.create_table(client, TABLE)
    create_stream(boto3.client("kinesis", region_name="eu-west-1", endpoint_url=url), STREAM, 2)
    yield url
    server.stop()


def lambda_like(url: str) -> services.Services:
    return services_at(url, TABLE, STREAM)


def run_threads(target, args_list) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(*args):
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return errors


def fold_shards_concurrently(url: str, positions: dict[str, int]) -> None:
    """One aggregator per shard, all at once, each from its own last position."""
    shards = lambda_like(url).stream.shards()

    def fold(shard: str) -> None:
        wired = lambda_like(url)
        raw = list(wired.stream.read(shard, positions.get(shard)))
        if raw:
            wired.aggregator.handle(lambda_event(shard, raw, STREAM))
            positions[shard] = int(raw[-1]["SequenceNumber"])

    errors = run_threads(fold, [(s,) for s in shards])
    assert not errors, errors
    lambda_like(url).rollup.run(time.time())


def make_batch(thread: int, batch: int, now: datetime) -> list[dict]:
    events = []
    for i in range(EVENTS_PER_BATCH):
        n = (thread * BATCHES_PER_THREAD + batch) * EVENTS_PER_BATCH + i
        kind = ("sent", "delivered", "open", "click", "bounce")[n % 5]
        ev = {"event_id": f"t{thread}-b{batch}-{i}", "campaign_id": "race", "channel": "email", "type": kind,
              # every thread writes the same few minutes, so they contend on the same items
              "timestamp": (now - timedelta(minutes=n % 3, seconds=1)).isoformat(),
              "profile_id": f"p{n % 700}", "recipient_domain": f"d{n % 7}.example"}
        if kind == "click":
            ev["url"] = f"https://x.example/{n % 4}"
        if kind == "bounce":
            ev.update(bounce_type="soft", reason=f"reason {n // 5 % 150}")  # over the cap of 100: folds into other
        events.append(ev)
    return events


def test_concurrent_writers_give_exact_totals_and_distincts(moto_http):
    now = datetime.now(timezone.utc)
    keys_service = lambda_like(moto_http)
    _, key = keys_service.keys.create("racers", ["ingest", "read"])
    principal = keys_service.keys.lookup(key)
    batches = {(t, b): make_batch(t, b, now) for t in range(THREADS) for b in range(BATCHES_PER_THREAD)}
    barrier = threading.Barrier(THREADS)

    def writer(thread: int) -> None:
        wired = lambda_like(moto_http)
        barrier.wait()
        for b in range(BATCHES_PER_THREAD):
            body = json.dumps({"events": batches[(thread, b)]}).encode()
            out = wired.ingest.ingest(principal.workspace, body, None)
            assert out.body == {"accepted": EVENTS_PER_BATCH, "rejected": []}

    started = time.perf_counter()
    errors = run_threads(writer, [(t,) for t in range(THREADS)])
    assert not errors, errors
    fold_shards_concurrently(moto_http, {})
    print(f"\n{THREADS} writers x {BATCHES_PER_THREAD} batches, then 2 shards folded at once, "
          f"in {time.perf_counter() - started:.1f}s")

    all_events = [e for batch in batches.values() for e in batch]
    want = Counter(e["type"] for e in all_events)
    report = lambda_like(moto_http).live.report(LiveQuery("racers", "race", "email"), time.time())
    for metric in ("sent", "delivered", "open", "click", "bounce"):
        assert report["totals"][metric] == want[metric], metric
    # distinct profiles: < 1,000 so the sketch is exact; a lost sketch update would lose profiles
    for metric in ("open", "click"):
        assert report["distinct"][metric] == len({e["profile_id"] for e in all_events if e["type"] == metric})
    reasons = {r["value"]: r["count"] for r in report["breakdowns"]["bounce_reason"]}
    assert sum(reasons.values()) == want["bounce"]
    # the cap holds across writers: at most 100 admitted values, the rest in "other"
    assert len(reasons) <= 101 and "other" in reasons
    domains = Counter(e["recipient_domain"] for e in all_events if e["type"] == "open")
    assert {r["value"]: r["counts"].get("open", 0) for r in report["breakdowns"]["recipient_domain"]} == dict(domains)


def test_the_same_records_folded_by_two_aggregators_at_once_count_once(moto_http):
    """A retried invocation overlapping the first one: the shard's state item lets one win each chunk."""
    now = datetime.now(timezone.utc)
    wired = lambda_like(moto_http)
    _, key = wired.keys.create("twice", ["ingest", "read"])
    positions = {shard: max([int(r["SequenceNumber"]) for r in wired.stream.read(shard, None)] or [0])
                 for shard in wired.stream.shards()}
    events = [{"event_id": f"tw{i}", "campaign_id": "twice", "channel": "email", "type": "sent",
               "timestamp": (now - timedelta(minutes=i % 150)).isoformat(), "profile_id": f"q{i}"}
              for i in range(600)]  # 150 minute items: two chunks per fold
    for i in range(0, len(events), 100):
        body = json.dumps({"events": events[i:i + 100]}).encode()
        assert wired.ingest.ingest("twice", body, None).body["accepted"] == 100

    def fold(shard: str) -> None:
        agg = lambda_like(moto_http)
        raw = list(agg.stream.read(shard, positions.get(shard) or None))
        if raw:
            agg.aggregator.handle(lambda_event(shard, raw, STREAM))

    shards = wired.stream.shards()
    errors = run_threads(fold, [(s,) for s in shards for _ in range(2)])  # each shard twice, all at once
    assert not errors, errors
    wired.rollup.run(time.time())
    report = wired.live.report(LiveQuery("twice", "twice", "email"), time.time())
    assert report["totals"]["sent"] == len(events)
    assert report["distinct"]["targeted"] == 0 and report["distinct"].get("open", 0) == 0

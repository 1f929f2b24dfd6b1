"""Several writers at once, over HTTP against a moto server, as several Lambdas would be.

Each thread builds its own services (own client, own cardinality cache), and
all of them hit the same counter items, the same sketch items and the same
cardinality set, so lost updates would show as wrong totals or distinct counts.
The moto server applies each request atomically, as DynamoDB does (see
AtomicMotoServer); the writers interleave freely between requests.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config

from chalicelib import services, tables
from chalicelib.config import AppConfig
from chalicelib.reports.live import LiveQuery

THREADS = 4
BATCHES_PER_THREAD = 5
EVENTS_PER_BATCH = 200


@pytest.fixture(scope="module")
def moto_http():
    from infra.local.stack import AtomicMotoServer
    server = AtomicMotoServer()
    url = server.start()
    client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url)
    tables.create_table(client, "livereport-concurrency")
    yield url
    server.stop()


def lambda_like(url: str) -> services.Services:
    client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url,
                          config=Config(retries={"mode": "standard", "max_attempts": 6}))
    return services.build(AppConfig(table_name="livereport-concurrency", region="eu-west-1"), client)


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
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def writer(thread: int) -> None:
        wired = lambda_like(moto_http)
        try:
            barrier.wait()
            for b in range(BATCHES_PER_THREAD):
                body = json.dumps({"events": batches[(thread, b)]}).encode()
                out = wired.ingest.ingest(principal.workspace, body, None)
                assert out.body == {"accepted": EVENTS_PER_BATCH, "rejected": []}
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    print(f"\n{THREADS} writers x {BATCHES_PER_THREAD} batches in {time.perf_counter() - started:.1f}s")
    assert not errors, errors

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


def test_concurrent_sketch_merges_lose_nothing(moto_http):
    """Many writers merging into one hour sketch: every profile survives the races."""
    from chalicelib.sketches import summarise
    from chalicelib import buckets
    from chalicelib.store import ReadStats

    now = int(time.time())
    hour = buckets.bucket_of(tables.HOUR, now)
    day = buckets.bucket_of(tables.DAY, now)
    pk = tables.counter_pk("sk", "sketchy", "email")
    errors: list[BaseException] = []

    def merger(thread: int) -> None:
        wired = lambda_like(moto_http)
        try:
            for round_ in range(6):
                ids = {f"t{thread}-r{round_}-{i}" for i in range(50)}
                wired.sketches.add({(pk, tables.HOUR, hour, tables.NO_EXECUTION, "open"): ids,
                                    (pk, tables.DAY, day, tables.NO_EXECUTION, "open"): ids}, now)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=merger, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    wired = lambda_like(moto_http)
    start = now - now % 3600
    unions = wired.sketches.union(wired.store, pk, [(tables.HOUR, start, start + 3600)], ["open"], None, ReadStats())
    assert summarise(unions["open"]).estimate == THREADS * 6 * 50

"""A batch is counted once: retries after partial failure, idempotency keys, duplicates, throttling."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from chalicelib import services
from chalicelib.config import AppConfig
from chalicelib.store import StoreConfig, StoreUnavailable

from conftest import TABLE, api_client


def spread_batch(n_minutes: int = 150, prefix: str = "x") -> list[dict]:
    """Events over many minutes so the batch needs several transaction chunks."""
    now = datetime.now(timezone.utc)
    return [{"event_id": f"{prefix}{i}", "timestamp": (now - timedelta(minutes=i)).isoformat(),
             "campaign_id": "retry", "channel": "email", "type": "sent", "recipient_domain": "a.com"}
            for i in range(n_minutes)]


class Boom(Exception):
    pass


def test_retry_after_failure_between_chunks_counts_once(aws, api):
    events = spread_batch()
    body = json.dumps({"events": events}).encode()

    def fail_after_first(index: int) -> None:
        if index == 0:
            raise Boom("lambda died between chunks")

    broken = services.build(AppConfig(table_name=TABLE, region="eu-west-1"), aws, after_chunk=fail_after_first)
    with pytest.raises(Boom):
        broken.ingest.ingest("acme", body, None)
    partial = api.live("retry", "email")["totals"]["sent"]
    assert 0 < partial < len(events)  # the first chunk really landed

    outcome = api.wired.ingest.ingest("acme", body, None)  # the producer retries the same body
    assert outcome.apply.skipped == 1 and outcome.apply.applied >= 1
    assert outcome.body == {"accepted": len(events), "rejected": []}
    assert api.live("retry", "email")["totals"]["sent"] == len(events)

    replay = api.post_events(events)  # and once more through HTTP: answered from the ledger
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replay") == "true"
    assert api.live("retry", "email")["totals"]["sent"] == len(events)


def test_idempotency_key_same_body_same_response_other_body_422(api):
    events = spread_batch(5, "k")
    events.append({"event_id": "bad", "channel": "fax"})
    first = api.post_events(events, idem="batch-0001")
    again = api.post_events(events, idem="batch-0001")
    assert first.status_code == again.status_code == 200
    assert json.loads(first.body) == json.loads(again.body)
    assert again.headers.get("Idempotent-Replay") == "true"
    assert api.live("retry", "email")["totals"]["sent"] == 5
    other = api.post_events(events[:2], idem="batch-0001")
    assert other.status_code == 422
    assert api.live("retry", "email")["totals"]["sent"] == 5
    # a new key with the same events is a new batch (documented: strict dedup is opt-in)
    assert api.post_events(events, idem="batch-0002").status_code == 200
    assert api.live("retry", "email")["totals"]["sent"] == 10


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
    """Wraps a client; every transaction is throttled (DynamoDB's own error shape)."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def transact_write_items(self, **kwargs):
        self.calls += 1
        raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "throttled"},
                           "CancellationReasons": [{"Code": "ThrottlingError"}]}, "TransactWriteItems")

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_throttling_retries_then_503_and_the_retry_is_safe(aws):
    throttled = ThrottlingClient(aws)
    wired = services.build(AppConfig(table_name=TABLE, region="eu-west-1"), throttled)
    wired.store.config = StoreConfig(table_name=TABLE, base_backoff_seconds=0.001)
    key = services.KeyStore(aws, TABLE).create("acme", ["ingest", "read"])[1]
    with api_client(wired) as api:
        events = spread_batch(4, "t")
        r = api.post_events(events, key=key)
        assert r.status_code == 503 and r.headers.get("Retry-After")
        assert throttled.calls == wired.store.config.max_attempts
    healthy = services.build(AppConfig(table_name=TABLE, region="eu-west-1"), aws)
    with api_client(healthy) as api:
        assert api.post_events(events, key=key).status_code == 200
        assert api.live("retry", "email", key=key)["totals"]["sent"] == 4


def test_store_unavailable_is_raised_after_max_attempts():
    from chalicelib.store import with_retries
    attempts = []

    def call():
        attempts.append(1)
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    with pytest.raises(StoreUnavailable):
        with_retries(call, StoreConfig(table_name="t", max_attempts=3), sleep=lambda s: None)
    assert len(attempts) == 3

"""The write path without transactions (issue 20): what a fold writes and when, campaign
partition keys and hot-campaign salts, bounded items, writes set aside instead of
blocking a shard, stream retries with backoff, and late events visible at once (issue 19)."""
from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from chalicelib import services, tables
from chalicelib.ingest import HotCampaigns, partition_key
from chalicelib.store import item_size
from chalicelib.stream import EventStream

from conftest import STREAM, config

NOW = datetime.now(timezone.utc)


def ev(i, etype="sent", campaign="wp", minutes_ago=0.0, **extra):
    return {"event_id": f"{campaign}-{etype}-{i}", "timestamp": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
            "campaign_id": campaign, "channel": "email", "type": etype, "profile_id": f"p{i}", **extra}


class CountingClient:
    """Counts the DynamoDB writes the aggregator makes, by kind of item."""

    def __init__(self, inner):
        self.inner = inner
        self.writes: Counter = Counter()

    def _kind(self, key) -> str:
        pk, sk = key["pk"]["S"], key["sk"]["S"]
        if pk.startswith("ROLLUP#"):
            return "mark"
        if pk.endswith("#CAMPAIGNS"):
            return "directory"
        if pk.startswith("AGG#"):
            return "watermark"
        if "#BATCH#" in pk:
            return "ledger"
        if sk.startswith("SX#"):
            return "sketch"
        if sk.startswith("M#"):
            return "counter"
        return "other"

    def update_item(self, **kw):
        self.writes[self._kind(kw["Key"])] += 1
        return self.inner.update_item(**kw)

    def put_item(self, **kw):
        self.writes[self._kind(kw["Item"])] += 1
        return self.inner.put_item(**kw)

    def batch_write_item(self, **kw):
        for requests in kw["RequestItems"].values():
            for r in requests:
                self.writes[self._kind(r["PutRequest"]["Item"])] += 1
        return self.inner.batch_write_item(**kw)

    def transact_write_items(self, **kw):  # pragma: no cover - the fold uses none
        self.writes["transaction"] += 1
        return self.inner.transact_write_items(**kw)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_trickle_of_one_event_requests_writes_one_counter_item_per_fold(aws, api):
    counting = CountingClient(aws)
    wired = services.build(config(), counting)
    # a fixed moment early in a minute, so the minute is open whatever the time of day
    minute = int(time.time()) // 60 * 60
    wired.aggregator.clock = lambda: minute + 5
    at = datetime.fromtimestamp(minute + 1, tz=timezone.utc).isoformat()
    ev_now = lambda i, etype, **extra: {**ev(i, etype, **extra), "timestamp": at}  # noqa: E731
    wired.ingest.ingest("acme", json.dumps({"events": [ev_now(0, "open")]}).encode(), None)
    wired.pump(roll=False)
    first = dict(counting.writes)
    # the request's ledger item; the first event of a new minute and campaign: its item, its sketch
    # delta, the minute's mark, the campaign's directory entry and the shard's watermark
    assert first == {"ledger": 1, "counter": 1, "sketch": 1, "mark": 1, "directory": 1, "watermark": 1}
    counting.writes.clear()
    for i in range(1, 4):  # more one-event requests in the same minute, one fold each
        wired.ingest.ingest("acme", json.dumps({"events": [ev_now(i, "open")]}).encode(), None)
        wired.pump(roll=False)
    # each fold: its counter item and sketch delta; no mark (the minute is marked), no directory
    # write (known, written less than a minute ago), no watermark (written less than a minute ago), no transaction
    assert dict(counting.writes) == {"ledger": 3, "counter": 3, "sketch": 3}
    counting.writes.clear()  # 35 s later, same open minute: still no watermark (at most one a minute)
    wired.aggregator.clock = lambda: minute + 40
    wired.ingest.ingest("acme", json.dumps({"events": [ev_now(4, "open")]}).encode(), None)
    wired.pump(roll=False)
    assert dict(counting.writes) == {"ledger": 1, "counter": 1, "sketch": 1}
    wired.roll()
    report = api.live("wp", "email")
    assert report["totals"]["open"] == 5 and report["distinct"]["open"] == 5
    # the page's stamp moved with every fold although the directory was written once
    stamp = api.wired.directory.stamp("acme", "wp")["stamp"]
    wired.ingest.ingest("acme", json.dumps({"events": [ev_now(9, "click", url="https://x.test/")]}).encode(), None)
    wired.pump(roll=False)
    assert api.wired.directory.stamp("acme", "wp")["stamp"] > stamp


def test_records_are_keyed_by_campaign_and_a_request_is_split_by_campaign(aws, api):
    kinesis_put = []
    stream = api.wired.stream
    original = stream.client.put_records

    def spy(**kw):
        kinesis_put.extend(r["PartitionKey"] for r in kw["Records"])
        return original(**kw)

    stream.client.put_records = spy
    try:
        events = [ev(i, campaign="one") for i in range(5)] + [ev(i, campaign="two") for i in range(3)]
        api.post_events(events)
    finally:
        stream.client.put_records = original
    assert sorted(kinesis_put) == ["acme#one", "acme#two"]
    assert api.live("one", "email")["totals"]["sent"] == 5 and api.live("two", "email")["totals"]["sent"] == 3


def salts_of(aws, campaign: str) -> set[str]:
    items = aws.query(TableName="livereport-test", KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                      ExpressionAttributeValues={":pk": {"S": f"acme#C#{campaign}#email"}, ":m": {"S": "M#"}})["Items"]
    return {i["sk"]["S"].rpartition("~")[2] if "~" in i["sk"]["S"] else "0" for i in items}


def test_one_event_requests_of_a_campaign_the_aggregator_finds_hot_are_salted(aws, api, monkeypatch):
    """No API container sees the rate of one-event requests (each sees its share): the aggregator,
    which folds a shard's second of them, flags the campaign, and ingest salts it while the flag lasts."""
    from chalicelib import hot_flags
    flags = api.wired.aggregator.hot
    assert api.wired.ingest.hot.flags is flags  # one wiring: what the fold flags, ingest reads
    flags.records_per_second = 5.0  # the test's trickle stands for a shard's 300 records/s
    monkeypatch.setattr(hot_flags, "REFRESH_SECONDS", 0.0)  # ingest re-reads at once (a container: every 10 s)
    def one_event_requests(prefix: str, n: int) -> None:  # posted within a batching window, then folded
        for i in range(n):
            out = api.wired.ingest.ingest("acme", json.dumps({"events": [ev(f"{prefix}{i}", campaign="viral")]}).encode(),
                                          None)
            assert out.body["accepted"] == 1
    one_event_requests("a", 20)
    sent = 20
    stats = api.wired.pump()
    assert salts_of(aws, "viral") == {"0"} and stats.hot_flags == 1 and flags.writes == 1
    assert flags.is_hot("acme", "viral") and not flags.is_hot("acme", "calm") and not flags.is_hot("other", "viral")
    one_event_requests("b", 60)
    sent += 60
    api.wired.pump()
    assert len(salts_of(aws, "viral")) > 1  # spread over the shards' salts
    assert api.live("viral", "email")["totals"]["sent"] == sent  # exact: reports sum the parts
    api.wired.roll(time.time() + 7200)
    assert api.live("viral", "email")["totals"]["sent"] == sent
    # the flag lasts FLAG_SECONDS unless a fold renews it; an expired one (TTL deletes late) is ignored
    monkeypatch.setattr(flags, "clock", lambda: time.time() + hot_flags.FLAG_SECONDS + 1)
    assert not flags.is_hot("acme", "viral")


def test_hot_flags_never_fail_a_request_or_a_fold(aws, api):
    """A flag that cannot be read or written means no salting, nothing else."""
    from botocore.exceptions import ClientError
    from chalicelib.hot_flags import HotFlags
    from chalicelib.store import StoreConfig

    class Refusing:
        def query(self, **kw):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")

        def put_item(self, **kw):
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutItem")
    flags = HotFlags(Refusing(), StoreConfig("livereport-test"), records_per_second=1.0)
    assert not flags.is_hot("acme", "viral")
    assert flags.note_fold({("acme", "viral"): 100}, 1.0) == 0
    api.wired.ingest.hot.flags = flags
    api.wired.aggregator.hot = flags
    assert json.loads(api.post_events([ev("x", campaign="viral")]).body)["accepted"] == 1
    api.wired.pump()
    assert api.live("viral", "email")["totals"]["sent"] == 1


def test_a_hot_campaign_spreads_over_salts_and_reports_sum_the_parts(aws, api):
    api.wired.ingest.hot = HotCampaigns(threshold=1.0, salts=4)
    sent = 0
    for b in range(12):
        batch = [ev(f"{b}-{i}", campaign="hot") for i in range(50)]
        assert json.loads(api.post_events(batch).body)["accepted"] == 50
        sent += 50
    items = aws.query(TableName="livereport-test", KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                      ExpressionAttributeValues={":pk": {"S": "acme#C#hot#email"}, ":m": {"S": "M#"}})["Items"]
    salts = {i["sk"]["S"].rpartition("~")[2] if "~" in i["sk"]["S"] else "0" for i in items}
    assert len(salts) > 1  # several salts, each its own minute item
    assert api.live("hot", "email")["totals"]["sent"] == sent
    api.wired.roll(time.time() + 7200)  # hours rolled: the parts are summed into one hour item
    assert api.live("hot", "email")["totals"]["sent"] == sent
    assert partition_key("acme", "hot", 0) == "acme#hot" and partition_key("acme", "hot", 3) == "acme#hot#3"


def test_long_values_fill_a_byte_budget_then_count_as_other_and_items_stay_small(aws, api):
    domain = lambda i: (f"d{i:03d}-" + "x" * 240 + ".example")[:253]  # noqa: E731
    events = []
    for i in range(100):
        events.append(ev(i, "open", campaign="long", recipient_domain=domain(i)))
        events.append(ev(i, "click", campaign="long", recipient_domain=domain(i),
                         url=f"https://shop.example/{i:03d}/" + "y" * 380))
    assert json.loads(api.post_events(events).body)["accepted"] == 200
    report = api.live("long", "email")
    assert report["totals"]["open"] == 100 and report["totals"]["click"] == 100  # totals stay exact
    domains = {r["value"] for r in report["breakdowns"]["recipient_domain"]}
    assert "other" in domains and len(domains) < 30
    items = aws.query(TableName="livereport-test", KeyConditionExpression="pk = :pk",
                      ExpressionAttributeValues={":pk": {"S": "acme#C#long#email"}})["Items"]
    assert max(item_size(i) for i in items) < 100_000


def test_a_write_that_can_never_succeed_is_set_aside_and_the_shard_goes_on(aws, api):
    class RefusesOneItem:
        def __init__(self, inner):
            self.inner = inner

        def update_item(self, **kw):
            if kw["Key"]["pk"]["S"] == "acme#C#doomed#email" and kw["Key"]["sk"]["S"].startswith("M#"):
                raise ClientError({"Error": {"Code": "ValidationException",
                                             "Message": "Item size has exceeded the maximum allowed size"}},
                                  "UpdateItem")
            return self.inner.update_item(**kw)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    wired = services.build(config(), RefusesOneItem(aws))
    wired.ingest.ingest("acme", json.dumps({"events": [ev(0, campaign="doomed"), ev(1, campaign="fine")]}).encode(),
                        None)
    stats = wired.pump()
    assert stats.dead_items == 1
    assert api.live("fine", "email")["totals"]["sent"] == 1
    dead = aws.query(TableName="livereport-test", KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": "DEADLETTER"}})["Items"]
    assert any("doomed" in d["sk"]["S"] and json.loads(d["data"]["S"])["deltas"] == {"sent": 1} for d in dead)


def test_stream_retries_back_off_with_jitter():
    class Refusing:
        calls = 0

        def put_records(self, **kw):
            Refusing.calls += 1
            return {"Records": [{"ErrorCode": "ProvisionedThroughputExceededException"} for _ in kw["Records"]]}

    slept = []
    stream = EventStream(Refusing(), "s", max_attempts=5, base_backoff=0.05, sleep=slept.append)
    with pytest.raises(Exception, match="kept refusing"):
        stream.put("k", [b"x"])
    assert Refusing.calls == 5 and len(slept) == 4
    for i, pause in enumerate(slept):  # 0.05 x 2^i, jittered between half and one and a half times
        assert 0.025 * 2 ** i <= pause <= 0.075 * 2 ** i


@pytest.mark.parametrize("minutes_ago", [90, 20 * 60])
def test_late_events_show_at_once_in_hours_and_days_already_rolled(api, minutes_ago):
    campaign = f"late{minutes_ago}"
    first = [ev(i, "open", campaign=campaign, minutes_ago=minutes_ago) for i in range(5)]
    api.post_events(first)
    api.wired.roll(time.time())  # the hour (and, for 20 hours, maybe the day) is rolled
    before = api.live(campaign, "email")
    assert before["totals"]["open"] == 5
    late = [ev(10 + i, "open", campaign=campaign, minutes_ago=minutes_ago) for i in range(3)]
    assert api.client.http.post("/v1/events", headers={"Authorization": f"Bearer {api.key()}",
                                                        "Content-Type": "application/json"},
                                body=json.dumps({"events": late})).status_code == 200
    api.wired.pump(roll=False)  # folded, no rollup run yet
    after = api.live(campaign, "email")
    assert after["totals"]["open"] == 8  # at once, not after the next rollup
    assert after["distinct"]["open"] <= after["totals"]["open"]
    glob = api.global_report(campaign, "email")
    assert glob["totals"]["open"] == 8
    hour = api.live(campaign, "email", window="1h")
    assert hour["totals"]["open"] <= after["totals"]["open"]
    api.wired.roll(time.time())  # and the rollup's recomputation agrees
    assert api.live(campaign, "email")["totals"]["open"] == 8
    assert api.live(campaign, "email")["distinct"]["open"] == 8


@pytest.mark.parametrize("minutes_ago", [180, 30 * 60])
def test_late_events_in_an_hour_and_day_without_data_show_at_once(api, minutes_ago):
    """A closed hour (day) that had no data has no rolled item: the late minute creates it, so a
    report that reads no minutes of closed hours without an item still counts the events at once."""
    campaign = f"empty{minutes_ago}"
    api.post_events([ev(i, "open", campaign=campaign, minutes_ago=1) for i in range(2)])
    api.wired.roll(time.time())
    late = [ev(10 + i, "open", campaign=campaign, minutes_ago=minutes_ago) for i in range(3)]
    assert api.client.http.post("/v1/events", headers={"Authorization": f"Bearer {api.key()}",
                                                        "Content-Type": "application/json"},
                                body=json.dumps({"events": late})).status_code == 200
    api.wired.pump(roll=False)  # folded, no rollup run yet
    assert api.global_report(campaign, "email")["totals"]["open"] == 5
    live = api.live(campaign, "email")
    assert live["totals"]["open"] == (5 if minutes_ago < 24 * 60 else 2)
    assert live["distinct"]["open"] <= live["totals"]["open"]
    api.wired.roll(time.time())  # the rollup's recomputation agrees, and nothing counts twice
    assert api.global_report(campaign, "email")["totals"]["open"] == 5
    assert api.live(campaign, "email")["totals"]["open"] == (5 if minutes_ago < 24 * 60 else 2)


class FlakyClient:
    """DynamoDB as under load, deterministically: every `throttle_every`-th write is throttled
    before it applies, every `lose_every`-th applies but its answer is lost (a retryable
    InternalServerError: the client retries a write that already happened)."""

    def __init__(self, inner, throttle_every: int, lose_every: int):
        self.inner, self.throttle_every, self.lose_every = inner, throttle_every, lose_every
        self.writes = 0
        self.injected: Counter = Counter()

    def _write(self, op: str, call, kw):
        self.writes += 1
        if self.writes % self.throttle_every == 0:
            self.injected["throttled"] += 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, op)
        out = call(**kw)
        if self.writes % self.lose_every == 0:
            self.injected["lost"] += 1
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, op)
        return out

    def update_item(self, **kw):
        return self._write("UpdateItem", self.inner.update_item, kw)

    def put_item(self, **kw):
        return self._write("PutItem", self.inner.put_item, kw)

    def batch_write_item(self, **kw):
        return self._write("BatchWriteItem", self.inner.batch_write_item, kw)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_exactly_once_holds_under_throttling_lost_answers_and_a_redelivery(aws, api):
    """bench/scale.py's faults in one fast case: a fold whose writes are throttled, or applied with
    their answer lost and retried (the retry meets its own guard: the slow path finds nothing
    left to add), then the same batch delivered again to another faulty container (a retried
    invocation), counts every event once, in the minute items and in the report."""
    from chalicelib.store import StoreConfig
    from chalicelib.stream import lambda_event
    events = [ev(i, etype, campaign="flaky", minutes_ago=i % 7) for i in range(60) for etype in ("sent", "open")]
    api.wired.ingest.ingest("acme", json.dumps({"events": events}).encode(), "flaky-1")
    fast = StoreConfig(table_name=config().table_name, base_backoff_seconds=0.001, max_attempts=6)
    containers = []
    for throttle_every, lose_every in ((3, 4), (5, 2)):
        flaky = FlakyClient(aws, throttle_every, lose_every)
        wired = services.build(config(), flaky)
        agg = wired.aggregator
        for holder in (agg, agg.writer, agg.marks, agg.directory, agg.parking):
            holder.config = fast
        containers.append((wired, flaky))
    slow = 0
    for shard in api.wired.stream.shards():
        raw = list(api.wired.stream.read(shard, None))
        if raw:
            for wired, _ in containers:  # the first container, then a redelivery to the second
                slow += wired.aggregator.handle(lambda_event(shard, raw, STREAM)).slow_items
    first = containers[0][1].injected
    assert first["throttled"] and first["lost"] and slow, (first, slow)
    items = aws.query(TableName=config().table_name, KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                      ExpressionAttributeValues={":pk": {"S": "acme#C#flaky#email"}, ":m": {"S": "M#"}})["Items"]
    assert sum(int(i.get("sent", {}).get("N", 0)) for i in items) == 60
    assert sum(int(i.get("open", {}).get("N", 0)) for i in items) == 60
    api.wired.roll()
    totals = api.live("flaky", "email")["totals"]
    assert (totals["sent"], totals["open"]) == (60, 60)

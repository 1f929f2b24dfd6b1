"""Roll-ups off the write path, and distinct counts over exactly the counts' window."""
from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from chalicelib import buckets, services, tables
from chalicelib.reports.global_ import GlobalQuery
from chalicelib.reports.live import LiveQuery
from chalicelib.store import ReadStats

from conftest import config

WS = "acme"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def ev(i: int, epoch: float, kind: str = "sent", profile: str | None = None, campaign: str = "roll") -> dict:
    return {"event_id": f"r{i}-{epoch}", "timestamp": iso(epoch), "campaign_id": campaign, "channel": "email",
            "type": kind, "profile_id": profile or f"p{i}", "recipient_domain": f"d{i % 3}.example"}


@pytest.fixture
def timed(aws):
    """Services whose ingest, aggregator and rollup all read one controllable clock."""
    hour = int(time.time()) // 3600 * 3600 - 5 * 3600  # an hour five hours ago
    clock = Clock(hour + 1800)
    wired = services.build(config(), aws, clock=clock)
    wired.hour, wired.clock = hour, clock
    return wired


def post(wired, events: list[dict], key: str) -> None:
    out = wired.ingest.accept(WS, events, key, key)
    assert out.body["accepted"] == len(events), out.body
    wired.pump(now=wired.clock.t)


def hour_items(wired, pk: str, hour: int) -> dict[str, dict]:
    lo, hi = buckets.sk_bounds("", tables.HOUR, hour, hour + 3600)
    return {i[tables.SK]: i for i in wired.store.query(pk, lo, hi, ReadStats())}


def test_closed_hour_is_rolled_then_a_late_event_rolls_it_again(timed):
    hour, clock = timed.hour, timed.clock
    events = [ev(i, hour + 600 + 10 * i, "open" if i % 4 == 0 else "sent", f"p{i % 7}") for i in range(60)]
    post(timed, events, "first")
    pk = tables.counter_pk(WS, "roll", "email")
    so_far = hour_items(timed, pk, hour)  # the hour is open: rolled so far, up to five minutes ago
    assert so_far and all(hour < i["f"] < hour + 3600 for i in so_far.values())

    clock.t = hour + 2 * 3600  # the hour closed long ago; the schedule runs
    stats = timed.roll(clock.t)
    assert stats.hours_rolled == 1
    rolled = hour_items(timed, pk, hour)[tables.counter_sk(tables.HOUR, buckets.bucket_of(tables.HOUR, hour), "_")]
    want = Counter(e["type"] for e in events)
    assert rolled["sent"] == want["sent"] and rolled["open"] == want["open"] and rolled["f"] == hour + 3600

    report = timed.live.report(LiveQuery(WS, "roll", "email"), clock.t)
    assert report["totals"]["sent"] == want["sent"] and report["totals"]["open"] == want["open"]
    assert report["distinct"]["open"] == len({e["profile_id"] for e in events if e["type"] == "open"})

    # a late event (an hour and a half old) for the rolled hour
    late = [ev(999, hour + 900, "open", "p-late")]
    post(timed, late, "late")
    report = timed.live.report(LiveQuery(WS, "roll", "email"), clock.t)
    assert report["totals"]["open"] == want["open"] + 1
    assert report["distinct"]["open"] == len({e["profile_id"] for e in events + late if e["type"] == "open"})

    # a rollup run twice changes nothing
    before = hour_items(timed, pk, hour)
    again = timed.roll(clock.t)
    assert again.hours_rolled == 0 and hour_items(timed, pk, hour) == before


def test_closed_days_roll_from_their_hours_and_the_global_report_matches(timed):
    hour, clock = timed.hour, timed.clock
    day_start = hour - hour % 86400
    events = [ev(i, max(day_start, hour - 3600 * (i % 3)) + 60 * (i % 50), "click" if i % 5 == 0 else "delivered")
              for i in range(90)]
    events = [e for e in events if datetime.fromisoformat(e["timestamp"]).timestamp() <= clock.t]
    clock.t = max(clock.t, max(datetime.fromisoformat(e["timestamp"]).timestamp() for e in events) + 1)
    post(timed, events, "days")
    clock.t = day_start + 86400 + 600  # the day closed ten minutes ago
    timed.roll(clock.t)
    stats = timed.roll(clock.t)
    assert stats.days_rolled == 0  # already rolled by the first run: idempotent
    pk = tables.counter_pk(WS, "roll", "email")
    days = list(timed.store.query(pk, *buckets.sk_bounds("", tables.DAY, day_start, day_start + 86400), ReadStats()))
    want = Counter(e["type"] for e in events)
    assert days and sum(d.get("delivered", 0) for d in days) == want["delivered"]
    doc = timed.globals.report(GlobalQuery(WS, "roll", "email"), clock.t + 4 * 86400)
    assert doc["totals"]["delivered"] == want["delivered"] and doc["totals"]["click"] == want["click"]
    assert doc["distinct"]["click"] == len({e["profile_id"] for e in events if e["type"] == "click"})


@pytest.mark.parametrize("window,seconds", [("15m", 900), ("1h", 3600), ("24h", 86400)])
def test_distinct_covers_exactly_the_window_of_the_totals(api, window, seconds):
    now = time.time()
    events = []
    for i in range(240):  # one event every 30 s over the last two hours, profiles reused
        t = now - 7200 + 30 * i
        kind = ("targeted", "sent", "open", "click")[i % 4]
        events.append(ev(i, t, kind, f"p{i % 37}", campaign="windows"))
    api.post_events(events)
    doc = api.live("windows", "email", window=window)
    end = datetime.fromisoformat(doc["window"]["end"].replace("Z", "+00:00")).timestamp()  # the report's own window
    assert doc["window"]["seconds"] == seconds
    inside = [e for e in events if end - seconds <= datetime.fromisoformat(e["timestamp"]).timestamp() < end]
    for metric in ("targeted", "open", "click"):
        want_total = sum(1 for e in inside if e["type"] == metric)
        want_distinct = len({e["profile_id"] for e in inside if e["type"] == metric})
        assert doc["totals"][metric] == want_total, (window, metric)
        assert doc["distinct"][metric] == want_distinct, (window, metric)  # exact for small sets
        assert doc["distinct"][metric] <= doc["totals"][metric]


def test_stamp_moves_with_each_fold_that_touches_the_campaign(api):
    r = api.get("/v1/campaigns/stamped/stamp")
    assert r.status_code == 200 and json.loads(r.body)["stamp"] == ""
    api.post_events([ev(1, time.time(), campaign="stamped")])
    first = json.loads(api.get("/v1/campaigns/stamped/stamp").body)
    api.post_events([ev(2, time.time(), campaign="other")])
    assert json.loads(api.get("/v1/campaigns/stamped/stamp").body) == first  # another campaign's fold
    api.post_events([ev(3, time.time(), campaign="stamped")])
    second = json.loads(api.get("/v1/campaigns/stamped/stamp").body)
    assert second["stamp"] and second["stamp"] != first["stamp"] and second["last_event"] >= first["last_event"]
    assert api.get("/v1/campaigns/stamped/stamp", key=api.key("acme", ["ingest"])).status_code == 403
    assert api.get("/v1/campaigns/bad%20id/stamp").status_code == 400


def test_live_reads_stay_bounded_as_folds_accumulate(api):
    now = time.time()
    for batch in range(3):  # every 10 minutes of the window, each minute written by three folds
        api.post_events([ev(i, now - 86000 + 600 * i + batch, "open", f"q{i % 50}", campaign="bounded")
                         for i in range(143)], idem=f"bounded-{batch}")
    doc = api.live("bounded", "email")
    print(doc["read_cost"])
    assert doc["totals"]["open"] == 3 * 143
    assert doc["read_cost"]["items"] <= 250, doc["read_cost"]


def test_the_current_hour_is_read_as_its_roll_up_so_far_plus_the_last_minutes(api):
    """Activity every minute for three hours: the 24 h report reads hour items (the open one
    rolled up to five minutes ago) and a few minutes, not 60 minutes per unrolled hour."""
    now = time.time()
    events = [ev(i, now - 3 * 3600 + 60 * i, ("sent", "open")[i % 2], f"m{i % 40}", campaign="so-far")
              for i in range(180)]
    api.post_events(events)
    doc = api.live("so-far", "email")
    assert doc["totals"]["sent"] == 90 and doc["totals"]["open"] == 90
    assert doc["distinct"]["open"] == len({e["profile_id"] for e in events if e["type"] == "open"})
    print(doc["read_cost"])
    assert doc["read_cost"]["items"] <= 40, doc["read_cost"]  # 4 hours x (counters + sketches) + ~5 minutes


def test_fanned_out_rollup_rolls_each_partition_that_moved_and_skips_idle_ones(timed):
    """The schedule plans (one task per partition and hour that moved), a FIFO queue carries
    the tasks, the worker rolls each: the same sums as the synchronous pass; an open hour
    where nothing moved since its last roll-up is not even planned."""
    import boto3
    from chalicelib.rollup.fanout import RollupQueue, dispatch, handle_records

    hour, clock = timed.hour, timed.clock
    campaigns = ("fan-a", "fan-b", "fan-c")
    events = [{**ev(i, hour + 600 + 7 * i, "open" if i % 3 == 0 else "sent", campaign=c), "event_id": f"{c}-{i}"}
              for c in campaigns for i in range(40)]
    post(timed, events, "fan")  # folded, and the open hour rolled so far by the pump
    assert [t for t in timed.rollup.plan(clock.t)] == []  # idle: nothing moved since that roll
    post(timed, [ev(500, clock.t - 2, "sent", campaign="fan-a")], "fan-more")
    clock.t += 400  # the new minute is closed, the frontier stepped: fan-a's open hour moved
    assert {t.pk for t in timed.rollup.plan(clock.t)} >= {tables.counter_pk(WS, "fan-a", "email")}

    clock.t = hour + 2 * 3600  # the hour closed: each campaign's partition has one task
    sqs = boto3.client("sqs", region_name=config().region)
    url = sqs.create_queue(QueueName="rollup-test.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sent = dispatch(timed.rollup, RollupQueue(sqs, url), clock.t)
    assert (sent.planned, sent.refused) == (3, 0)
    assert dispatch(timed.rollup, RollupQueue(sqs, url), clock.t).planned == 3  # same minute: deduplicated
    records = [("junk", "{not a task")]
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        records += [(m["MessageId"], m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert len(records) == 4  # three tasks and the junk (dropped, not retried)
    failed, stats = handle_records(records, timed.rollup, clock.t)
    assert failed == [] and stats.hours_rolled == 3
    assert not [t for t in timed.rollup.plan(clock.t) if t.gran == tables.HOUR]
    for c in campaigns:
        rolled = hour_items(timed, tables.counter_pk(WS, c, "email"), hour)
        row = rolled[tables.counter_sk(tables.HOUR, buckets.bucket_of(tables.HOUR, hour), "_")]
        want = Counter(e["type"] for e in events if e["campaign_id"] == c)
        want["sent"] += c == "fan-a"
        assert (row["sent"], row["open"]) == (want["sent"], want["open"])

"""Send progress and ETA in the live report, against an independent computation
on a generated send (three executions: sending, finished, stalled)."""
from __future__ import annotations

import json
import math
import random
import time
from datetime import datetime, timezone

from chalicelib import buckets, tables
from chalicelib.reports.fold import Fold, execution_rows
from chalicelib.reports.live import LiveQuery
from chalicelib.reports.progress import block, document


def test_block_states():
    assert block(0, 0, 0, 0)["status"] == "idle"
    assert block(0, 5, 5, 0)["status"] == "unplanned" and block(0, 5, 5, 0)["remaining"] is None
    assert block(10, 10, 0, 0)["status"] == "finished"
    # a finished send shows no live speed, even when its last items fell in the rate's 5 minutes
    assert block(10, 10, 55, 0)["rate_per_minute"] is None and block(10, 10, 55, 0)["eta"] is None
    assert block(10, 12, 0, 0)["remaining"] == 0 and block(10, 12, 0, 0)["percent"] == 1.0
    stalled = block(10, 4, 0, 0)
    assert stalled["status"] == "stalled" and stalled["eta"] is None and stalled["remaining"] == 6
    sending = block(100, 40, 10, 1_790_000_000)  # 2 a minute, 60 to go: 30 minutes
    assert sending["status"] == "sending" and sending["rate_per_minute"] == 2 and sending["eta_seconds"] == 1800
    assert sending["eta"] == datetime.fromtimestamp(1_790_001_800, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_send(end: int) -> list[dict]:
    rnd = random.Random(5)
    events: list[dict] = []
    n = 0

    def ev(execution, kind, minute_offset, **extra):
        nonlocal n
        n += 1
        ts = end + minute_offset * 60 + rnd.randint(0, 59)
        e = {"event_id": f"g{n}", "timestamp": datetime.fromtimestamp(ts, timezone.utc).isoformat(),
             "campaign_id": "send1", "channel": "email", "type": kind, "profile_id": f"p{n}", **extra}
        if execution:
            e["execution_id"] = execution
        events.append(e)

    def outcome(execution, minute_offset):
        r = rnd.random()
        if r < 0.05:
            ev(execution, "excluded", minute_offset, reason="denylist")
        elif r < 0.08:
            ev(execution, "error", minute_offset, reason="bad template")
        else:
            ev(execution, "sent", minute_offset)

    for _ in range(400):  # run-a: still sending, about 8 a minute over the last 20 minutes
        ev("run-a", "targeted", -40)
    for i in range(160):
        outcome("run-a", -20 + i // 8)
    for _ in range(50):  # run-b: done 30 minutes ago
        ev("run-b", "targeted", -60)
        outcome("run-b", -30)
    for _ in range(100):  # run-c: stalled after 40
        ev("run-c", "targeted", -60)
    for _ in range(40):
        outcome("run-c", -45)
    for _ in range(10):  # no execution id: a small send in progress
        ev(None, "targeted", -3)
    for _ in range(4):
        outcome(None, -2)
    return events


def expected(events: list[dict], end: int, execution) -> dict:
    """Written from the definition, not from chalicelib.reports.progress."""
    mine = [e for e in events if execution == "*" or e.get("execution_id") == execution]
    planned = sum(e["type"] == "targeted" for e in mine)
    done = [e for e in mine if e["type"] in ("sent", "excluded", "error")]
    recent = sum(end - 300 <= datetime.fromisoformat(e["timestamp"]).timestamp() < end for e in done)
    remaining = max(0, planned - len(done))
    rate = recent / 5
    status = "finished" if remaining == 0 else ("stalled" if rate == 0 else "sending")
    eta = math.ceil(remaining / rate * 60) if status == "sending" else None
    return {"planned": planned, "processed": len(done), "remaining": remaining, "status": status,
            "rate_per_minute": None if status == "finished" else round(rate, 2), "eta_seconds": eta}


def test_progress_matches_an_independent_computation(api):
    now = time.time()
    end = int(now) - int(now) % 60
    events = generated_send(end)
    for i in range(0, len(events), 1000):
        assert json.loads(api.post_events(events[i:i + 1000]).body)["accepted"] == len(events[i:i + 1000])
    at = end + 30  # mid-minute: the partial minute counts as processed but not in the rate
    doc = api.wired.live.report(LiveQuery("acme", "send1", "email"), at)
    keys = ("planned", "processed", "remaining", "status", "rate_per_minute", "eta_seconds")
    got = doc["progress"]
    assert {k: got[k] for k in keys} == expected(events, end, "*")
    rows = {r["execution_id"]: r for r in got["executions"]}
    for execution in ("run-a", "run-b", "run-c", None):
        assert {k: rows[execution][k] for k in keys} == expected(events, end, execution), execution
    assert rows["run-a"]["status"] == "sending" and rows["run-b"]["status"] == "finished"
    assert rows["run-c"]["status"] == "stalled" and rows[None]["status"] == "sending"
    eta = datetime.fromisoformat(rows["run-a"]["eta"].replace("Z", "+00:00")).timestamp()
    assert eta == at + rows["run-a"]["eta_seconds"]
    # the execution filter narrows the block to the chosen executions
    only_b = api.wired.live.report(LiveQuery("acme", "send1", "email", frozenset({"run-b"})), at)["progress"]
    assert {k: only_b[k] for k in keys} == expected(events, end, "run-b")
    # the campaign tab: one block per channel
    campaign = api.wired.live.report(LiveQuery("acme", "send1", "campaign"), at)["progress"]
    assert [c["channel"] for c in campaign["channels"]] == ["email"]
    assert {k: campaign["channels"][0][k] for k in keys} == expected(events, end, "*")
    # and the API serves it
    assert "progress" in api.live("send1", "email") and "progress" in api.live("send1", "campaign")


def test_runs_are_listed_newest_first():
    """The run being sent is the one a marketer looks for: execution tables and the progress table list
    runs by their latest activity, newest first (ties: the latest id first)."""
    base = 1_790_000_000 - 1_790_000_000 % 3600
    fold = Fold(series_start=base, series_end=base + 3600, step=3600)
    for execution, minute in (("run-0900", 5), ("run-1000", 50), (tables.NO_EXECUTION, 20), ("run-0930", 35),
                              ("run-0900", 12), ("run-0945", 35)):
        sk = tables.counter_sk(tables.MINUTE, buckets.bucket_of(tables.MINUTE, base + minute * 60), execution)
        fold.add_item({tables.PK: "pk", tables.SK: sk, "targeted": 2, "sent": 1}, None)
    order = ["run-1000", "run-0945", "run-0930", None, "run-0900"]
    rows = execution_rows("email", fold)
    assert [r["execution_id"] for r in rows] == order
    assert rows[-1]["last_activity"] == datetime.fromtimestamp(base + 12 * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rows[-1]["totals"]["sent"] == 2
    progress = document(fold.executions, {}, base + 3600, True, fold.last_activity)
    assert [r["execution_id"] for r in progress["executions"]] == order


def test_the_demo_targets_a_planned_run_once():
    """The demo's recurring send (docs/alerts.md: 2,000 targets a run) is streamed in 2-second batches;
    a batch straddling the end of a cycle used to target the old run once more (Planned 2,001)."""
    from collections import Counter
    from datetime import timedelta
    from infra.local.traffic import Campaign, TrafficGenerator
    campaign = Campaign("cycles", ("email",), cycle_minutes=20, planned=60)
    gen = TrafficGenerator(seed=3, profiles=500)
    start = datetime(2026, 11, 22, 9, 59, 1, tzinfo=timezone.utc)  # a cycle starts in the first minute
    events = []
    for i in range(45 * 30):  # 45 minutes of 2-second batches: three cycle boundaries crossed
        at = start + timedelta(seconds=2 * i)
        events += gen.events(2, at, at + timedelta(seconds=2), campaigns=(campaign,))
    targeted = Counter(e["execution_id"] for e in events if e["type"] == "targeted")
    processed = Counter(e["execution_id"] for e in events if e["type"] in ("sent", "excluded", "error"))
    planned = {e: n for e, n in targeted.items() if e in ("cycles-1000", "cycles-1020", "cycles-1040")}
    assert planned == {"cycles-1000": 60, "cycles-1020": 60, "cycles-1040": 60}, targeted
    assert processed["cycles-1000"] == processed["cycles-1020"] == 60  # each run ends, even after its cycle

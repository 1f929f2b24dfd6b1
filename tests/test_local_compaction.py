"""Local mode merges a settled minute's sketch deltas into one (infra/local/compaction.py):
reports and roll-ups read the same distinct counts before and after, late events included."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from chalicelib import buckets, services, tables
from chalicelib.reports.live import LiveQuery
from chalicelib.store import ReadStats
from infra.local.compaction import MERGED, DeltaMerger

from conftest import TABLE, config

WS = "acme"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def ev(i: int, epoch: float, kind: str, profile: str) -> dict:
    return {"event_id": f"c{i}-{epoch}", "timestamp": datetime.fromtimestamp(epoch, timezone.utc).isoformat(),
            "campaign_id": "merge", "channel": "email", "type": kind, "profile_id": profile,
            "recipient_domain": f"d{i % 3}.example"}


@pytest.fixture
def timed(aws):
    hour = int(time.time()) // 3600 * 3600 - 5 * 3600
    clock = Clock(hour + 600)
    wired = services.build(config(), aws, clock=clock)
    wired.hour, wired.clock = hour, clock
    return wired


def post(wired, events: list[dict], batch: str) -> None:
    out = wired.ingest.accept(WS, events, batch, batch)
    assert out.body["accepted"] == len(events), out.body
    wired.pump(now=wired.clock.t)


def deltas(wired) -> list[str]:
    pk = tables.counter_pk(WS, "merge", "email")
    return [i[tables.SK] for i in wired.store.query(pk, "SX#", "SX#\uffff", ReadStats())]


def distinct(wired) -> dict:
    doc = wired.live.report(LiveQuery(WS, "merge", "email"), wired.clock.t)
    return {"totals": doc["totals"], "distinct": doc["distinct"]}


def test_merged_deltas_read_the_same_and_late_events_still_count(timed):
    hour, clock = timed.hour, timed.clock
    # ten folds, each with events in the same three minutes: ten deltas per minute
    for fold in range(10):
        post(timed, [ev(100 * fold + m, hour + 60 * m + fold, ("open", "click")[m % 2], f"p{(fold * 7 + m) % 13}")
                     for m in range(3)], f"fold{fold}")
    assert len(deltas(timed)) == 30
    clock.t = hour + 1200
    before = distinct(timed)

    merger = DeltaMerger(timed.client, TABLE)
    removed = merger(now=clock.t)
    assert removed == 27 and merger.items_written == 3
    left = deltas(timed)
    assert len(left) == 3 and all(sk.endswith("#" + MERGED) for sk in left)
    assert distinct(timed) == before
    assert merger(now=clock.t) == 0  # nothing new settled

    # the closed hour rolls from merged deltas as it did from the originals
    clock.t = hour + 2 * 3600
    timed.roll(clock.t)
    assert distinct(timed) == before

    # a late event for a merged minute: its fold's delta sits beside the merged one, and the hour rolls again
    post(timed, [ev(999, hour + 30, "open", "p-late")], "late")
    timed.roll(clock.t)
    after = distinct(timed)
    assert after["distinct"]["open"] == before["distinct"]["open"] + 1
    assert after["totals"]["open"] == before["totals"]["open"] + 1
    merger.done_until = hour  # a later pass over the same minutes merges the late delta too
    assert merger(now=clock.t) == 1
    timed.roll(clock.t)
    assert distinct(timed) == after
    pk = tables.counter_pk(WS, "merge", "email")
    minute_sketches = list(timed.store.query(pk, *buckets.sk_bounds("S", tables.MINUTE, hour, hour + 3600),
                                             ReadStats()))
    assert minute_sketches  # the rollup's minute sketches are still there to read

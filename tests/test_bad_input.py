"""Malformed, oversized and hostile input gets a clear answer and nothing is half-applied."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

from chalicelib import tables
from chalicelib.store import item_size


def ev(i, **kw):
    base = {"event_id": f"b{i}", "timestamp": datetime.now(timezone.utc).isoformat(), "campaign_id": "bad",
            "channel": "email", "type": "sent"}
    base.update(kw)
    return base


def error_of(r):
    return json.loads(r.body)["error"]


def test_malformed_bodies_are_400_with_a_message(api):
    for raw, needle in ((b"{not json", "not valid JSON"), (b"[]", "JSON object"), (b'{"events": 3}', "JSON object"),
                        (b"", "empty body"), (b"\xff\xfe", "not valid JSON")):
        r = api.post_events(None, raw=raw)
        assert r.status_code == 400, raw
        assert needle in error_of(r)["message"]
    assert api.live("bad", "email")["has_data"] is False


def test_oversize_is_413_and_nothing_counted(api):
    r = api.post_events([ev(i) for i in range(5001)])
    assert r.status_code == 413 and "5000" in error_of(r)["message"]
    big = json.dumps({"events": [ev(0, reason="x" * (5 * 1024 * 1024))]}).encode()
    r = api.post_events(None, raw=big)
    assert r.status_code == 413
    assert api.live("bad", "email")["totals"]["sent"] == 0


def test_per_event_rejections_with_reasons(api):
    now = datetime.now(timezone.utc)
    events = [
        ev(0),
        ev(1, channel="fax"),
        ev(2, type="teleport"),
        ev(3, timestamp=(now - timedelta(hours=49)).isoformat()),
        ev(4, timestamp=(now + timedelta(minutes=10)).isoformat()),
        ev(5, timestamp="2026-11-22T10:00:00"),  # no offset
        ev(6, timestamp="yesterday"),
        ev(7, campaign_id=123),
        ev(8, type="bounce"),  # bounce without bounce_type
        ev(9, type="impression"),  # not an email event
        "not an object",
        ev(11, campaign_id="has#hash"),
        ev(12, error_type="cosmic_rays", type="error"),
        ev(13, machine="sometimes"),
    ]
    r = api.post_events(events)
    assert r.status_code == 200
    body = json.loads(r.body)
    assert body["accepted"] == 1
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert set(reasons) == set(range(1, 14)) - {10} | {10}
    assert reasons[1].startswith("channel") and reasons[2].startswith("type")
    assert "48 hours" in reasons[3] and "future" in reasons[4]
    assert "offset" in reasons[5] and reasons[6].startswith("timestamp")
    assert "bounce_type" in reasons[8] and "not an event of channel" in reasons[9]
    assert api.live("bad", "email")["totals"]["sent"] == 1


def test_hostile_strings_are_stored_as_inert_data(api):
    script = "<script>alert(1)</script>"
    formula = '=HYPERLINK("http://evil","click")'
    events = [ev(0, type="bounce", bounce_type="hard", reason=script),
              ev(1, type="error", reason=formula),
              ev(2, type="click", url="javascript:alert(1)"),
              ev(3, recipient="victim@<img src=x onerror=alert(1)>.com")]
    assert json.loads(api.post_events(events).body)["accepted"] == 4
    report = api.live("bad", "email")
    assert report["breakdowns"]["bounce_reason"][0]["value"] == script
    assert report["breakdowns"]["error_reason"][0]["value"] == formula
    r = api.get("/v1/campaigns/bad/live.csv?channel=email")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    cells = [c for row in csv.reader(io.StringIO(r.body.decode())) for c in row]
    assert "'" + formula in cells and formula not in cells
    # the address itself is never stored, only its domain
    assert "victim" not in json.dumps(report)


def test_cardinality_bomb_folds_into_other(api, aws):
    total = 100_000
    for start in range(0, total, 5000):
        batch = [ev(i, type="bounce", bounce_type="soft", reason=f"reason {i}") for i in range(start, start + 5000)]
        r = api.post_events(batch)
        assert r.status_code == 200 and json.loads(r.body)["accepted"] == 5000
    rows = api.live("bad", "email")["breakdowns"]["bounce_reason"]
    assert len(rows) <= 101
    assert sum(r["count"] for r in rows) == total
    assert rows[0]["value"] == "other" and rows[0]["count"] == total - 100
    biggest = max(item_size(i) for i in aws.scan(TableName="livereport-test")["Items"])
    assert biggest < 400 * 1024


def test_recipient_is_reduced_to_its_domain(api, aws):
    api.post_events([ev(0, recipient="Jane.Doe@Example.COM", type="open", profile_id="p1")])
    items = aws.scan(TableName="livereport-test")["Items"]
    dump = json.dumps(items, default=lambda b: b.decode("latin-1"))
    assert "jane" not in dump.lower() and "example.com" in dump


def test_rejections_say_the_rule_in_words_and_list_every_value(api):
    """A producer reads what to fix: the id rule in words (never a regex), and every channel and type
    of the catalogue, each quoted whole (no list cut in the middle of a name)."""
    from chalicelib import catalogue
    events = [ev(0, campaign_id="has#hash"), ev(1, execution_id="a b"), ev(2, channel="fax"),
              ev(3, type="teleport"), ev(4, machine="sometimes"), ev(5, event_id=""),
              ev(6, timestamp="yesterday"), ev(7, campaign_id=123), ev(8, type="<script>alert(1)</script>" * 3)]
    body = json.loads(api.post_events(events).body)
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert reasons[0] == "campaign_id: 1–128 letters, digits or . _ : @ + -"
    assert reasons[1] == "execution_id: 1–128 letters, digits or . _ : @ + -"
    assert reasons[2] == "channel: unknown value 'fax' (expected one of " + ", ".join(catalogue.CHANNELS) + ")"
    assert reasons[3] == "type: unknown value 'teleport' (expected one of " + ", ".join(catalogue.EVENT_TYPES) + ")"
    assert all(t in reasons[3] for t in ("offer_sent", "offer_impression", "offer_click", "action_executed"))
    assert reasons[4] == "machine: true or false"
    assert reasons[5] == "event_id: must not be empty"
    assert reasons[6] == "timestamp: an ISO 8601 time with a UTC offset, e.g. 2026-11-22T10:00:00Z"
    assert reasons[7] == "campaign_id: must be a string"
    assert reasons[8].startswith("type: unknown value (expected one of targeted,")  # long input not echoed
    for reason in reasons.values():
        assert "pattern" not in reason and "^" not in reason and "Input should" not in reason, reason
    r = api.get("/v1/campaigns/has%23hash/live?channel=email")
    assert r.status_code == 400 and error_of(r)["message"] == "campaign_id: 1–128 letters, digits or . _ : @ + -"

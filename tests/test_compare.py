"""Period comparison: the API returns the previous equal period's totals and rates on request."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone


def ev(i, minutes_ago, kind="sent", channel="email"):
    ts = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return {"event_id": f"c{i}", "timestamp": ts.isoformat(), "campaign_id": "cmp", "channel": channel,
            "type": kind, "profile_id": f"p{i}"}


def test_live_previous_window(api):
    # 3 sent in the last hour, 2 sent (1 delivered) in the hour before
    events = [ev(i, 10 + i) for i in range(3)] + [ev(10 + i, 70 + i) for i in range(2)] + [ev(20, 75, "delivered")]
    assert json.loads(api.post_events(events).body)["accepted"] == 6
    r = api.get("/v1/campaigns/cmp/live?channel=email&window=1h&compare=previous")
    doc = json.loads(r.body)
    assert doc["totals"]["sent"] == 3 and doc["totals"]["delivered"] == 0
    prev = doc["previous"]
    assert prev["totals"]["sent"] == 2 and prev["totals"]["delivered"] == 1
    assert prev["rates"]["delivered_rate"] == 0.5
    assert prev["period"]["end"] == doc["window"]["start"]
    assert "previous" not in api.live("cmp", "email", window="1h")  # only on request: it doubles the reads
    campaign = json.loads(api.get("/v1/campaigns/cmp/live?channel=campaign&window=1h&compare=previous").body)
    assert campaign["previous"]["kpis"]["error"] == 0 and "audience" in campaign["previous"]["kpis"]


def test_global_previous_range(api):
    event = ev(1, 5)
    assert json.loads(api.post_events([event]).body)["accepted"] == 1
    day = event["timestamp"][:10]  # the event's own UTC day (5 minutes ago is yesterday just after midnight)
    doc = json.loads(api.get(f"/v1/campaigns/cmp/report?channel=email&from={day}&to={day}&compare=previous").body)
    assert doc["totals"]["sent"] == 1
    prev = doc["previous"]
    assert prev["totals"]["sent"] == 0 and prev["period"]["end"] == doc["range"]["resolved_start"]
    whole = json.loads(api.get("/v1/campaigns/cmp/report?channel=email&compare=previous").body)
    assert whole["previous"] is None  # nothing before the whole life

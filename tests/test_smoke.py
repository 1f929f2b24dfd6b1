import json
from datetime import datetime, timezone


def now_iso():
    return datetime.now(timezone.utc).isoformat()


def test_ingest_then_live(api):
    events = [
        {"event_id": "e1", "timestamp": now_iso(), "campaign_id": "c1", "channel": "email", "type": "sent",
         "recipient": "bob@Example.com", "profile_id": "p1"},
        {"event_id": "e2", "timestamp": now_iso(), "campaign_id": "c1", "channel": "email", "type": "open",
         "recipient_domain": "example.com", "profile_id": "p1"},
        {"event_id": "e3", "timestamp": now_iso(), "campaign_id": "c1", "channel": "email", "type": "bounce",
         "bounce_type": "hard", "reason": "<script>x</script>"},
        {"event_id": "e3", "timestamp": now_iso(), "campaign_id": "c1", "channel": "email", "type": "bounce",
         "bounce_type": "hard", "reason": "dup"},
        {"event_id": "e4", "timestamp": now_iso(), "campaign_id": "c1", "channel": "nope", "type": "sent"},
    ]
    r = api.post_events(events)
    assert r.status_code == 200, r.body
    body = json.loads(r.body)
    assert body["accepted"] == 3
    assert [x["index"] for x in body["rejected"]] == [3, 4]
    rep = api.live("c1", "email")
    assert rep["totals"]["sent"] == 1 and rep["totals"]["open"] == 1 and rep["totals"]["bounce"] == 1
    assert rep["breakdowns"]["bounce_reason"][0]["value"] == "<script>x</script>"
    assert rep["distinct"]["open"] == 1
    print(json.dumps(rep)[:3000])


def test_hourly_series_carry_distinct_profiles_per_hour(api):
    """Web summary: unique impressions over time, one distinct count per hour slot."""
    from datetime import timedelta
    now = datetime.now(timezone.utc)
    events = []
    for i, minutes in enumerate((130, 125, 125, 70, 65, 5)):
        profile = f"v{i % 3}"  # repeats: impressions 6, but fewer unique per hour
        events.append({"event_id": f"w{i}", "timestamp": (now - timedelta(minutes=minutes)).isoformat(),
                       "campaign_id": "site", "channel": "web", "type": "impression", "profile_id": profile})
    assert json.loads(api.post_events(events).body)["accepted"] == 6
    series = api.live("site", "web")["series"]
    assert series["step_seconds"] == 3600
    by_hour = {}
    for e in events:
        ts = datetime.fromisoformat(e["timestamp"]).replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(ts.strftime("%Y-%m-%dT%H:%M:%SZ"), set()).add(e["profile_id"])
    got = {t: n for t, n in zip(series["timestamps"], series["distinct"]["impression"]) if n}
    assert got == {t: len(p) for t, p in by_hour.items()}
    assert "distinct" not in api.live("site", "web", window="1h")["series"]  # minute steps: no minute sketches

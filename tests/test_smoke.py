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

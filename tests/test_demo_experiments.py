"""The demo's experiments (infra/local/traffic.py, `make run`) through the real path
(ingest -> stream -> aggregator -> report), on a fake clock: the subject-line test shows
B as the winner within half an hour of its start, the A/A test never shows a winner at any
minute, and conversions without a variant are credited by assignment, exactly."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from infra.local.traffic import AA_TEST, SUBJECT_LINE_TEST, ExperimentTraffic

SEED = 5


def post(api, events: list[dict]) -> None:
    """POST /v1/events, then fold as the aggregator does (the rollup runs on its own
    schedule, as in local mode, not after every request)."""
    r = api.client.http.post("/v1/events", body=json.dumps({"events": events}).encode(),
                             headers={"Authorization": f"Bearer {api.key()}", "Content-Type": "application/json"})
    assert r.status_code == 200 and json.loads(r.body)["rejected"] == [], r.body[:500]
    api.wired.pump(roll=False)


def experiment(api, plan, metric: str | None = None) -> dict:
    query = f"channel={plan.channel}" + (f"&metric={metric}" if metric else "")
    r = api.get(f"/v1/campaigns/{plan.campaign_id}/experiment?{query}")
    assert r.status_code == 200, r.body
    return json.loads(r.body)


def truth(events: list[dict], campaign: str) -> dict[str, dict[str, float]]:
    """Independent tally of the planned events: people, clickers, converters and revenue per variant."""
    assigned: dict[str, str] = {}
    clickers: set[str] = set()
    bought: dict[str, float] = defaultdict(float)
    for e in events:
        if e["campaign_id"] != campaign:
            continue
        if e["type"] == "sent":
            assigned.setdefault(e["profile_id"], e["variant"])
        elif e["type"] == "click":
            clickers.add(e["profile_id"])
        elif e["type"] == "conversion":
            bought[e["profile_id"]] += e["value"]
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for profile, variant in assigned.items():
        out[variant]["people"] += 1
        out[variant]["clickers"] += profile in clickers
        out[variant]["converters"] += profile in bought
        out[variant]["revenue"] += bought.get(profile, 0.0)
    return out


def test_the_demo_shows_a_winner_on_its_subject_line_test_and_none_on_its_a_a_test(api):
    start = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(second=0, microsecond=0)
    traffic = ExperimentTraffic(start, seed=SEED, prefix="xptest")
    clock = start
    while not traffic.finished:
        clock += timedelta(minutes=5)  # the demo posts every 2 s; larger steps keep the test short (the report is per minute of the events)
        batch = traffic.due(clock)
        for i in range(0, len(batch), 1000):
            post(api, batch[i:i + 1000])
    assert clock < datetime.now(timezone.utc), "every planned event is in the past"
    api.wired.roll()  # the rollup's schedule (every minute): the closed hours are rolled

    subject = experiment(api, SUBJECT_LINE_TEST)
    assert (subject["status"], subject["winner"], subject["baseline"]) == ("winner", "B", "A")
    first = next(p for p in subject["series"] if p["winner"])
    found_after = datetime.fromisoformat(first["t"].replace("Z", "+00:00")) - start
    assert found_after <= timedelta(minutes=30), f"the winner came {found_after} after the start"
    b = next(r for r in first["variants"] if r["variant"] == "B")
    assert first["winner"] == "B" and b["lower"] > 0 and b["confidence"] >= 0.95  # what the page showed then
    # once shown, it stays, minute after minute
    assert all(p["winner"] == "B" for p in subject["series"] if p["t"] >= first["t"])

    aa = experiment(api, AA_TEST)
    assert (aa["status"], aa["winner"], aa["baseline"]) == ("running", None, "A1")
    assert len(aa["series"]) > 30 and not any(p["winner"] for p in aa["series"])
    assert not any(r["lower"] is not None and (r["lower"] > 0 or r["upper"] < 0)
                   for p in aa["series"] for r in p["variants"])

    # exact people and successes; conversions without a variant credited by assignment
    for plan, doc in ((SUBJECT_LINE_TEST, subject), (AA_TEST, aa)):
        expected = truth(traffic.planned, plan.campaign_id)
        assert {r["variant"]: (r["people"], r["successes"]) for r in doc["variants"]} == \
            {v: (t["people"], t["clickers"]) for v, t in expected.items()}
        assert doc["contaminated_profiles"] == 0
    expected = truth(traffic.planned, SUBJECT_LINE_TEST.campaign_id)
    untagged = [e for e in traffic.planned if e["type"] == "conversion" and "variant" not in e]
    assert untagged, "the demo shows conversions credited by assignment"
    conversions = {r["variant"]: r["successes"] for r in experiment(api, SUBJECT_LINE_TEST, "conversions")["variants"]}
    assert conversions == {v: t["converters"] for v, t in expected.items()}
    revenue = {r["variant"]: r["successes"] for r in experiment(api, SUBJECT_LINE_TEST, "revenue")["variants"]}
    assert revenue == {v: round(t["revenue"], 4) for v, t in expected.items()}
    live = api.live(SUBJECT_LINE_TEST.campaign_id, "email")
    planned = [e for e in traffic.planned if e["campaign_id"] == SUBJECT_LINE_TEST.campaign_id]
    assert live["totals"]["conversion"] == sum(e["type"] == "conversion" for e in planned)
    assert live["revenue"]["currency"] == "EUR"
    assert live["revenue"]["total"] == round(sum(e.get("value", 0.0) for e in planned), 2)


def test_the_demo_plan_is_stable_and_every_event_valid():
    """Same seed, same events; people are distinct stable ids, each in one variant."""
    from chalicelib.events import validate_batch

    start = datetime.now(timezone.utc) - timedelta(hours=1)
    one, two = ExperimentTraffic(start, seed=3), ExperimentTraffic(start, seed=3)
    assert one.planned == two.planned
    accepted, rejected = validate_batch(one.planned[:5000], datetime.now(timezone.utc))
    assert rejected == [] and len(accepted) == 5000
    variants: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in one.planned:
        if e.get("variant"):
            variants[(e["campaign_id"], e["profile_id"])].add(e["variant"])
    assert all(len(v) == 1 for v in variants.values())
    sent = [e for e in one.planned if e["type"] == "sent"]
    assert len(sent) == SUBJECT_LINE_TEST.profiles + AA_TEST.profiles == len({(e["campaign_id"], e["profile_id"])
                                                                               for e in sent})
    # handed out once each, in time order
    got = one.due(start + timedelta(minutes=10)) + one.due(start + timedelta(hours=6))
    assert got == one.planned and one.finished and one.due(start + timedelta(days=1)) == []

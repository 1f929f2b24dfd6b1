"""Every total, breakdown and execution row of every tab equals an independent count."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from expected import Expected
from infra.local.traffic import DEMO_CAMPAIGNS, TrafficGenerator

TABS = ("email", "push", "sms", "inapp", "web", "directmail")


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


@pytest.fixture(scope="module")
def dataset(api):
    now = datetime.now(timezone.utc)
    gen = TrafficGenerator(seed=11, profiles=800)
    # Mostly the last 3 hours (hour roll-ups + minute edges), a few near the window's
    # start (inside) and a few just outside the 24-hour window (must not count).
    recent = list(gen.events(2500, now - timedelta(hours=3), now - timedelta(seconds=5)))
    early = list(gen.events(150, now - timedelta(hours=23, minutes=50), now - timedelta(hours=23, minutes=40)))
    # Stale events: counts must exclude them exactly at the minute edge; distinct counts
    # cover whole hours (documented), so stale profiles sit more than an hour out.
    stale = list(gen.events(100, now - timedelta(hours=26), now - timedelta(hours=25, minutes=5)))
    edge = [{k: v for k, v in e.items() if k != "profile_id"}
            for e in gen.events(60, now - timedelta(hours=24, minutes=4), now - timedelta(hours=24, minutes=1))]
    stale += edge
    events = sorted(recent + early + stale, key=lambda e: e["timestamp"])
    accepted = 0
    for i in range(0, len(events), 500):
        r = api.post_events(events[i:i + 500])
        assert r.status_code == 200, r.body
        body = json.loads(r.body)
        assert body["rejected"] == []
        accepted += body["accepted"]
    assert accepted == len(events)
    expected = Expected()
    expected.add_all(recent + early)
    return expected


def test_every_tab_matches_an_independent_count(api, dataset):
    for campaign in DEMO_CAMPAIGNS:
        for tab in TABS:
            report = api.live(campaign.campaign_id, tab)
            want = dataset.totals.get((campaign.campaign_id, tab), {})
            for metric, n in report["totals"].items():
                if metric == "engagements":
                    assert n == want.get("open", 0) + want.get("action", 0)
                else:
                    assert n == want.get(metric, 0), (campaign.campaign_id, tab, metric)
            assert sum(want.values()) == sum(v for k, v in report["totals"].items() if k != "engagements")
            for dim, rows in report["breakdowns"].items():
                got = {r["value"]: r["counts"] for r in rows}
                exp = {v: dict(c) for v, c in dataset.dims.get((campaign.campaign_id, tab, dim), {}).items()}
                assert got == exp, (campaign.campaign_id, tab, dim)
                counts = [r["count"] for r in rows]
                assert counts == sorted(counts, reverse=True)
            got_execs = {r["execution_id"]: r["totals"] for r in report["executions"]}
            exp_execs = {e: c for (c_id, ch, e), c in dataset.by_exec.items() if c_id == campaign.campaign_id and ch == tab}
            assert set(got_execs) == set(exp_execs)
            for e, counts in exp_execs.items():
                for metric, n in counts.items():
                    assert got_execs[e][metric] == n
            for metric, n in report["distinct"].items():
                assert n == len(dataset.profiles.get((campaign.campaign_id, tab, metric), ())), (tab, metric)
            assert sum(sum(v) for k, v in report["series"]["values"].items() if k != "engagements") == \
                sum(want.values())


def test_campaign_tab_and_execution_filter(api, dataset):
    report = api.live("black-friday-2026", "campaign")
    counts = dataset.campaign_counts["black-friday-2026"]
    assert report["kpis"]["audience"] == len(dataset.campaign_targeted["black-friday-2026"])
    assert report["kpis"]["error"] == counts["error"]
    assert report["kpis"]["action_executed"] == counts["action_executed"]

    campaign = next(c for c in DEMO_CAMPAIGNS if c.executions)
    one = campaign.executions[0]
    filtered = api.live(campaign.campaign_id, "email", executions=[one])
    want = dataset.by_exec[(campaign.campaign_id, "email", one)]
    assert {k: v for k, v in filtered["totals"].items() if v} == {k: v for k, v in want.items() if v}
    assert [r["execution_id"] for r in filtered["executions"]] == [one]
    assert set(filtered["available_executions"]) == set(campaign.executions)
    two = api.live(campaign.campaign_id, "email", executions=list(campaign.executions[:2]))
    assert two["totals"]["sent"] == sum(dataset.by_exec[(campaign.campaign_id, "email", e)]["sent"]
                                        for e in campaign.executions[:2])


def test_reads_are_bounded_and_one_hour_window_uses_minutes(api, dataset):
    report = api.live("black-friday-2026", "email")
    # at most 3 ranges of counters + 3 of sketches (plus pagination), whatever the volume
    assert report["read_cost"]["queries"] <= 8
    short = api.live("black-friday-2026", "email", window="1h")
    assert short["series"]["step_seconds"] == 60 and len(short["series"]["timestamps"]) == 60


def test_campaign_list(api, dataset):
    r = api.get("/v1/campaigns")
    campaigns = {c["campaign_id"]: c for c in json.loads(r.body)["campaigns"]}
    assert set(campaigns) == {c.campaign_id for c in DEMO_CAMPAIGNS}
    assert campaigns["black-friday-2026"]["channels"] == ["email", "push", "sms"]

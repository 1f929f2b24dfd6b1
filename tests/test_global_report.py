"""The global report over a 3-day, 20,000-profile campaign against an independent tally.

Events are ingested in time order with the ingest clock set just after each
batch (a real producer sends events as they happen), so three days of data go
through the same validation window a live producer meets.
"""
from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.reports.global_ import RangeError, global_query, parse_bound

CAMPAIGN = "spring-sale"
PROFILES = 20_000
DOMAINS = ["gmail.com", "orange.fr", "yahoo.fr", "outlook.com", "free.fr", "laposte.net", "icloud.com", "sfr.fr"]
URLS = [f"https://shop.example.com/p/{i}" for i in range(15)]
URL_WEIGHTS = [60 - 3 * i for i in range(15)]  # no ties between neighbours
ERROR_TYPES = ["user_unknown", "invalid_domain", "mailbox_full", "refused", "unreachable"]


def hour_floor(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def generate(start: datetime, seed: int = 2026) -> list[dict]:
    """Three daily sends of a third of the audience each, engagement trailing off after.

    Real campaigns send in bursts: each send spreads over an hour, opens and
    clicks follow within hours, so most minutes of the three days are quiet.
    """
    r = random.Random(seed)
    events: list[dict] = []
    ids = iter(range(10**9))

    def ev(kind: str, ts: datetime, profile: str, domain: str, **extra) -> None:
        events.append({"event_id": f"g{next(ids)}", "timestamp": ts.isoformat(), "campaign_id": CAMPAIGN,
                       "channel": "email", "type": kind, "profile_id": profile, "recipient_domain": domain,
                       **extra})

    def later(t: datetime, mean_minutes: float) -> datetime:
        return t + timedelta(minutes=min(r.expovariate(1 / mean_minutes), 150))

    for n in range(PROFILES):
        p, domain = f"prof{n}", r.choice(DOMAINS)
        t0 = start + timedelta(days=n % 3, hours=9, seconds=r.randrange(3600))
        ev("targeted", t0, p, domain)
        if r.random() < 0.03:
            ev("excluded", t0, p, domain, reason="Address on denylist")
            continue
        if r.random() < 0.02:
            ev("error", t0, p, domain, error_type=r.choice(ERROR_TYPES), reason="provider said no")
            continue
        ev("sent", t0, p, domain)
        if r.random() < 0.05:
            ev("bounce", t0 + timedelta(seconds=30), p, domain, bounce_type=r.choice(["hard", "soft"]),
               reason="550 user unknown")
            continue
        ev("delivered", t0 + timedelta(seconds=20), p, domain)
        if r.random() < 0.4:
            opened = later(t0, 45)
            for k in range(r.choice([1, 1, 2, 3])):
                ev("open", opened + timedelta(minutes=20 * k), p, domain)
            if r.random() < 0.35:
                for k in range(r.choice([1, 1, 2])):
                    ev("click", opened + timedelta(minutes=1 + 20 * k), p, domain,
                       url=r.choices(URLS, URL_WEIGHTS)[0])
        if r.random() < 0.01:
            ev("unsubscribe", later(t0, 90), p, domain)
        if r.random() < 0.004:
            ev("spam_complaint", later(t0, 90), p, domain)
    events.sort(key=lambda e: e["timestamp"])
    return events


class Tally:
    """What the report must show for events in [start, end), computed from the raw events."""

    def __init__(self, events: list[dict], start: datetime | None = None, end: datetime | None = None) -> None:
        self.totals: Counter = Counter()
        self.urls: Counter = Counter()
        self.error_types: Counter = Counter()
        self.domains: dict[str, Counter] = defaultdict(Counter)
        self.profiles: dict[str, set] = defaultdict(set)
        self.domain_profiles: dict[tuple[str, str], set] = defaultdict(set)
        for e in events:
            ts = datetime.fromisoformat(e["timestamp"])
            if (start and ts < start) or (end and ts >= end):
                continue
            t, d = e["type"], e["recipient_domain"]
            self.totals[t] += 1
            self.domains[d][t] += 1
            self.profiles[t].add(e["profile_id"])
            self.domain_profiles[(t, d)].add(e["profile_id"])
            if t == "click":
                self.urls[e["url"]] += 1
            if t == "error":
                self.error_types[e["error_type"]] += 1


@pytest.fixture(scope="module")
def campaign(module_api):
    api = module_api
    start = hour_floor(datetime.now(timezone.utc)) - timedelta(hours=72)
    events = generate(start)
    key = api.key("globex", ("ingest", "read"))
    real_clock = api.wired.ingest.clock
    try:
        for i in range(0, len(events), 5000):
            batch = events[i:i + 5000]
            last = datetime.fromisoformat(batch[-1]["timestamp"]).timestamp()
            api.wired.ingest.clock = lambda last=last: last + 1
            r = api.post_events(batch, key=key)
            assert r.status_code == 200, r.body
            assert json.loads(r.body) == {"accepted": len(batch), "rejected": []}
    finally:
        api.wired.ingest.clock = real_clock
    return api, key, start, events


def report(api, key, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"channel": "email", **params}.items())
    r = api.get(f"/v1/campaigns/{CAMPAIGN}/report?{query}", key)
    assert r.status_code == 200, r.body
    return json.loads(r.body)


def whole_utc_days(events: list[dict], lo: datetime, hi: datetime) -> Tally:
    """Per-domain reactivity comes from daily sketches: the UTC days covering the range."""
    first = lo.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    last = hi.astimezone(timezone.utc) - timedelta(microseconds=1)
    last = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return Tally(events, first, last)


def check_against(doc: dict, want: Tally, days: Tally | None = None) -> None:
    days = days or want
    for metric, n in doc["totals"].items():
        assert n == want.totals.get(metric, 0), metric
    assert sum(want.totals.values()) == sum(doc["totals"].get(t, 0) for t in want.totals)
    clicks = want.totals["click"]
    expected_links = sorted(want.urls.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [(x["url"], x["clicks"]) for x in doc["top_links"]] == expected_links
    for link in doc["top_links"]:
        assert link["share"] == pytest.approx(link["clicks"] / clicks, abs=1e-6)
    assert {x["value"]: x["count"] for x in doc["errors_by_type"]} == dict(want.error_types)
    want_err_domains = {d: c["error"] + c["bounce"] for d, c in want.domains.items() if c["error"] + c["bounce"]}
    assert {x["value"]: x["count"] for x in doc["errors_by_domain"]} == want_err_domains
    got_domains = {row["domain"]: row for row in doc["by_domain"]}
    assert set(got_domains) == {d for d, c in want.domains.items() if sum(c.values())}
    for d, row in got_domains.items():
        c = want.domains[d]
        assert (row["sent"], row["complaints"], row["opens"], row["clicks"]) == \
            (c["sent"], c["spam_complaint"], c["open"], c["click"]), d
        openers = len(days.domain_profiles[("open", d)])
        clickers = len(days.domain_profiles[("click", d)])
        if openers:
            # per-domain sketches are lg_k=10 (RSE 3.25 % each): the ratio stays within ~10 %
            assert row["raw_reactivity"] == pytest.approx(clickers / openers, rel=0.10), d
        else:
            assert row["raw_reactivity"] is None
    for metric in ("open", "click", "targeted"):
        truth = len(want.profiles[metric])
        bound = doc["error_bound"][metric]
        assert bound["lower"] <= truth <= bound["upper"], (metric, truth, bound)
        if truth < 1000:
            assert doc["distinct"][metric] == truth, metric
        else:
            assert abs(doc["distinct"][metric] - truth) <= 0.02 * truth, (metric, truth)


def test_whole_life_matches_the_tally(campaign):
    api, key, _, events = campaign
    doc = report(api, key)
    assert doc["range"]["whole_life"] is True and doc["has_data"] is True
    want = Tally(events)
    check_against(doc, want)
    assert len(want.profiles["targeted"]) == PROFILES
    assert sum(sum(v) for v in doc["series"]["values"].values()) == want.totals["open"] + want.totals["click"]
    assert sum(doc["series"]["values"]["click"]) == want.totals["click"]
    assert doc["series"]["step_seconds"] == 86400
    # bounded reads: days, not hours x metrics. The first read after a day closes builds its
    # day sketches from its hours (and marks it); later reads take one sketch per day and metric.
    again = report(api, key)
    assert again["distinct"] == doc["distinct"] and again["totals"] == doc["totals"]
    print("global whole-life read cost: first", doc["read_cost"], "then", again["read_cost"])
    assert again["read_cost"]["items"] < 60, again["read_cost"]
    d_open, d_click = doc["distinct"]["open"], doc["distinct"]["click"]
    assert doc["rates"]["reactivity"] == pytest.approx(d_click / d_open, abs=1e-6)
    assert doc["blocks"]["click_streams"]["distinct_click"] == d_click


def test_date_range_in_a_time_zone(campaign):
    api, key, start, events = campaign
    paris = ZoneInfo("Europe/Paris")
    day = (start + timedelta(days=1, hours=10)).astimezone(paris).date()
    doc = report(api, key, **{"from": day.isoformat(), "to": day.isoformat(), "tz": "Europe/Paris"})
    lo = datetime(day.year, day.month, day.day, tzinfo=paris)
    hi = lo + timedelta(days=1)
    assert doc["range"]["resolved_start"] == lo.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    check_against(doc, Tally(events, lo, hi), whole_utc_days(events, lo, hi))
    assert doc["series"]["step_seconds"] == 3600 and len(doc["series"]["timestamps"]) == 24


def test_hour_aligned_datetimes_are_exact_and_end_exclusive(campaign):
    api, key, start, events = campaign
    lo, hi = start + timedelta(hours=12), start + timedelta(hours=13)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    doc = report(api, key, **{"from": lo.strftime(fmt), "to": hi.strftime(fmt)})
    want = Tally(events, lo, hi)
    check_against(doc, want, whole_utc_days(events, lo, hi))
    assert len(want.profiles["open"]) < 1000  # the "exact when small" branch is exercised


def test_a_range_with_no_data_is_zeros_and_null_rates(campaign):
    api, key, _, _ = campaign
    doc = report(api, key, **{"from": "2020-01-01", "to": "2020-01-02"})
    assert doc["has_data"] is False
    assert set(doc["totals"].values()) == {0}
    assert all(v is None for v in doc["rates"].values())
    assert doc["top_links"] == [] and doc["by_domain"] == [] and doc["errors_by_type"] == []


def test_another_workspace_sees_nothing(campaign):
    api, _, _, _ = campaign
    other = api.key("initech", ("read",))
    doc = report(api, other)
    assert doc["has_data"] is False and doc["distinct"]["open"] == 0


def test_bad_ranges_are_400(campaign):
    api, key, _, _ = campaign
    for query in ("from=2026-11-20&to=2026-11-19", "from=yesterday", "tz=Mars/Olympus", "channel=web"):
        r = api.get(f"/v1/campaigns/{CAMPAIGN}/report?channel=email&{query}".replace("channel=email&channel", "channel"), key)
        assert r.status_code == 400, query
        assert json.loads(r.body)["error"]["message"]


def test_csv_export_of_the_global_report(campaign):
    api, key, _, events = campaign
    r = api.get(f"/v1/campaigns/{CAMPAIGN}/report.csv?channel=email", key)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    text = r.body.decode()
    top = Tally(events).urls.most_common(1)[0]
    assert f"{top[0]},{top[1]}" in text
    # the file says what it covers: workspace, campaign, report, and a day range in the zone it was read in
    day = (datetime.now(ZoneInfo("Europe/Paris")) - timedelta(days=1)).date().isoformat()
    r = api.get(f"/v1/campaigns/{CAMPAIGN}/report.csv?channel=email&from={day}&to={day}&tz=Europe/Paris", key)
    rows = list(csv.reader(io.StringIO(r.body.decode())))
    assert rows[:2] == [["context"], ["field", "value"]]
    context = dict(rows[2:rows.index([])])
    assert {k: context[k] for k in ("workspace", "campaign", "report", "channel", "time_zone")} == {
        "workspace": "globex", "campaign": CAMPAIGN, "report": "global", "channel": "email", "time_zone": "Europe/Paris"}
    start, end = (datetime.fromisoformat(context[k]) for k in ("period_start", "period_end"))
    assert start.isoformat().startswith(f"{day}T00:00:00+0") and start.utcoffset() == ZoneInfo("Europe/Paris").utcoffset(start)
    assert end > start and "whole_life" not in context


@pytest.mark.parametrize("day, hours", [("2026-03-29", 23), ("2026-10-25", 25), ("2026-11-25", 24)])
def test_dst_days_are_whole_local_days(day, hours):
    paris = ZoneInfo("Europe/Paris")
    q = global_query("w", "c", "email", day, day, "Europe/Paris")
    assert (q.end - q.start) == timedelta(hours=hours)
    assert q.start == parse_bound(day, paris, False)
    assert q.start.astimezone(paris).hour == 0 and q.end.astimezone(paris).hour == 0


def test_to_before_from_is_rejected():
    with pytest.raises(RangeError):
        global_query("w", "c", "email", "2026-11-20", "2026-11-19", "UTC")
    with pytest.raises(RangeError):
        global_query("w", "c", "email", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z", "UTC")


def test_a_young_campaign_charts_hourly_activity_where_it_happened(module_api):
    """Whole life under two days: the chart is hourly and each hour holds its own events."""
    now = datetime.now(timezone.utc)
    times = [now - timedelta(minutes=m) for m in (150, 95, 94, 20)]
    events = [{"event_id": f"y{i}", "timestamp": t.isoformat(), "campaign_id": "young", "channel": "email",
               "type": "open", "profile_id": f"p{i}", "recipient_domain": "example.com"} for i, t in enumerate(times)]
    api, key = module_api, module_api.key("young-workspace")
    assert json.loads(api.post_events(events, key=key).body)["accepted"] == 4
    doc = json.loads(api.get("/v1/campaigns/young/report?channel=email", key).body)
    series = doc["series"]
    assert series["step_seconds"] == 3600
    by_slot = dict(zip(series["timestamps"], series["values"]["open"]))
    want = Counter(hour_floor(t).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times)
    assert {k: v for k, v in by_slot.items() if v} == dict(want)

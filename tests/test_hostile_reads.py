"""Hostile report parameters: bounded work, the same numbers (DESIGN invariant 10).

Each hostile request is compared with a normal request over the same data:
the numbers must be equal, and so must the DynamoDB requests and items read
(counted by a hook on the client, not by the clock). A range is clamped to the
campaign's life (its first data to now + 5 minutes) or refused with a 400
before anything is read; no read touches a bucket after the horizon.
"""
from __future__ import annotations

import json
import time
import types
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from chalicelib import buckets, tables
from chalicelib.reports import ranges

CAMPAIGN = "hostile"
WS = "hostile-ws"
DOMAINS = ["gmail.com", "orange.fr", "yahoo.fr"]
EXECUTIONS = ["run-a", "run-b", None]
HOURS = 70
ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(ISO)


class Reads:
    """Every DynamoDB request that names the campaign (the key lookup does not), and the items it returned."""

    def __init__(self, client, marker: str) -> None:
        self.client, self.marker = client, marker
        self.calls: list[tuple[str, dict]] = []
        self.items = 0
        self._mine = False

    def _before(self, params, model, **_):
        self._mine = self.marker in json.dumps(params, default=str)
        if self._mine:
            self.calls.append((model.name, dict(params)))

    def _after(self, parsed, model, **_):
        if self._mine:
            self.items += len(parsed.get("Items", [])) + (1 if parsed.get("Item") else 0)

    def __enter__(self) -> "Reads":
        self.client.meta.events.register("provide-client-params.dynamodb.*", self._before)
        self.client.meta.events.register("after-call.dynamodb.*", self._after)
        return self

    def __exit__(self, *exc) -> None:
        self.client.meta.events.unregister("provide-client-params.dynamodb.*", self._before)
        self.client.meta.events.unregister("after-call.dynamodb.*", self._after)

    @property
    def requests(self) -> int:
        return len(self.calls)

    def cost(self) -> tuple[int, int]:
        return self.requests, self.items


def _bucket_start(key: str) -> int | None:
    """Start of the bucket a sort key or rollup key names (None for a bare prefix such as `D#`)."""
    parts = key.split("#")
    if len(parts) < 2 or not parts[1][:1].isdigit():
        return None
    digits = parts[1]
    gran = {8: tables.DAY, 10: tables.HOUR, 12: tables.MINUTE}[len(digits)]
    return buckets.bucket_start(gran, digits)


def assert_within_life(reads: Reads, first_day: int, now: float) -> None:
    """No request reads a bucket starting at or after the horizon, nor one ending before the first data day."""
    edge = buckets.horizon(now)
    for op, params in reads.calls:
        values = params.get("ExpressionAttributeValues", {})
        if op == "Query" and ":lo" in values:  # a bucket range (other queries list settings or campaigns)
            lo, hi = _bucket_start(values[":lo"]["S"]), _bucket_start(values[":hi"]["S"])
            if hi is not None:
                assert hi < edge, ("read after the horizon", values[":hi"]["S"], iso(edge))
            if lo is not None:
                assert lo >= first_day, ("read before the first data", values[":lo"]["S"])
        elif op == "GetItem" and params["Key"][tables.PK]["S"].startswith("ROLLUP#"):
            hour = _bucket_start(params["Key"][tables.PK]["S"].split("#", 1)[1])
            assert hour is not None and first_day <= hour < edge, params["Key"]


@pytest.fixture(scope="module")
def data(module_api):
    """70 hours of a small campaign (three executions, three domains), ingested in time order."""
    api = module_api
    now = time.time()
    start = int(now) - int(now) % 3600 - HOURS * 3600
    events = []
    for h in range(HOURS):
        for k in range(3):
            ts = start + h * 3600 + k * 900 + 60
            p, domain, execution = f"p{h}-{k}", DOMAINS[(h + k) % 3], EXECUTIONS[(h + k) % 3]
            base = {"campaign_id": CAMPAIGN, "channel": "email", "profile_id": p, "recipient_domain": domain,
                    "variant": "A" if (h + k) % 2 else "B", **({"execution_id": execution} if execution else {})}
            kinds = ["targeted", "sent", "delivered"] + (["open"] if k else []) + (["click"] if k == 2 else [])
            for n, kind in enumerate(kinds):
                events.append({**base, "event_id": f"e{h}-{k}-{n}", "type": kind,
                               "timestamp": datetime.fromtimestamp(ts + n * 30, timezone.utc).isoformat(),
                               **({"url": "https://shop.example.com/a"} if kind == "click" else {})})
    key = api.key(WS, ("ingest", "read", "admin"))
    real_clock = api.wired.ingest.clock
    try:
        for i in range(0, len(events), 100):
            batch = events[i:i + 100]
            last = datetime.fromisoformat(batch[-1]["timestamp"]).timestamp()
            api.wired.ingest.clock = lambda last=last: last + 1
            assert json.loads(api.post_events(batch, key=key).body)["rejected"] == []
    finally:
        api.wired.ingest.clock = real_clock
    first_day = start - start % 86400
    return types.SimpleNamespace(api=api, key=key, now=now, start=start, first_day=first_day, events=events)


@pytest.fixture
def frozen(data, monkeypatch):
    """The app's clock stands still: two requests compared resolve against the same now."""
    import app as app_module
    monkeypatch.setattr(app_module, "time", types.SimpleNamespace(time=lambda: data.now,
                                                                  perf_counter=time.perf_counter))
    return data


def get(data, query: str, path: str = "report"):
    with Reads(data.api.wired.client, CAMPAIGN) as reads:
        r = data.api.get(f"/v1/campaigns/{CAMPAIGN}/{path}?{query}", data.key)
    return r, reads


def report(data, query: str = "") -> tuple[dict, Reads]:
    r, reads = get(data, "channel=email" + (f"&{query}" if query else ""))
    assert r.status_code == 200, r.body
    return json.loads(r.body), reads


def refused(data, query: str, needle: str, path: str = "report") -> None:
    r, reads = get(data, query, path)
    assert r.status_code == 400, (query, r.body)
    error = json.loads(r.body)["error"]
    assert error["code"] == "invalid_request" and needle in error["message"], (query, error)
    assert reads.requests == 0, (query, reads.calls)


def numbers(doc: dict) -> dict:
    """Everything a reader sees except what says how it was asked and read."""
    return {k: v for k, v in doc.items() if k not in ("range", "read_cost")}


def tally(events: list[dict], lo: int, hi: int) -> Counter:
    return Counter(e["type"] for e in events if lo <= datetime.fromisoformat(e["timestamp"]).timestamp() < hi)


def day(epoch: float, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(tz)).date().isoformat()


# --- far future, far past, both ---

def test_an_end_in_the_future_reads_up_to_now(frozen):
    data = frozen
    normal, normal_reads = report(data, f"from={day(data.first_day)}")
    future = day(data.now + 200 * 86400)
    doc, reads = report(data, f"from={day(data.first_day)}&to={future}")
    assert numbers(doc) == numbers(normal) and doc["has_data"]
    assert doc["totals"]["sent"] == tally(data.events, 0, 2**40)["sent"] == HOURS * 3
    rng = doc["range"]
    assert rng["to"] == iso(datetime.fromisoformat(f"{future}T00:00:00+00:00").timestamp() + 86400)  # as asked
    assert rng["resolved_end"] == iso(buckets.horizon(data.now)) == normal["range"]["resolved_end"]
    assert rng["clamped"] == {"start": None, "end": "now"}
    assert reads.cost() == normal_reads.cost()
    assert_within_life(reads, data.first_day, data.now)


def test_far_future_bounds_are_refused_before_any_read(frozen):
    for query in ("to=2100-12-31", "to=9999-12-31", "from=2100-01-01", "to=2100-01-01T00:00:00Z",
                  f"to={day(frozen.now + 400 * 86400)}"):
        refused(frozen, f"channel=email&{query}", "a year ahead")


def test_a_start_before_the_first_data_reads_from_it(frozen):
    data = frozen
    whole, whole_reads = report(data)
    for query in ("from=2000-01-01", f"from=2000-01-01&to={day(data.now + 300 * 86400)}",
                  "from=2000-01-01T00:00:00Z"):
        doc, reads = report(data, query)
        assert numbers(doc) == numbers(whole), query
        rng = doc["range"]
        assert rng["resolved_start"] == iso(data.first_day) == whole["range"]["resolved_start"]
        assert rng["resolved_end"] == whole["range"]["resolved_end"]
        assert rng["clamped"]["start"] == "first_data" and rng["whole_life"] is False
        assert reads.cost() == whole_reads.cost(), query
        assert_within_life(reads, data.first_day, data.now)
    assert whole["range"]["clamped"] == {"start": None, "end": None}
    assert whole["series"]["step_seconds"] == 86400 and len(whole["series"]["timestamps"]) <= 5


def test_a_past_range_before_the_data_is_the_same_as_from_the_first_day(frozen):
    data = frozen
    yesterday = day(data.now - 86400)
    normal, normal_reads = report(data, f"from={day(data.first_day)}&to={yesterday}")
    doc, reads = report(data, f"from=2003-02-01&to={yesterday}")
    assert numbers(doc) == numbers(normal)
    lo = data.first_day
    hi = int(datetime.fromisoformat(f"{yesterday}T00:00:00+00:00").timestamp()) + 86400
    assert doc["totals"]["open"] == tally(data.events, lo, hi)["open"] > 0
    assert reads.cost() == normal_reads.cost()


def test_years_before_2000_are_refused_before_any_read(frozen):
    for query in ("from=1000-01-01", "from=0001-01-01", "from=1999-12-31T23:00:00Z", "to=1999-12-31",
                  "from=1000-01-01&to=2100-12-31"):
        refused(frozen, f"channel=email&{query}", "before 2000")


def test_reversed_empty_and_malformed_ranges_are_refused(frozen):
    today, yesterday = day(frozen.now), day(frozen.now - 86400)
    refused(frozen, f"channel=email&from={today}&to={yesterday}", "after from")
    refused(frozen, "channel=email&from=2026-11-20T10:00:00Z&to=2026-11-20T10:00:00Z", "after from")
    # Samoa skipped 30 December 2011 when it crossed the date line: that day holds no time
    refused(frozen, "channel=email&from=2011-12-30&to=2011-12-30&tz=Pacific/Apia", "skipped")
    for bad in ("yesterday", "2026-13-01", "2026-02-30", "1" * 200, "2026-11-20T25:00:00Z", "%00"):
        refused(frozen, f"channel=email&from={bad}", "ISO date")


def test_ranges_outside_the_life_read_nothing_but_where_the_life_starts(frozen):
    data = frozen
    for query in ("from=2020-01-01&to=2020-01-31",
                  f"from={day(data.now + 10 * 86400)}&to={day(data.now + 20 * 86400)}"):
        doc, reads = report(data, query)
        assert doc["has_data"] is False and set(doc["totals"].values()) == {0}, query
        rng = doc["range"]
        assert rng["resolved_start"] == rng["resolved_end"], query
        assert doc["series"]["timestamps"] == [] and doc["series"]["values"] == {"open": [], "click": []}
        # only the three one-item reads that find the first data (and the campaign's currency)
        queries = [p for op, p in reads.calls if op == "Query"]
        others = [p["Key"][tables.PK]["S"] for op, p in reads.calls if op != "Query"]
        assert len(queries) == 3 and all(p["Limit"] == 1 for p in queries), reads.calls
        assert others == [tables.currency_pk(WS)], others
        assert reads.items <= 3


# --- time zones ---

@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Etc/GMT+12", "Pacific/Apia", "America/St_Johns"])
def test_a_day_in_a_far_zone_is_that_day_in_utc(frozen, tz):
    """UTC+14, UTC-12 (the two sides of the date line) and a half-hour zone: a local day
    reads what the same instants read in UTC, rounded out to whole hours, and says so."""
    data = frozen
    local = day(data.now - 30 * 3600, tz)
    start = datetime.fromisoformat(f"{local}T00:00:00").replace(tzinfo=ZoneInfo(tz))
    lo, hi = int(start.timestamp()), int((start + timedelta(days=1)).timestamp())
    lo_hour, hi_hour = lo - lo % 3600, hi + (-hi) % 3600
    doc, reads = report(data, f"from={local}&to={local}&tz={quote(tz)}")
    utc, utc_reads = report(data, f"from={iso(lo_hour)}&to={iso(hi_hour)}")
    assert numbers(doc) == numbers(utc)
    assert doc["range"]["from"] == iso(lo) and doc["range"]["tz"] == tz
    assert (doc["range"]["resolved_start"], doc["range"]["resolved_end"]) == (iso(lo_hour), iso(min(hi_hour, buckets.horizon(data.now))))
    assert doc["totals"]["sent"] == tally(data.events, lo_hour, hi_hour)["sent"]
    assert reads.cost() == utc_reads.cost()


def test_unknown_or_tricky_zones_are_refused_before_any_read(frozen):
    for tz in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "localtime", "<script>", "x" * 3000,
               "UTC+5", "Europe/Paris%00"):
        refused(frozen, f"channel=email&tz={quote(tz, safe='%')}", "unknown time zone")


# --- executions, query strings, options ---

def test_a_hundred_executions_read_what_two_do(frozen):
    data = frozen
    two, two_reads = report(data, "execution=run-a&execution=run-b")
    many = "&".join(["execution=run-a", "execution=run-b"] + [f"execution=nope-{i}" for i in range(98)])
    doc, reads = report(data, many)
    assert numbers(doc) == numbers(two) and doc["totals"]["sent"] == 2 * HOURS
    assert reads.cost() == two_reads.cost()
    refused(data, many + "&execution=one-too-many&channel=email", "at most 100")
    refused(data, many + "&execution=one-too-many&channel=email", "at most 100", "live")
    live, _ = get(data, many + "&channel=email", "live")
    assert live.status_code == 200 and json.loads(live.body)["totals"]["sent"] > 0


def test_huge_query_strings_are_refused_on_every_route(frozen):
    data = frozen
    long_value, many_values = "a" * 9000, "&".join(f"v{i}=1" for i in range(201))
    for path in (f"/v1/campaigns/{CAMPAIGN}/report?channel=email", f"/v1/campaigns/{CAMPAIGN}/live?channel=email",
                 f"/v1/campaigns/{CAMPAIGN}/experiment?channel=email", f"/v1/campaigns/{CAMPAIGN}/report.csv?channel=email",
                 "/v1/alerts?channel=email", "/v1/audit?limit=5", "/v1/campaigns?x=1"):
        for extra in (f"junk={long_value}", many_values):
            with Reads(data.api.wired.client, CAMPAIGN) as reads:
                r = data.api.get(f"{path}&{extra}", data.key)
            assert r.status_code == 400, (path, r.body[:200])
            assert "query string" in json.loads(r.body)["error"]["message"]
            assert reads.requests == 0


def test_unknown_options_are_refused(frozen):
    refused(frozen, "channel=email&compare=next", "compare")
    refused(frozen, "channel=email&format=xml", "format")
    refused(frozen, "channel=email&window=48h", "window", "live")
    refused(frozen, "channel=email&window=99999h", "window", "live")


def test_the_previous_period_of_a_future_end_is_as_long_as_what_was_read(frozen):
    data = frozen
    since = iso(data.now - data.now % 3600 - 20 * 3600)  # the previous period stays within the data
    doc, reads = report(data, f"from={since}&to={day(data.now + 100 * 86400)}&compare=previous")
    normal, normal_reads = report(data, f"from={since}&compare=previous")
    assert numbers(doc) == numbers(normal) and reads.cost() == normal_reads.cost()
    rng, prev = doc["range"], doc["previous"]["period"]
    length = datetime.fromisoformat(rng["resolved_end"]).timestamp() - datetime.fromisoformat(rng["resolved_start"]).timestamp()
    prev_length = datetime.fromisoformat(prev["end"]).timestamp() - datetime.fromisoformat(prev["start"]).timestamp()
    assert prev["end"] == rng["resolved_start"] and abs(prev_length - length) <= 1800
    lo, hi = (int(datetime.fromisoformat(prev[k]).timestamp()) for k in ("start", "end"))
    assert doc["previous"]["totals"]["sent"] == tally(data.events, lo, hi)["sent"] > 0
    assert_within_life(reads, data.first_day, data.now)


def test_csv_of_a_hostile_range_says_what_it_read(frozen):
    data = frozen
    r, reads = get(data, f"channel=email&from=2000-01-01&to={day(data.now + 300 * 86400)}", "report.csv")
    assert r.status_code == 200
    rows = [line.split(",") for line in r.body.decode().splitlines()]
    context = {row[0]: row[1] for row in rows[2:rows.index([""])]}
    assert datetime.fromisoformat(context["period_start"]).timestamp() == data.first_day
    assert datetime.fromisoformat(context["period_end"]).timestamp() == buckets.horizon(data.now)
    assert_within_life(reads, data.first_day, data.now)


# --- a long life: series steps and the maximum range ---

@pytest.fixture(scope="module")
def long_life(data):
    """Day roll-ups of 800 days of a campaign (written as the rollup would): 5 sent, 3 opens, 1 click a day."""
    api, client = data.api, data.api.wired.client
    today = int(data.now) - int(data.now) % 86400
    pk = tables.counter_pk(WS, "old-timer", "email")
    days = [today - n * 86400 for n in range(1, 801)]
    for d in days:
        client.put_item(TableName=api.wired.config.table_name, Item={
            tables.PK: {"S": pk}, tables.SK: {"S": tables.counter_sk(tables.DAY, buckets.bucket_of(tables.DAY, d), "_")},
            "sent": {"N": "5"}, "open": {"N": "3"}, "click": {"N": "1"}})
    return types.SimpleNamespace(days=days, today=today)


def old_timer(data, query: str = "") -> dict:
    r = data.api.get(f"/v1/campaigns/old-timer/report?channel=email{query}", data.key)
    assert r.status_code == 200, r.body
    return json.loads(r.body)


def test_a_long_whole_life_reads_the_last_two_years_in_weekly_steps(frozen, long_life):
    doc = old_timer(frozen)
    rng, series = doc["range"], doc["series"]
    assert rng["whole_life"] is True and rng["clamped"] == {"start": "max_range", "end": None}
    start = datetime.fromisoformat(rng["resolved_start"]).timestamp()
    assert start % 86400 == 0 and buckets.horizon(frozen.now) - start <= ranges.MAX_RANGE_DAYS * 86400
    kept = [d for d in long_life.days if d >= start]
    assert doc["totals"]["sent"] == 5 * len(kept) and len(kept) >= ranges.MAX_RANGE_DAYS - 2
    assert series["step_seconds"] == 7 * 86400 and len(series["timestamps"]) <= 106
    assert sum(series["values"]["open"]) == 3 * len(kept) and sum(series["values"]["click"]) == len(kept)
    first = datetime.fromisoformat(series["timestamps"][0])
    assert first.weekday() == 0 and first.timestamp() <= start  # weeks start on Mondays (UTC)


@pytest.mark.parametrize("days", [40, 365, 367, 700])
def test_series_steps_keep_the_series_short(frozen, long_life, days):
    since = day(long_life.today - days * 86400)
    doc = old_timer(frozen, f"&from={since}")
    series = doc["series"]
    span = buckets.horizon(frozen.now) - datetime.fromisoformat(doc["range"]["resolved_start"]).timestamp()
    assert series["step_seconds"] == ranges.series_step(int(span))
    assert series["step_seconds"] == {40: 86400, 700: 7 * 86400}.get(days, series["step_seconds"])
    assert len(series["timestamps"]) <= ranges.MAX_SERIES_SLOTS
    assert sum(series["values"]["open"]) == doc["totals"]["open"] == 3 * days


def test_an_explicit_range_longer_than_the_maximum_is_refused(frozen, long_life):
    since = day(long_life.today - 800 * 86400)
    r = frozen.api.get(f"/v1/campaigns/old-timer/report?channel=email&from={since}", frozen.key)
    assert r.status_code == 400
    assert "at most 731 days" in json.loads(r.body)["error"]["message"]
    r = frozen.api.get("/v1/campaigns/old-timer/report?channel=email&from=2000-01-01", frozen.key)
    assert r.status_code == 400  # clamped to the first data, still 800 days: ask a shorter range


# --- the resolution and the plans, property by property ---

def test_resolution_stays_within_the_life_and_the_series_within_its_maximum():
    import random
    rng = random.Random(10)
    now = 1_796_000_000.0
    for _ in range(3000):
        first = None if rng.random() < 0.1 else int(now) - rng.randrange(0, 4 * 365 * 86400)
        a = datetime.fromtimestamp(int(now) + rng.randrange(-5 * 365 * 86400, 365 * 86400), timezone.utc)
        b = a + timedelta(seconds=rng.randrange(60, 3 * 365 * 86400))
        start, end = rng.choice([(None, None), (a, None), (None, b), (a, b)])
        try:
            r = ranges.resolve(start, end, first, now)
        except ranges.RangeError:
            assert start is not None
            continue
        assert r.end <= buckets.horizon(now) and r.slots <= ranges.MAX_SERIES_SLOTS
        if not r.empty:
            assert first is not None and r.start >= first - first % 86400 - 86400 and r.start % 3600 == 0
            assert r.end - r.start <= ranges.MAX_RANGE_DAYS * 86400
        else:
            assert r.slots == 0


def test_rolled_plans_never_reach_past_the_horizon():
    import random
    rng = random.Random(4)
    for _ in range(500):
        now = 1_796_000_000 + rng.randrange(0, 86400)
        start = now - rng.randrange(0, 10 * 86400)
        end = now + rng.randrange(0, 400 * 86400)
        plan = buckets.rolled_plan(buckets.plan(start, end, [tables.DAY, tables.HOUR]), now)
        edge = buckets.horizon(now)
        assert all(e <= edge + (-edge) % 3600 for _, _, e in plan), plan
        assert all(g != tables.DAY or e <= now for g, _, e in plan)


# --- the experiment report: its series is bounded too ---

def test_an_experiment_series_keeps_every_recent_minute_and_thins_older_looks():
    from chalicelib.experiments.report import MAX_SERIES_POINTS, shown_looks
    now = 1_796_000_000 - 1_796_000_000 % 3600
    hours = [(t, t + 3600, {}) for t in range(now - 3 * 365 * 86400, now - 86400, 3600)]
    minutes = [(t, t + 60, {}) for t in range(now - 86400, now, 60)]
    points = hours + minutes
    shown = shown_looks(points)
    assert len(shown) <= MAX_SERIES_POINTS
    assert set(range(len(hours), len(points))) <= shown  # every minute of the last 24 hours
    older = sorted(i for i in shown if i < len(hours))
    ends = [points[i][1] for i in older]
    assert len({e // (7 * 86400) for e in ends}) == len(ends)  # one look per week: the week's last
    assert all(points[i + 1][1] // (7 * 86400) != points[i][1] // (7 * 86400) for i in older if i + 1 < len(hours))
    assert shown_looks(points[:500]) == set(range(500))


def test_the_experiment_report_refuses_hostile_parameters(frozen):
    refused(frozen, "channel=email&metric=" + "x" * 500, "metric", "experiment")
    refused(frozen, "channel=fax", "channel", "experiment")


def test_the_experiment_report_reads_only_the_campaigns_life(frozen):
    data = frozen
    r, reads = get(data, "channel=email", "experiment")
    assert r.status_code == 200, r.body
    doc = json.loads(r.body)
    people = {v["variant"]: v["people"] for v in doc["variants"]}
    assert people == {"A": HOURS * 3 // 2, "B": HOURS * 3 // 2}
    assert 0 < len(doc["series"]) <= 2000
    assert_within_life(reads, data.first_day, time.time())

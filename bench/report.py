"""Report benchmark (issue 3): items read and wall time of the live and the
global report as a campaign grows from 10^4 to 10^7 events, against DuckDB
GROUP BY over the raw events of the same campaign, in the same run.

    .venv/bin/python bench/report.py [--quick] [--sizes 10000,1000000] [--json out.json]

How the campaigns are made (nothing goes through HTTP):

1. The event mix comes from infra/local/traffic.py (an email campaign's
   funnel: targeted, sent, delivered, bounces, opens, clicks, offers...). A
   sample is validated and normalised by the product (events.validate_batch);
   each distinct "signature" (type + every dimension field) gets its
   probability and its counter attributes, computed by the product's own
   aggregate() on one event of that signature.
2. For N events spread over 3 days (a daily rhythm), numpy draws per-minute
   event counts, then per-minute signature counts (multinomial), a timestamp
   inside the minute and a profile id per event. These arrays ARE the raw
   events: DuckDB gets them as a table, and the counters are built from them.
3. Counters: per minute, sum(count(signature) x attributes(signature)); hour
   and day items are the sums of their minutes, under the keys tables.py
   gives; written with the ingest path's UpdateItem expression
   (store.update_expression), one request per item, not in transactions
   (moto copies the whole table per transaction operation; the items are
   the same). Minute items older than their 26 h TTL are not
   written (DynamoDB would have deleted them; moto never does). Sketches
   (hour, day, per-domain day) are built from the same profile ids through
   the product's SketchStore.add / add_domains.
   Check: for the smallest campaign the same rows are turned into real Event
   objects and passed through aggregate(); its counters and profile sets must
   equal ours exactly (the run stops otherwise).
4. Reports: LiveReports (email tab, last 24 h) and GlobalReports (email,
   whole life, and a 48 h date range) against in-process moto; items read
   from their read_cost; read units priced by DynamoDB's rules
   (bench/_common.py); wall time split into time inside DynamoDB calls
   (moto: slow serialisation, not representative of DynamoDB) and the rest
   (the product's own folding and sketch unions).
5. DuckDB (in-memory, a flat table of N rows: timestamp, campaign, channel,
   type, profile and every dimension column) runs the GROUP BY queries a team
   would write for the same report blocks: totals, breakdowns, series,
   COUNT(DISTINCT profile) for opens/clicks (and per domain for the global
   report). Totals are compared with ours (must be equal); distinct counts
   give the sketches' observed error.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (sets sys.path and fake AWS env)

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import services, tables  # noqa: E402
from chalicelib.aggregate import aggregate  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.events import validate_batch  # noqa: E402
from chalicelib.reports.global_ import global_query  # noqa: E402
from chalicelib.reports.live import LiveQuery  # noqa: E402
from chalicelib.store import update_expression  # noqa: E402
from infra.local.traffic import Campaign, TrafficGenerator  # noqa: E402

from duck_baseline import compare_totals, duck_table, global_sql, live_sql, rel_err, run_duck  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 31, 30, tzinfo=timezone.utc)
NOW_TS = int(NOW.timestamp())
SPAN_MINUTES = 3 * 1440  # the campaign runs for the 3 days before NOW
FIRST_MINUTE = NOW_TS // 60 - SPAN_MINUTES + 1
MINUTE_TTL_S = 26 * 3600
WORKSPACE = "bench"
CHANNEL = "email"
TABLE = "bench-report"
SIG_FIELDS = ("type", "machine", "recipient_domain", "reason", "bounce_type", "error_type", "url", "offer_id",
              "action", "platform", "element", "interaction_type", "execution_id")


def identity_admit(campaign: str, dimension: str, values: set[str]) -> dict[str, str]:
    return {v: v for v in values}  # the mix has < 20 values per dimension: all under the caps


# ----------------------------------------------------------------------------- 1. the mix
class Mix:
    """Signatures of a validated, normalised email event sample and their counter attributes."""

    def __init__(self, sample: int = 60_000, seed: int = 5) -> None:
        gen = TrafficGenerator(seed=seed, profiles=10_000_000, prefix="mix")
        raw = list(gen.events(sample, NOW - timedelta(minutes=30), NOW, (Campaign("mix", (CHANNEL,)),)))
        events = []
        for i in range(0, len(raw), 5000):
            accepted, rejected = validate_batch(raw[i:i + 5000], NOW)
            assert not rejected, rejected[:3]
            events.extend(e for _, e in accepted)
        counts: dict[tuple, int] = defaultdict(int)
        rep = {}
        for ev in events:
            sig = tuple(getattr(ev, f) for f in SIG_FIELDS)
            counts[sig] += 1
            rep.setdefault(sig, ev)
        self.sigs = sorted(counts, key=lambda s: tuple(str(x) for x in s))
        self.p = np.array([counts[s] for s in self.sigs], dtype=float)
        self.p /= self.p.sum()
        self.rep = [rep[s] for s in self.sigs]
        # the product's own attribute vector of each signature (one event through aggregate)
        vectors = []
        for ev in self.rep:
            agg = aggregate(WORKSPACE, [ev], identity_admit)
            item = next(v for (pk, sk), v in agg.counters.items() if sk.startswith(tables.MINUTE + "#"))
            vectors.append(item)
        self.attrs = sorted({a for v in vectors for a in v})
        index = {a: i for i, a in enumerate(self.attrs)}
        self.V = np.zeros((len(self.sigs), len(self.attrs)), dtype=np.int64)
        for s, v in enumerate(vectors):
            for a, n in v.items():
                self.V[s, index[a]] = n
        self.type_of = np.array([s[0] for s in self.sigs])
        self.domain_of = [s[2] for s in self.sigs]


# ----------------------------------------------------------------------------- 2. raw events
class Campaign_:
    """N raw events of one email campaign (numpy columns), and their counters."""

    def __init__(self, mix: Mix, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.campaign_id = f"bench-{n:.0e}".replace("+", "")
        minutes = np.arange(FIRST_MINUTE, FIRST_MINUTE + SPAN_MINUTES)
        hour_of_day = (minutes % 1440) / 60.0
        weight = 1.0 + 0.8 * np.sin((hour_of_day - 9) / 24 * 2 * math.pi)  # busy afternoons, quiet nights
        per_minute = rng.multinomial(n, weight / weight.sum())
        self.counts = rng.multinomial(per_minute, mix.p)  # (minutes, signatures)
        flat = self.counts.ravel()
        n_sig = len(mix.sigs)
        self.sig = np.repeat(np.tile(np.arange(n_sig, dtype=np.int32), len(minutes)), flat)
        minute_of = np.repeat(np.repeat(minutes, n_sig), flat)
        self.ts = minute_of * 60 + rng.integers(0, 60, n)
        profiles = max(1000, n // 4)  # about one profile per funnel walk
        self.profile = rng.integers(0, profiles, n, dtype=np.int64)
        self.minutes = minutes
        self.minute_attrs = self.counts @ mix.V  # (minutes, attrs): the minute items' counters

    def pk(self) -> str:
        return tables.counter_pk(WORKSPACE, self.campaign_id, CHANNEL)

    def counters(self, mix: Mix, with_expired_minutes: bool = False) -> tuple[dict, set]:
        """{(pk, sk): {attr: n}} for minute, hour and day items; and the minute keys (TTL)."""
        pk = self.pk()
        out: dict[tuple[str, str], dict[str, int]] = {}
        minute_keys = set()

        def put(sk: str, row: np.ndarray) -> None:
            nz = np.nonzero(row)[0]
            if len(nz):
                out[(pk, sk)] = {mix.attrs[i]: int(row[i]) for i in nz}

        for gran, size in ((tables.HOUR, 60), (tables.DAY, 1440)):
            groups = self.minutes // size
            for g in np.unique(groups):
                row = self.minute_attrs[groups == g].sum(axis=0)
                bucket = datetime.fromtimestamp(int(g) * size * 60, tz=timezone.utc).strftime(tables.BUCKET_FORMATS[gran])
                put(tables.counter_sk(gran, bucket, tables.NO_EXECUTION), row)
        for i, m in enumerate(self.minutes):
            if not with_expired_minutes and m * 60 < NOW_TS - MINUTE_TTL_S:
                continue
            bucket = datetime.fromtimestamp(int(m) * 60, tz=timezone.utc).strftime(tables.BUCKET_FORMATS[tables.MINUTE])
            key = (pk, tables.counter_sk(tables.MINUTE, bucket, tables.NO_EXECUTION))
            before = len(out)
            put(key[1], self.minute_attrs[i])
            if len(out) > before:
                minute_keys.add(key)
        return out, minute_keys

    def profiles(self, mix: Mix) -> tuple[dict, dict]:
        """Profile sets as aggregate() would hand them to SketchStore (hour/day, per-domain day)."""
        pk = self.pk()
        types = mix.type_of[self.sig]
        hours = self.ts // 3600
        days = self.ts // 86400
        out: dict = {}
        for metric in ("targeted", "open", "click"):
            sel = types == metric
            for gran, keys, fmt, size in ((tables.HOUR, hours, "%Y%m%d%H", 3600), (tables.DAY, days, "%Y%m%d", 86400)):
                k, p = keys[sel], self.profile[sel]
                order = np.argsort(k, kind="stable")
                k, p = k[order], p[order]
                cuts = np.flatnonzero(np.diff(k)) + 1
                for ks, ps in zip(np.split(k, cuts), np.split(p, cuts)):
                    if len(ks):
                        bucket = datetime.fromtimestamp(int(ks[0]) * size, tz=timezone.utc).strftime(fmt)
                        out[(pk, gran, bucket, tables.NO_EXECUTION, metric)] = set(ps.tolist())
        domains = np.array([d or "" for d in mix.domain_of])[self.sig]
        dom: dict = {}
        for metric in ("open", "click"):
            sel = (types == metric) & (domains != "")
            for day in np.unique(days[sel]):
                sd = sel & (days == day)
                bucket = datetime.fromtimestamp(int(day) * 86400, tz=timezone.utc).strftime("%Y%m%d")
                for domain in np.unique(domains[sd]):
                    ids = set(self.profile[sd & (domains == domain)].tolist())
                    dom[(pk, bucket, tables.NO_EXECUTION, metric, str(domain))] = ids
        return out, dom


def check_against_aggregate(mix: Mix, camp: Campaign_) -> None:
    """The construction equals the product's aggregate() on the same events, exactly."""
    events = []
    for i in range(camp.n):
        ev = mix.rep[camp.sig[i]].model_copy(update={
            "event_id": f"e{i}", "campaign_id": camp.campaign_id, "profile_id": str(int(camp.profile[i])),
            "timestamp": datetime.fromtimestamp(int(camp.ts[i]), tz=timezone.utc)})
        events.append(ev)
    agg = aggregate(WORKSPACE, events, identity_admit)
    ours, _ = camp.counters(mix, with_expired_minutes=True)
    assert agg.counters == ours, "counter construction differs from aggregate()"
    hourday = {k: {int(x) for x in v} for k, v in agg.profiles.items() if k[1] in (tables.HOUR, tables.DAY)}
    mine, dom = camp.profiles(mix)
    assert hourday == mine, "profile sets differ from aggregate()"
    assert {k: {int(x) for x in v} for k, v in agg.domain_profiles.items()} == dom, "domain profile sets differ"


# ----------------------------------------------------------------------------- 3-4. DynamoDB side
def as_item(pk: str, sk: str, deltas: dict[str, int], ttl: int | None) -> dict:
    item = {tables.PK: {"S": pk}, tables.SK: {"S": sk}, **{a: {"N": str(n)} for a, n in deltas.items()}}
    if ttl is not None:
        item[tables.TTL_ATTRIBUTE] = {"N": str(ttl)}
    return item


def check_put_equals_add(client, counters: dict, minute_keys: set, count: int = 12) -> None:
    """The ingest path's UpdateItem (store.update_expression) on an empty key gives the same item as our PutItem."""
    for i, ((pk, sk), deltas) in enumerate(sorted(counters.items())[-count:]):
        ttl = NOW_TS + MINUTE_TTL_S if (pk, sk) in minute_keys else None
        a = {tables.PK: {"S": f"check-add#{i}"}, tables.SK: {"S": sk}}
        b = {tables.PK: {"S": f"check-put#{i}"}, tables.SK: {"S": sk}}
        client.update_item(TableName=TABLE, Key=a, **update_expression(deltas, ttl))
        client.put_item(TableName=TABLE, Item=as_item(b[tables.PK]["S"], sk, deltas, ttl))
        got_a = client.get_item(TableName=TABLE, Key=a)["Item"]
        got_b = client.get_item(TableName=TABLE, Key=b)["Item"]
        got_a.pop(tables.PK), got_b.pop(tables.PK)
        assert got_a == got_b, f"UpdateItem ADD and PutItem differ for {sk}"
        client.delete_item(TableName=TABLE, Key=a)
        client.delete_item(TableName=TABLE, Key=b)


def write_campaign(wired, mix: Mix, camp: Campaign_) -> dict:
    t0 = time.perf_counter()
    counters, minute_keys = camp.counters(mix)
    # The ingest path's own UpdateItem (store.update_expression: one ADD of every counter,
    # TTL on minute items), one request per item and outside transactions: the items come
    # out identical, and moto deep-copies the whole table for every operation of a
    # TransactWriteItems (moto/dynamodb/models/__init__.py, transact_write_items), which
    # made a 1,352-item load take 200 s and 1.9 GB.
    # Each item is written once, so ADD from nothing = the final values: a PutItem of that
    # item (moto parses a 150-clause UpdateExpression in ~100 ms). check_put_equals_add()
    # verifies on real items that the two give the same item.
    for (pk, sk), deltas in sorted(counters.items()):
        ttl = NOW_TS + MINUTE_TTL_S if (pk, sk) in minute_keys else None
        wired.client.put_item(TableName=TABLE, Item=as_item(pk, sk, deltas, ttl))
    profiles, dom = camp.profiles(mix)
    wired.sketches.add(profiles, NOW_TS)
    wired.sketches.add_domains(dom)
    wired.directory.record(WORKSPACE, {camp.campaign_id: ({CHANNEL}, int(camp.ts.max()))})
    sizes = [C.item_size({a: {"N": str(v)} for a, v in attrs.items()}) for attrs in counters.values()]
    return {"items": len(counters), "minute_items": len(minute_keys), "requests": len(counters),
            "sketch_items": len(profiles), "domain_sketch_items": len({k[1:4] for k in dom}),
            "max_counter_attr_bytes": max(sizes), "seconds": time.perf_counter() - t0}


def run_report(rec: C.Recorder, fn, repeats: int) -> dict:
    # The first read after a day closes builds that day's distinct sketches from its
    # hours (a one-off per day, sketches.py); measure the reads every later report pays.
    first = fn()["read_cost"]
    walls, inside, out = [], [], None
    for _ in range(repeats):
        rec.reset()
        t0 = time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        inside.append(rec.call_seconds)
    best = min(range(repeats), key=lambda i: walls[i])
    return {"doc": out, "wall": walls[best], "db": inside[best], "compute": walls[best] - inside[best],
            "rru": rec.total_rru(), "items": out["read_cost"]["items"], "queries": out["read_cost"]["queries"],
            "bytes": out["read_cost"]["bytes"], "first_items": first["items"]}


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10^4 and 10^5 events only, one repeat")
    ap.add_argument("--sizes", help="comma-separated event counts (default 10000,1000000,10000000)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per report, best kept (default 3, quick 1)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")] if args.sizes else \
        ([10_000, 100_000] if args.quick else [10_000, 1_000_000, 10_000_000])
    repeats = args.repeats or (1 if args.quick else 3)
    started = time.perf_counter()
    print(f"# bench/report.py  ({datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, duckdb {duckdb.__version__}, "
          f"python {sys.version.split()[0]})\n")
    mix = Mix()
    print(f"event mix: {len(mix.sigs)} signatures, {len(mix.attrs)} counter attributes (email channel)")

    results = []
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    with mock_aws():
        client, peek = C.moto_clients([TABLE])
        rec = C.Recorder(client, peek)
        rec.enabled = False
        wired = services.build(AppConfig(table_name=TABLE, region=C.REGION), client)
        for idx, n in enumerate(sizes):
            t0 = time.perf_counter()
            camp = Campaign_(mix, n, seed=100 + idx)
            gen_s = time.perf_counter() - t0
            if idx == 0:
                t0 = time.perf_counter()
                check_against_aggregate(mix, camp)
                print(f"check: counters and profile sets of the {n:,}-event campaign equal aggregate()'s "
                      f"({time.perf_counter() - t0:.1f} s)")
            if idx == 0:
                check_put_equals_add(client, *camp.counters(mix))
            load = write_campaign(wired, mix, camp)
            rec.enabled = True
            live = run_report(rec, lambda: wired.live.report(LiveQuery(WORKSPACE, camp.campaign_id, CHANNEL), NOW_TS),
                              repeats)
            whole = run_report(rec, lambda: wired.globals.report(
                global_query(WORKSPACE, camp.campaign_id, CHANNEL, None, None, None), NOW_TS), repeats)
            r_from = (NOW - timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")
            r_to = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
            ranged = run_report(rec, lambda: wired.globals.report(
                global_query(WORKSPACE, camp.campaign_id, CHANNEL, r_from, r_to, None), NOW_TS), repeats)
            rec.enabled = False

            t0 = time.perf_counter()
            duck_table(con, mix, camp, CHANNEL)
            duck_load_s = time.perf_counter() - t0
            lw_start = NOW_TS - NOW_TS % 60 + 60 - 86400
            d_live = run_duck(con, live_sql(camp, CHANNEL, lw_start, lw_start + 86400), repeats)
            d_whole = run_duck(con, global_sql(camp, CHANNEL), repeats)
            rng_start = int((NOW - timedelta(hours=48)).timestamp()) // 3600 * 3600  # ours: whole hours
            rng_end = -(-NOW_TS // 3600) * 3600
            d_range = run_duck(con, global_sql(camp, CHANNEL, rng_start, rng_end), repeats)

            checks = {
                "live totals": compare_totals(live["doc"]["totals"], d_live["results"]["totals"]),
                "global totals": compare_totals(whole["doc"]["totals"], d_whole["results"]["totals"]),
                "range totals": compare_totals(ranged["doc"]["totals"], d_range["results"]["totals"]),
            }
            d_open, d_click, _ = d_whole["results"]["distinct"][0]
            row = {"events": n, "campaign": camp.campaign_id, "gen_s": gen_s, "load": load,
                   "live": {k: v for k, v in live.items() if k != "doc"},
                   "global": {k: v for k, v in whole.items() if k != "doc"},
                   "range": {k: v for k, v in ranged.items() if k != "doc"},
                   "duck_live_s": d_live["wall"], "duck_global_s": d_whole["wall"], "duck_range_s": d_range["wall"],
                   "duck_rows_live_window": d_live["results"]["rows_in_window"], "duck_load_s": duck_load_s,
                   "checks": checks,
                   "distinct_err": {"open": rel_err(whole["doc"]["distinct"]["open"], d_open),
                                    "click": rel_err(whole["doc"]["distinct"]["click"], d_click)}}
            results.append(row)
            print(f"\n{n:,} events: generated in {gen_s:.1f} s; wrote {load['items']} counter items "
                  f"({load['minute_items']} minute), {load['sketch_items']} "
                  f"sketch + {load['domain_sketch_items']} domain-sketch items in {load['seconds']:.1f} s; "
                  f"largest counter item {load['max_counter_attr_bytes']:,} B; DuckDB table built in {duck_load_s:.1f} s")
            print(f"  exact totals equal DuckDB's: {checks}; distinct (whole life) vs exact: {row['distinct_err']}")
    con.close()

    def rep_rows(key: str, duck_key: str, rows_key: str | None) -> list[list]:
        out = []
        for r in results:
            x = r[key]
            out.append([f"{r['events']:,}", x["items"], x["first_items"], x["queries"], f"{x['bytes']:,}", f"{x['rru']:g}",
                        f"{1e3 * x['wall']:.0f}", f"{1e3 * x['db']:.0f}", f"{1e3 * x['compute']:.0f}",
                        f"{r[rows_key] if rows_key else r['events']:,}", f"{1e3 * r[duck_key]:.0f}"])
        return out

    headers = ["events", "items read", "first read", "queries", "bytes read", "RRU", "wall ms", "in moto ms", "compute ms",
               "DuckDB rows scanned", "DuckDB ms"]
    print("\n## live report (email tab, last 24 h)\n")
    print(C.fmt_table(headers, rep_rows("live", "duck_live_s", "duck_rows_live_window")))
    print("\n## global report (email, whole life: 3 days)\n")
    print(C.fmt_table(headers, rep_rows("global", "duck_global_s", None)))
    print("\n## global report (email, 48 h date range with hour edges)\n")
    print(C.fmt_table(headers, rep_rows("range", "duck_range_s", None)))
    print("\n'first read' = items read by the first report after days closed (it builds their day sketches once).")
    print("\nDuckDB 'rows scanned' = rows the queries filter: the campaign's events (live: those of the window, "
          "a lower bound, zone maps skip the rest since rows are in time order); DuckDB runs in memory, "
          f"{threads} threads.")
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()

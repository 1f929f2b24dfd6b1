"""Report benchmark (issue 3): items read and wall time of the live and the
global report as a campaign grows from 10^4 to 10^7 events, against DuckDB
GROUP BY over the raw events of the same campaign, in the same run.

    .venv/bin/python bench/report.py [--quick] [--sizes 10000,1000000] [--json out.json]

How the campaigns are made (nothing goes through HTTP):

1. The event mix comes from infra/local/traffic.py (an email campaign's
   funnel: targeted, sent, delivered, bounces, opens, clicks, offers...). A
   sample is validated and normalised by the product (events.validate_batch);
   each distinct "signature" (type + every dimension field) gets its
   probability.
2. For N events spread over 3 days (a daily rhythm), numpy draws per-minute
   event counts, then per-minute signature counts (multinomial), a timestamp
   inside the minute and a profile id per event. These arrays ARE the raw
   events: DuckDB gets them as a table, and the product gets them as stream
   records.
3. Loading = the product's own write path minus HTTP: the events become
   stream records (stream.compact/encode, 2,000 events a record, one request
   ledger commit per record) folded by the product's Aggregator in large
   folds (50 records = 100,000 events), then the product's Rollup rolls the
   closed hours and days (as its 1-minute schedule would have by NOW).
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

import boto3  # noqa: E402

from chalicelib import services, tables  # noqa: E402
from chalicelib.aggregator import FoldStats, RawRecord  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.events import validate_batch  # noqa: E402
from chalicelib.reports.global_ import global_query  # noqa: E402
from chalicelib.reports.live import LiveQuery  # noqa: E402
from chalicelib.stream import compact, encode  # noqa: E402
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
        self.base = [compact(ev) for ev in self.rep]  # the stream form of each signature
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

    def pk(self) -> str:
        return tables.counter_pk(WORKSPACE, self.campaign_id, CHANNEL)


# ----------------------------------------------------------------------------- 3-4. DynamoDB side
FOLD_RECORDS = 50  # records per fold: 100,000 events
EVENTS_PER_RECORD = 2000


def write_campaign(wired, mix: Mix, camp: Campaign_) -> dict:
    """The campaign's events through the product's stream records, Aggregator and Rollup."""
    t0 = time.perf_counter()
    order = np.argsort(camp.ts, kind="stable")
    records: list[bytes] = []
    ledger = wired.ingest.ledger
    for k in range(0, camp.n, EVENTS_PER_RECORD):
        idx = order[k:k + EVENTS_PER_RECORD]
        events = []
        for i in idx.tolist():
            ev = dict(mix.base[camp.sig[i]])
            ev.update(ts=int(camp.ts[i]), event_id=f"e{i}", campaign_id=camp.campaign_id,
                      profile_id=f"p{int(camp.profile[i])}")
            events.append(ev)
        received = float(max(e["ts"] for e in events)) + 1
        batch_id = f"load-{camp.campaign_id}-{k}"
        records += encode(WORKSPACE, batch_id, "a", received, events)
        ledger.commit(WORKSPACE, batch_id, batch_id, received, "a", {"accepted": len(events), "rejected": []},
                      received)
    stats = FoldStats()
    for f in range(0, len(records), FOLD_RECORDS):
        raws = [RawRecord(SEQ.next(), r) for r in records[f:f + FOLD_RECORDS]]
        wired.aggregator.process(STREAM, "shardId-000000000000", raws, stats)
    fold_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    roll = wired.rollup.run(NOW_TS)
    assert stats.events == camp.n, (stats.events, camp.n)
    return {"records": len(records), "folds": stats.folds, "chunks": stats.chunks, "ops": stats.ops,
            "hours_rolled": roll.hours_rolled, "days_rolled": roll.days_rolled, "fold_seconds": fold_s,
            "roll_seconds": time.perf_counter() - t1, "seconds": time.perf_counter() - t0}


class _Seq:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


SEQ = _Seq()
STREAM = "bench-report-stream"


def run_report(rec: C.Recorder, fn, repeats: int) -> dict:
    first = fn()["read_cost"]  # (nothing is built on read any more: first and later reads are alike)
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
    ap.add_argument("--sizes", help="comma-separated event counts (default 10000,1000000; quick 10000,100000)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per report, best kept (default 3, quick 1)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")] if args.sizes else \
        ([10_000, 100_000] if args.quick else [10_000, 1_000_000])
    repeats = args.repeats or (1 if args.quick else 3)
    started = time.perf_counter()
    print(f"# bench/report.py  ({datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, duckdb {duckdb.__version__}, "
          f"python {sys.version.split()[0]})\n")
    mix = Mix()
    print(f"event mix: {len(mix.sigs)} signatures (email channel)")

    results = []
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    C.speed_up_moto()
    with mock_aws():
        client, peek = C.moto_clients([TABLE])
        rec = C.Recorder(client, peek)
        rec.enabled = False
        wired = services.build(AppConfig(table_name=TABLE, region=C.REGION, stream_name=STREAM), client,
                               boto3.client("kinesis", region_name=C.REGION), clock=lambda: float(NOW_TS))
        for idx, n in enumerate(sizes):
            t0 = time.perf_counter()
            camp = Campaign_(mix, n, seed=100 + idx)
            gen_s = time.perf_counter() - t0
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
            print(f"\n{n:,} events: generated in {gen_s:.1f} s; {load['records']} stream records folded in "
                  f"{load['folds']} folds ({load['chunks']} transactions, {load['ops']} item writes) in "
                  f"{load['fold_seconds']:.1f} s; rollup: {load['hours_rolled']} hours, {load['days_rolled']} days in "
                  f"{load['roll_seconds']:.1f} s; DuckDB table built in {duck_load_s:.1f} s")
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
    print("\nDuckDB 'rows scanned' = rows the queries filter: the campaign's events (live: those of the window, "
          "a lower bound, zone maps skip the rest since rows are in time order); DuckDB runs in memory, "
          f"{threads} threads.")
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()

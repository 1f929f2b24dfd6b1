"""Ingest benchmark (issue 2): CPU throughput and DynamoDB write cost per event.

    .venv/bin/python bench/ingest.py [--quick] [--json out.json]

(a) events/s of the product's own validate_batch + aggregate on one core, for
    batches of 5,000 realistic events (infra/local/traffic.py), best and median
    of several runs; json.loads of the request body timed apart.
(b) WRU per event of IngestService.ingest for a 1,000-event realistic batch,
    against in-process moto, priced from the requests made (bench/_common.py),
    broken down by kind of item. Measured twice: into an empty table ("cold",
    a campaign's first batch) and after warm-up batches filled the hour/day
    counters and sketches of the same campaigns ("warm", steady state).
(c) the naive baseline on the same 1,000 events: one UpdateItem ADD per event
    on its per-minute counter item (type counter + the event's dimension
    counters, no transaction, no roll-ups, no exactly-once).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (sets sys.path and fake AWS env)

from moto import mock_aws  # noqa: E402

from chalicelib import catalogue, services, tables  # noqa: E402
from chalicelib.aggregate import DIM_SEP, aggregate, dim_attr  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib import events as events_mod  # noqa: E402
from chalicelib.events import validate_batch  # noqa: E402
from chalicelib.ingest import parse_body  # noqa: E402
from infra.local.traffic import TrafficGenerator  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 31, 30, tzinfo=timezone.utc)  # fixed: runs are reproducible;
# a 60 s batch ending here straddles two minutes (as real batches do) but not two hours
TARGET_EPS = 100_000
TARGET_WRU = 0.15
WRU_PRICE = 1.25 / 1_000_000  # $ per WRU, on-demand (eu-west-1 ~ us-east-1 list price)


def identity_admit(campaign: str, dimension: str, values: set[str]) -> dict[str, str]:
    """The guard's answer once its cache is warm and the caps have room (no I/O)."""
    return {v: v for v in values}


def make_events(gen: TrafficGenerator, count: int, start: datetime, end: datetime) -> list[dict]:
    return list(gen.events(count, start, end))[:count]


# ----------------------------------------------------------------------------- (a) CPU
def bench_cpu(batches: int, size: int) -> dict:
    # One thread = one core: nothing here runs in parallel (pydantic-core included).
    # Rates are per CPU-second of this thread (time.thread_time), so other work on
    # the machine does not count against us; wall time is printed beside it.
    clock = time.thread_time
    wall = []
    gen = TrafficGenerator(seed=1, profiles=200_000, prefix="cpu")
    bodies = []
    for i in range(batches):
        evs = make_events(gen, size, NOW - timedelta(minutes=5), NOW)
        bodies.append(json.dumps({"events": evs}).encode())
    parse_t, validate_t, aggregate_t = [], [], []
    split = {"pydantic-core (TypeAdapter)": [], "_check (rules)": [], "normalise": []}
    accepted_n = 0
    for body in bodies:
        gc.collect()
        w0 = time.perf_counter()
        t0 = clock()
        raw = parse_body(body)
        t1 = clock()
        accepted, rejected = validate_batch(raw, NOW)
        t2 = clock()
        agg = aggregate("ws", (e for _, e in accepted), identity_admit)
        t3 = clock()
        wall.append(time.perf_counter() - w0)
        assert not rejected, rejected[:3]
        accepted_n = len(accepted)
        parse_t.append(t1 - t0)
        validate_t.append(t2 - t1)
        aggregate_t.append(t3 - t2)
        _ = agg
        # where validate_batch's time goes (the same steps, timed apart)
        gc.collect()
        u0 = clock()
        parsed = list(events_mod._BATCH.validate_python(raw))
        u1 = clock()
        limits = events_mod.Limits()
        earliest, latest = NOW - limits.max_past, NOW + limits.max_future
        for ev in parsed:
            events_mod._check(ev, earliest, latest)
        u2 = clock()
        for ev in parsed:
            events_mod.normalise(ev)
        u3 = clock()
        for name, dt in zip(split, (u1 - u0, u2 - u1, u3 - u2)):
            split[name].append(dt)
    va = [v + a for v, a in zip(validate_t, aggregate_t)]
    pva = [p + x for p, x in zip(parse_t, va)]
    return {
        "batches": batches, "batch_size": size, "accepted_per_batch": accepted_n,
        "validate_eps_best": size / min(validate_t), "aggregate_eps_best": size / min(aggregate_t),
        "validate_aggregate_eps_best": size / min(va), "validate_aggregate_eps_median": size / statistics.median(va),
        "parse_validate_aggregate_eps_best": size / min(pva),
        "parse_validate_aggregate_eps_median": size / statistics.median(pva),
        "validate_split_ms_median": {k: 1e3 * statistics.median(v) for k, v in split.items()},
        "wall_parse_validate_aggregate_eps_median": size / statistics.median(wall),
        "ms_per_batch_median": {"json.loads": 1e3 * statistics.median(parse_t),
                                "validate_batch": 1e3 * statistics.median(validate_t),
                                "aggregate": 1e3 * statistics.median(aggregate_t)},
    }


# ----------------------------------------------------------------------------- (b) product WRU
def preload_sketches(wired, batch: list[dict], hour_profiles: int, day_profiles: int, domain_profiles: int) -> None:
    """Unmeasured: give every sketch the measured batch will touch the profiles a
    campaign in full swing has already seen this hour / today (through the
    product's own SketchStore), so the measured writes see full-size sketches."""
    accepted, _ = validate_batch(batch, NOW)
    agg = aggregate("bench", (e for _, e in accepted), identity_admit)
    profiles = {}
    for i, key in enumerate(sorted(agg.profiles)):
        n = hour_profiles if key[1] == tables.HOUR else day_profiles
        profiles[key] = {f"old{i}-{j}" for j in range(n)}
    wired.sketches.add(profiles, int(NOW.timestamp()))
    wired.sketches.add_domains({key: {f"oldd{i}-{j}" for j in range(domain_profiles)}
                                for i, key in enumerate(sorted(agg.domain_profiles))})


def product_run(warm_batches: int, batch: list[dict], warm_events: list[list[dict]],
                mature: tuple[int, int, int] | None = None) -> dict:
    """Ingest warm-up batches unmeasured, then the measured batch; price every request."""
    with mock_aws():
        client, peek = C.moto_clients(["bench-product"])
        rec = C.Recorder(client, peek)
        wired = services.build(AppConfig(table_name="bench-product", region=C.REGION), client)
        wired.ingest.clock = lambda: NOW.timestamp()
        rec.enabled = False
        t0 = time.perf_counter()
        for i, evs in enumerate(warm_events[:warm_batches]):
            out = wired.ingest.ingest("bench", json.dumps({"events": evs}).encode(), f"warm-{i}")
            assert not out.body["rejected"], out.body["rejected"][:3]
        if mature:
            preload_sketches(wired, batch, *mature)
        warm_s = time.perf_counter() - t0
        rec.enabled = True
        rec.reset()
        t0 = time.perf_counter()
        outcome = wired.ingest.ingest("bench", json.dumps({"events": batch}).encode(), "measured")
        ingest_s = time.perf_counter() - t0
        assert not outcome.body["rejected"], outcome.body["rejected"][:3]
        return {"accepted": outcome.body["accepted"], "wru": rec.total_wru(), "by_kind": rec.by_kind(),
                "rru": rec.total_rru(), "reads_by_kind": rec.reads_by_kind(), "calls": dict(rec.calls),
                "writes": len(rec.writes), "moto_seconds": ingest_s, "warm_seconds": warm_s,
                "warm_batches": warm_batches}


# ----------------------------------------------------------------------------- (c) naive WRU
def naive_run(batch: list[dict]) -> dict:
    """One UpdateItem ADD per event on its per-minute counter item."""
    accepted, rejected = validate_batch(batch, NOW)
    assert not rejected
    ttl = int(NOW.timestamp()) + 26 * 3600
    with mock_aws():
        client, peek = C.moto_clients(["bench-naive"])
        rec = C.Recorder(client, peek)
        t0 = time.perf_counter()
        for _, ev in accepted:
            minute = datetime.fromtimestamp(int(ev.timestamp.timestamp()) // 60 * 60, tz=timezone.utc)
            pk = tables.counter_pk("bench", ev.campaign_id, ev.channel)
            sk = tables.counter_sk(tables.MINUTE, minute.strftime("%Y%m%d%H%M"), ev.execution_id or tables.NO_EXECUTION)
            attrs = [ev.type] + (["open_machine"] if ev.type == "open" and ev.machine else [])
            for dim in catalogue.DIMENSIONS_BY_TYPE[ev.type]:
                if ev.channel in dim.channels:
                    value = getattr(ev, dim.field) or dim.default
                    if value is not None:
                        attrs.append(dim_attr(dim.name, ev.type, value))
            names = {f"#a{i}": a for i, a in enumerate(attrs)}
            names["#t"] = tables.TTL_ATTRIBUTE
            values = {":one": {"N": "1"}, ":ttl": {"N": str(ttl)}}
            client.update_item(
                TableName="bench-naive", Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="ADD " + ", ".join(f"#a{i} :one" for i in range(len(attrs))) + " SET #t = :ttl",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        seconds = time.perf_counter() - t0
        return {"accepted": len(accepted), "wru": rec.total_wru(), "by_kind": rec.by_kind(),
                "writes": len(rec.writes), "moto_seconds": seconds}


# ----------------------------------------------------------------------------- report
def kind_rows(result: dict, events: int) -> list[list]:
    rows = []
    for kind, row in sorted(result["by_kind"].items(), key=lambda kv: -kv[1]["wru"]):
        rows.append([kind, int(row["writes"]), int(row["wru"]), f"{row['wru'] / events:.3f}",
                     f"{row['sum_size'] / max(1, row['writes']):.0f}", int(row["max_size"])])
    rows.append(["**total**", result["writes"], result["wru"], f"**{result['wru'] / events:.3f}**", "", ""])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer CPU batches and warm-up batches")
    ap.add_argument("--batch", type=int, default=1000, help="events in the measured batch (default 1000)")
    ap.add_argument("--span", type=int, default=60, help="seconds of traffic one batch covers (default 60)")
    ap.add_argument("--warm", type=int, default=None, help="warm-up batches before the warm measurement")
    ap.add_argument("--profiles", type=int, default=200_000, help="profile population of the traffic")
    ap.add_argument("--only", choices=["cpu", "wru"], help="run only part (a) or only parts (b) and (c)")
    ap.add_argument("--cpu-batches", type=int, default=None, help="5,000-event batches for (a) (default 5, quick 3)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    warm = args.warm if args.warm is not None else (5 if args.quick else 30)
    started = time.perf_counter()

    print(f"# bench/ingest.py  ({datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"{os.cpu_count()} CPUs, python {sys.version.split()[0]})\n")
    results: dict = {}
    if args.only != "wru":
        results["cpu"] = report_cpu(args)
    if args.only != "cpu":
        results.update(report_wru(args, warm))
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


def report_cpu(args) -> dict:
    cpu = bench_cpu(args.cpu_batches or (3 if args.quick else 5), 5000)
    print("## (a) validate + aggregate, one core, batches of 5,000 realistic events\n")
    print(C.fmt_table(["step", "events per CPU-second (best)", "(median)"], [
        ["validate_batch (pydantic)", f"{cpu['validate_eps_best']:,.0f}", ""],
        ["aggregate", f"{cpu['aggregate_eps_best']:,.0f}", ""],
        ["**validate + aggregate**", f"**{cpu['validate_aggregate_eps_best']:,.0f}**",
         f"{cpu['validate_aggregate_eps_median']:,.0f}"],
        ["json.loads + validate + aggregate", f"{cpu['parse_validate_aggregate_eps_best']:,.0f}",
         f"{cpu['parse_validate_aggregate_eps_median']:,.0f}"],
    ]))
    ok = cpu["validate_aggregate_eps_best"] >= TARGET_EPS
    print(f"\nmedian ms per 5,000-event batch: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu["ms_per_batch_median"].items()))
    print(f"wall-clock rate of json.loads + validate + aggregate (median): "
          f"{cpu['wall_parse_validate_aggregate_eps_median']:,.0f} events/s (machine shared with other work)")
    print("inside validate_batch (median ms): " + ", ".join(f"{k} {v:.1f}" for k, v in cpu["validate_split_ms_median"].items()))
    print(f"target >= {TARGET_EPS:,} events/s/core: {'MET' if ok else 'MISSED'}\n")
    return cpu


def report_wru(args, warm: int) -> dict:

    # The traffic: one batch = `span` seconds of a realistic mix across the demo campaigns
    # (5 campaigns, 6 channels, recurring executions); warm-up batches cover the minutes before.
    gen = TrafficGenerator(seed=2, profiles=args.profiles, prefix="ev")
    span = timedelta(seconds=args.span)
    end = NOW
    warm_events = []
    for i in range(warm, 0, -1):
        warm_events.append(make_events(gen, args.batch, end - i * span - span, end - i * span))
    batch = make_events(gen, args.batch, end - span, end)

    cold = product_run(0, batch, [])
    hot = product_run(warm, batch, warm_events)
    mature = (5_000, 50_000, 1_000)
    full = product_run(warm, batch, warm_events, mature)
    naive = naive_run(batch)
    n = len(batch)

    print(f"## (b) product ingest, one {n:,}-event batch ({args.span} s of traffic), WRU by DynamoDB rules\n")
    for label, res in (("cold: first batch into an empty table", cold),
                       (f"warm: after {warm} earlier batches of the same campaigns", hot),
                       (f"mature: warm, and the touched sketches already hold {mature[0]:,} profiles "
                        f"this hour / {mature[1]:,} today ({mature[2]:,} per domain)", full)):
        print(f"### {label}\n")
        print(C.fmt_table(["kind", "writes", "WRU", "WRU/event", "avg item bytes", "max item bytes"],
                          kind_rows(res, n)))
        print(f"\nrequests: {res['calls']}; reads on the ingest path: {res['rru']:.1f} RRU "
              f"({', '.join(k + ' ' + format(v['rru'], '.1f') for k, v in res['reads_by_kind'].items())}); "
              f"moto wall {res['moto_seconds']:.2f} s\n")
    print("## (c) naive baseline: one UpdateItem ADD per event on its minute item\n")
    print(C.fmt_table(["kind", "writes", "WRU", "WRU/event", "avg item bytes", "max item bytes"], kind_rows(naive, n)))
    print()
    rows = []
    for label, res in (("product, cold", cold), ("product, warm", hot), ("product, mature sketches", full),
                       ("naive, 1 UpdateItem/event", naive)):
        rows.append([label, res["writes"], res["wru"], f"{res['wru'] / n:.3f}",
                     f"{res['wru'] / naive['wru']:.2f}", f"${res['wru'] / n * WRU_PRICE * 1e6:.3f}"])
    print("## summary\n")
    print(C.fmt_table(["run", "item writes", "WRU", "WRU/event", "vs naive", "$ per 1M events"], rows))
    for label, res in (("cold", cold), ("warm", hot), ("mature", full)):
        per = res["wru"] / n
        print(f"target <= {TARGET_WRU} WRU/event ({label}): {'MET' if per <= TARGET_WRU else 'MISSED'} ({per:.3f})")
    return {"cold": cold, "warm": hot, "mature": full, "naive": naive, "events": n, "span_s": args.span,
            "warm_batches": warm}


if __name__ == "__main__":
    main()

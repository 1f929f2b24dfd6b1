"""Ingest benchmark (issue 10): DynamoDB write units per event of the stream design
(ingest -> Kinesis -> aggregator -> rollup) against the previous direct-apply
design and a naive baseline, on the same generated events, in one run; and the
CPU cost of validate + aggregate.

    .venv/bin/python bench/ingest.py [--quick] [--windows 1,5] [--rate 200] [--only cpu|single|batch]
                                     [--json out.json]

Everything runs in-process against moto (DynamoDB and Kinesis). Request units
are priced by bench/_common.py's Recorder from the requests actually made:
every write at ceil(max(item size before, after) / 1 KB), x2 inside
TransactWriteItems; both images read back from moto around each write, so an
update is billed at the item's size *after that write* (not the final size).

(A) One event per request at a sustained `--rate` requests/s (default 200),
    for each batching window in `--windows` (default 1 s and 5 s: the event
    source mapping's MaximumBatchingWindowInSeconds; app.py sets 1 s):
    - ingest: every request through IngestService.ingest (ledger GetItem,
      PutRecords, conditional ledger PutItem), priced;
    - aggregator: every `window` seconds the shard's new records are handed
      to Aggregator.handle in Lambda's event shape (Services.pump): one fold
      per window, priced (counter minutes, sketch deltas, rollup work list,
      directory stamps, shard state, all in transactions);
    - rollup: Rollup.run every simulated minute (the 1-minute schedule), priced;
      after the measured minutes the rest of the hour is filled with the same
      traffic folded in 1-minute folds (unpriced, rollup still priced every
      minute), then the closed hour and the closed day are rolled (priced).
      Rollup WRU are amortised over the hour's events (rate x 3600) and the
      day roll over the day's (rate x 86,400).
    - previous design (git a2f11d8, loaded into a temporary package): the
      first `--old-requests` requests of the same measured events, one per
      request, after warm-up batches of the same campaigns (per-request cost
      does not depend on the arrival rate in that design, only on item sizes);
    - naive: one UpdateItem ADD per event on its minute item, for every
      measured event, priced by simulating the item sizes (exact same rules).
(B) 1,000-event requests, one a minute (each carries the previous 60 s of a
    producer's traffic): one request per fold, whatever the window. The new
    design runs a whole hour (60 requests, folds and rollups, then the hour
    and day rolls); the previous design is measured as bench/ingest.py did
    before (warm-up batches, then every touched sketch preloaded to 5,000
    profiles this hour / 50,000 today / 1,000 per domain: "mature"), on the
    first of the same batches; naive on the same batch.
(C) CPU: validate (ingest side) and aggregate (aggregator side) of 5,000-event
    batches, events per CPU-second (time.process_time), best of N.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (sets sys.path and fake AWS env)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import catalogue, services, tables  # noqa: E402
from chalicelib.aggregate import aggregate, dim_attr  # noqa: E402
from chalicelib.aggregator import Aggregator, _Fold  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.events import validate_batch  # noqa: E402
from chalicelib.ingest import parse_body  # noqa: E402
from chalicelib.store import StoreConfig  # noqa: E402
from chalicelib.stream import compact, create_stream, decode, encode  # noqa: E402
from infra.local.traffic import TrafficGenerator  # noqa: E402

C.speed_up_moto()

WS = "bench"
TABLE, STREAM = "bench-table", "bench-stream"
HOUR_START = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
MEASURE_START = HOUR_START + timedelta(minutes=5)  # measured minutes start here; warm-up just before
HOUR_END = HOUR_START + timedelta(hours=1)
DAY_END = datetime(2026, 11, 26, tzinfo=timezone.utc)
TARGET_SINGLE, TARGET_BATCH, TARGET_EPS = 1.5, 0.08, 150_000
ISSUE_OLD_SINGLE = 16.6  # the issue's figure (moto server log of make run), for reference only
WRU_PRICE = 1.25 / 1_000_000  # $ per on-demand WRU (us-east-1 list price)
RRU_PRICE = 0.25 / 1_000_000
# Kinesis Data Streams list prices assumed (us-east-1, on-demand / provisioned; check the current page):
KDS_OD_STREAM_HOUR, KDS_OD_GB_IN, KDS_OD_GB_OUT = 0.04, 0.08, 0.04
KDS_SHARD_HOUR, KDS_PUT_UNIT_PER_M = 0.015, 0.014



def begin_measurement(world, rec) -> None:
    """Forget the warm-up: folds, rolls, recorded writes and stream counters start from zero."""
    world.folds.clear()
    world.rolls.clear()
    rec.enabled = True
    rec.reset()
    world.wired.stream.records_put = world.wired.stream.bytes_put = 0


def ts_of(ev: dict) -> float:
    return datetime.fromisoformat(ev["timestamp"]).timestamp()


def gen_events(gen: TrafficGenerator, count: int, start: datetime, end: datetime) -> list[dict]:
    return sorted(list(gen.events(count, start, end))[:count], key=ts_of)


def identity_admit(*args: Any) -> dict[str, str]:
    return {v: v for v in args[-1]}


# ----------------------------------------------------------------------------- the new design in moto
class World:
    """Fresh moto DynamoDB table + 1-shard Kinesis stream, the product's services on a simulated clock."""

    def __init__(self) -> None:
        client, peek = C.moto_clients([TABLE])
        kinesis = boto3.client("kinesis", region_name=C.REGION)
        create_stream(kinesis, STREAM, 1)  # 200 records/s, < 1 MB/s: one shard
        self.now = HOUR_START.timestamp()
        self.rec = C.Recorder(client, peek)
        self.wired = services.build(AppConfig(table_name=TABLE, region=C.REGION, stream_name=STREAM),
                                    client, kinesis, clock=lambda: self.now)
        self.folds: list[dict] = []
        self.rolls: list[dict] = []

    def post(self, events: list[dict], at: float) -> None:
        self.now = at
        out = self.wired.ingest.ingest(WS, json.dumps({"events": events}).encode(), None)
        assert not out.body["rejected"], out.body["rejected"][:3]

    def put_synthetic(self, events: list[dict], at: float, tag: str) -> None:
        """A large request without HTTP parsing (fill traffic): validated, encoded, put, committed."""
        self.now = at
        accepted, rejected = validate_batch(events, datetime.fromtimestamp(at, tz=timezone.utc))
        assert not rejected, rejected[:3]
        ingest = self.wired.ingest
        records = encode(WS, tag, "a-" + tag, at, [compact(e) for _, e in accepted])
        ingest.stream.put(tag, records)
        ingest.ledger.commit(WS, tag, tag, at, "a-" + tag, {"accepted": len(accepted), "rejected": []}, at)

    def fold(self, at: float) -> None:
        self.now = at
        self.rec.phase = "fold"
        w0 = self.rec.total_wru("fold")
        r0 = self.rec.total_rru("fold")
        stats = self.wired.pump(roll=False, now=at)
        if stats.records:
            self.folds.append({"records": stats.records, "events": stats.events, "folds": stats.folds,
                               "chunks": stats.chunks, "ops": stats.ops,
                               "wru": self.rec.total_wru("fold") - w0, "rru": self.rec.total_rru("fold") - r0})

    def roll(self, at: float, phase: str = "rollup") -> None:
        self.rec.phase = phase
        w0, r0 = self.rec.total_wru(phase), self.rec.total_rru(phase)
        stats = self.wired.rollup.run(at)
        self.rolls.append({"at": at, "phase": phase, "wru": self.rec.total_wru(phase) - w0,
                           "rru": self.rec.total_rru(phase) - r0, "hours": stats.hours_rolled,
                           "days": stats.days_rolled, "minutes": stats.minutes_compacted,
                           "items": stats.items_written})

    def max_size(self, prefix: str) -> int:
        """Largest stored item whose sk starts with prefix (how mature the sketches got)."""
        best = 0
        scan = self.wired.client.get_paginator("scan")
        for page in scan.paginate(TableName=TABLE):
            for item in page["Items"]:
                if item["sk"]["S"].startswith(prefix):
                    best = max(best, C.item_size(item))
        return best


def fill_rest_of_hour(world: World, gen: TrafficGenerator, start: float, per_minute: int,
                      fold_minutes: int = 5) -> int:
    """Unpriced traffic for the rest of the hour (a few large folds), so that the hour roll
    finds a full hour's items. No per-minute rollup runs here: the hour roll compacts these
    minutes' sketches itself, and the per-minute runs are priced from the measured minutes
    and counted for all 60 minutes (so fill minutes are compacted twice in the sum:
    conservative)."""
    rec = world.rec
    filled = 0
    t = start
    rec.enabled = False
    while t < HOUR_END.timestamp():
        end = min(t + 60 * fold_minutes, HOUR_END.timestamp())
        evs = gen_events(gen, int(per_minute * (end - t) / 60), datetime.fromtimestamp(t, tz=timezone.utc),
                         datetime.fromtimestamp(end, tz=timezone.utc))
        for i in range(0, len(evs), 5000):
            world.put_synthetic(evs[i:i + 5000], end, f"fill-{int(t)}-{i}")
        kept = len(world.folds)
        world.fold(end + 1)
        del world.folds[kept:]  # not a measured fold
        filled += len(evs)
        t = end
    rec.enabled = True
    return filled


def roll_closed(world: World) -> None:
    world.roll(HOUR_END.timestamp() + 61, "hour roll")
    world.roll(DAY_END.timestamp() + 61, "day roll")


def stream_costs(put: tuple[int, int], events: int, rate_eps: float) -> dict:
    """Kinesis cost per million events from the measured requests' (records, bytes) put."""
    per_m = 1e6 / events
    records, nbytes = put[0] * per_m, put[1] * per_m
    avg = put[1] / max(1, put[0])
    kb_rounded = records * math.ceil(avg / 1024)  # on-demand bills each record rounded up to 1 KB
    hours = 1e6 / rate_eps / 3600
    od = kb_rounded / 1024 ** 2 * (KDS_OD_GB_IN + KDS_OD_GB_OUT) + hours * KDS_OD_STREAM_HOUR
    prov = hours * KDS_SHARD_HOUR + records * math.ceil(avg / 25600) / 1e6 * KDS_PUT_UNIT_PER_M
    data_only = kb_rounded / 1024 ** 2 * (KDS_OD_GB_IN + KDS_OD_GB_OUT)
    return {"records_per_m": records, "on_demand_data_only_per_m": data_only, "bytes_per_m": nbytes, "avg_record_bytes": avg, "stream_hours_per_m": hours,
            "on_demand_per_m": od, "provisioned_per_m": prov}


# ----------------------------------------------------------------------------- (A) one event per request
def run_single_new(window: float, rate: int, measured_s: int, warm_s: int, fill_rate: int, seed: int) -> dict:
    with mock_aws():
        world = World()
        rec = world.rec
        gen = TrafficGenerator(seed=seed, profiles=200_000, prefix=f"s{seed}")
        t0 = MEASURE_START.timestamp()
        warm = gen_events(gen, warm_s * rate, MEASURE_START - timedelta(seconds=warm_s), MEASURE_START)
        measured = gen_events(gen, measured_s * rate, MEASURE_START,
                              MEASURE_START + timedelta(seconds=measured_s))
        # warm-up (unpriced): the cardinality guard admits the campaigns' values, the shard state exists
        rec.enabled = False
        next_fold = ts_of(warm[0]) + window
        for ev in warm:
            at = ts_of(ev) + 0.2
            while at >= next_fold:
                world.fold(next_fold)
                next_fold += window
            world.post([ev], at)
        world.fold(t0)
        world.roll(t0)
        begin_measurement(world, rec)
        started = time.perf_counter()
        next_fold, next_roll = t0 + window, t0 + 60 + 1
        for ev in measured:
            at = ts_of(ev) + 0.2  # posted as it happens
            while at >= min(next_fold, next_roll):
                if next_fold <= next_roll:
                    world.fold(next_fold)
                    next_fold += window
                else:
                    world.roll(next_roll)
                    next_roll += 60
            rec.phase = "ingest"
            world.post([ev], at)
        end = t0 + measured_s
        while next_fold <= end + window:
            world.fold(next_fold)
            next_fold += window
        world.roll(end - end % 60 + 61 if end % 60 else end + 1)  # the next minute run compacts the last minute
        sim_s = time.perf_counter() - started
        n = len(measured)
        minute_rolls = [r for r in world.rolls if r["phase"] == "rollup"]
        put = (world.wired.stream.records_put, world.wired.stream.bytes_put)  # before the fill's records
        filled = fill_rest_of_hour(world, gen, end - end % 60 + 60 if end % 60 else end, fill_rate * 60)
        roll_closed(world)
        res = summarise_new(world, n, rate, minute_rolls)
        res.update({"window_s": window, "rate": rate, "measured_s": measured_s, "sim_seconds": sim_s,
                    "fill_events": filled, "fill_rate": fill_rate,
                    "max_hour_sketch_bytes": world.max_size("SH#"),
                    "max_minute_counter_bytes": world.max_size("M#")})
        res["stream"] = stream_costs(put, n, rate)
        return res, measured


def summarise_new(world: World, n: int, rate_eps: float, minute_rolls: list[dict]) -> dict:
    rec = world.rec
    folds = world.folds
    ingest_wru, fold_wru = rec.total_wru("ingest"), rec.total_wru("fold")
    minute_roll_wru = statistics.mean(r["wru"] for r in minute_rolls) if minute_rolls else 0.0
    all_minute = [r["wru"] for r in minute_rolls]
    hour_roll = sum(r["wru"] for r in world.rolls if r["phase"] == "hour roll")
    # In production the per-minute runs compact every minute's sketches, and the hour roll
    # rewrites only what changed; here the unpriced fill minutes were not compacted per
    # minute, so the hour roll wrote them: those writes are already counted by the
    # per-minute runs x 60 and are left out of the amortised sum (printed apart).
    hour_minute_sketches = sum(row["wru"] for kind, row in rec.by_kind("hour roll").items()
                               if "sketch minute" in kind)
    day_roll = sum(r["wru"] for r in world.rolls if r["phase"] == "day roll")
    events_hour = rate_eps * 3600
    rollup_per_event = (sum(all_minute) * 60 / max(1, len(all_minute)) + hour_roll - hour_minute_sketches) / events_hour \
        + day_roll / (rate_eps * 86400)
    return {
        "events": n, "minute_runs": len(minute_rolls), "requests_ingest_wru": ingest_wru, "fold_wru": fold_wru,
        "ingest_per_event": ingest_wru / n, "fold_per_event": fold_wru / n, "rollup_per_event": rollup_per_event,
        "total_per_event": ingest_wru / n + fold_wru / n + rollup_per_event,
        "minute_roll_wru_mean": minute_roll_wru, "minute_roll_wru_hour_mean": statistics.mean(all_minute or [0]),
        "hour_roll_wru": hour_roll, "hour_roll_minute_sketch_wru": hour_minute_sketches, "day_roll_wru": day_roll,
        "rollup_rru_per_event": (sum(r["rru"] for r in minute_rolls) * 60
                                 / max(1, len(all_minute)) + sum(r["rru"] for r in world.rolls
                                                                 if r["phase"] != "rollup")) / events_hour,
        "ingest_rru_per_event": rec.total_rru("ingest") / n,
        "folds": len(folds), "invocations_per_1000": 1000 * len(folds) / n,
        "events_per_fold": statistics.mean(f["events"] for f in folds) if folds else 0,
        "wru_per_fold": statistics.mean(f["wru"] for f in folds) if folds else 0,
        "rru_per_fold": statistics.mean(f["rru"] for f in folds) if folds else 0,
        "chunks_per_fold": statistics.mean(f["chunks"] for f in folds) if folds else 0,
        "fold_reads": rec.reads_by_kind("fold"), "by_kind_ingest": rec.by_kind("ingest"),
        "by_kind_fold": rec.by_kind("fold"), "by_kind_rollup": rec.by_kind("rollup"),
        "by_kind_hour": rec.by_kind("hour roll"), "calls": dict(rec.calls),
    }


def run_single_old(old: Any, measured: list[dict], requests: int, warm_batches: int, seed: int) -> dict:
    """The previous design, one event per request, on the first `requests` of the same events."""
    oldcfg = old.config.AppConfig
    with mock_aws():
        client, peek = C.moto_clients([TABLE])
        rec = C.Recorder(client, peek)
        wired = old.services.build(oldcfg(table_name=TABLE, region=C.REGION), client)
        clock = {"t": MEASURE_START.timestamp()}
        wired.ingest.clock = lambda: clock["t"]
        rec.enabled = False
        gen = TrafficGenerator(seed=seed + 1000, profiles=200_000, prefix="oldwarm")
        for i in range(warm_batches):  # the minutes before, as 1,000-event requests (unpriced)
            a = MEASURE_START - timedelta(minutes=warm_batches - i)
            evs = gen_events(gen, 1000, a, a + timedelta(minutes=1))
            clock["t"] = (a + timedelta(minutes=1)).timestamp()
            out = wired.ingest.ingest(WS, json.dumps({"events": evs}).encode(), f"warm-{i}")
            assert not out.body["rejected"]
        rec.enabled = True
        rec.reset()
        sample = measured[:requests]
        started = time.perf_counter()
        for ev in sample:
            clock["t"] = ts_of(ev) + 0.2
            out = wired.ingest.ingest(WS, json.dumps({"events": [ev]}).encode(), None)
            assert not out.body["rejected"], out.body["rejected"]
        n = len(sample)
        return {"events": n, "wru": rec.total_wru(), "per_event": rec.total_wru() / n, "by_kind": rec.by_kind(),
                "writes": len(rec.writes), "rru_per_event": rec.total_rru() / n, "seconds": time.perf_counter() - started,
                "warm_batches": warm_batches}


def naive_cost(events: list[dict]) -> dict:
    """One UpdateItem ADD per event on its minute item (type counter + its dimension counters + TTL),
    priced exactly like the Recorder would (size before/after by DynamoDB's rules), in memory."""
    accepted = []
    for i in range(0, len(events), 5000):
        chunk = events[i:i + 5000]
        ok, rejected = validate_batch(chunk, datetime.fromtimestamp(max(ts_of(e) for e in chunk) + 1, tz=timezone.utc))
        assert not rejected
        accepted.extend(e for _, e in ok)
    items: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    total = 0
    by_size: dict[int, int] = defaultdict(int)
    for ev in accepted:
        minute = datetime.fromtimestamp(int(ev.timestamp.timestamp()) // 60 * 60, tz=timezone.utc)
        pk = tables.counter_pk(WS, ev.campaign_id, ev.channel)
        sk = tables.counter_sk(tables.MINUTE, minute.strftime("%Y%m%d%H%M"), ev.execution_id or tables.NO_EXECUTION)
        attrs = [ev.type] + (["open_machine"] if ev.type == "open" and ev.machine else [])
        for dim in catalogue.DIMENSIONS_BY_TYPE[ev.type]:
            if ev.channel in dim.channels:
                value = getattr(ev, dim.field) or dim.default
                if value is not None:
                    attrs.append(dim_attr(dim.name, ev.type, value))
        item = items.setdefault((pk, sk), {"pk": {"S": pk}, "sk": {"S": sk}})
        before = C.item_size(item) if len(item) > 2 else 0
        for a in attrs:
            item[a] = {"N": str(int(item.get(a, {"N": "0"})["N"]) + 1)}
        item[tables.TTL_ATTRIBUTE] = {"N": str(int(minute.timestamp()) + 26 * 3600)}
        units = C.wru(before, C.item_size(item), False)
        by_size[units] += 1
        total += units
    n = len(accepted)
    return {"events": n, "wru": total, "per_event": total / n, "writes": n, "units_histogram": dict(by_size)}


# ----------------------------------------------------------------------------- (B) 1,000-event requests
def run_batch_new(batches: list[list[dict]], ends: list[float], fill_rate_per_min: int) -> dict:
    with mock_aws():
        world = World()
        rec = world.rec
        # one earlier batch, unpriced (the guard's first admissions), as in (A)
        rec.enabled = False
        gen = TrafficGenerator(seed=77, profiles=200_000, prefix="bw")
        world.post(gen_events(gen, 1000, MEASURE_START - timedelta(seconds=60), MEASURE_START),
                   MEASURE_START.timestamp())
        world.fold(MEASURE_START.timestamp() + 1)
        world.roll(MEASURE_START.timestamp() + 1)
        begin_measurement(world, rec)
        started = time.perf_counter()
        for evs, end in zip(batches, ends):
            rec.phase = "ingest"
            world.post(evs, end + 0.5)
            world.fold(end + 1.5)  # the request's own fold: one request per window
            world.roll(end + 2)
        sim_s = time.perf_counter() - started
        n = sum(len(b) for b in batches)
        minute_rolls = [r for r in world.rolls if r["phase"] == "rollup"]
        put = (world.wired.stream.records_put, world.wired.stream.bytes_put)  # before the fill's records
        last = ends[-1] + 60 - (ends[-1] % 60)
        filled = fill_rest_of_hour(world, gen, last, fill_rate_per_min) if last < HOUR_END.timestamp() else 0
        roll_closed(world)
        rate_eps = 1000 / 60
        res = summarise_new(world, n, rate_eps, minute_rolls)
        res.update({"sim_seconds": sim_s, "requests": len(batches), "fill_events": filled,
                    "max_hour_sketch_bytes": world.max_size("SH#"),
                    "max_minute_counter_bytes": world.max_size("M#"),
                    "stream": stream_costs(put, n, rate_eps)})
        return res


def run_batch_old(old: Any, batch: list[dict], warm: list[list[dict]], mature: tuple[int, int, int]) -> dict:
    """bench/ingest.py's previous 'mature' measurement, on the previous design's code."""
    oldcfg = old.config.AppConfig
    now = datetime.fromtimestamp(ts_of(batch[-1]) + 1, tz=timezone.utc)
    with mock_aws():
        client, peek = C.moto_clients([TABLE])
        rec = C.Recorder(client, peek)
        wired = old.services.build(oldcfg(table_name=TABLE, region=C.REGION), client)
        wired.ingest.clock = lambda: now.timestamp()
        rec.enabled = False
        for i, evs in enumerate(warm):
            out = wired.ingest.ingest(WS, json.dumps({"events": evs}).encode(), f"warm-{i}")
            assert not out.body["rejected"], out.body["rejected"][:3]
        # every sketch the measured batch touches already holds a campaign in full swing's profiles
        accepted, _ = old.events.validate_batch(batch, now)
        agg = old.aggregate.aggregate(WS, (e for _, e in accepted), lambda *a: {v: v for v in a[-1]})
        hour_p, day_p, dom_p = mature
        profiles = {key: {f"old{i}-{j}" for j in range(hour_p if key[1] == "H" else day_p)}
                    for i, key in enumerate(sorted(agg.profiles))}
        wired.sketches.add(profiles, int(now.timestamp()))
        wired.sketches.add_domains({key: {f"oldd{i}-{j}" for j in range(dom_p)}
                                    for i, key in enumerate(sorted(agg.domain_profiles))})
        rec.enabled = True
        rec.reset()
        out = wired.ingest.ingest(WS, json.dumps({"events": batch}).encode(), "measured")
        assert not out.body["rejected"]
        n = len(batch)
        return {"events": n, "wru": rec.total_wru(), "per_event": rec.total_wru() / n, "by_kind": rec.by_kind(),
                "writes": len(rec.writes), "rru_per_event": rec.total_rru() / n, "warm_batches": len(warm)}


# ----------------------------------------------------------------------------- (C) CPU
def bench_cpu(batches: int, size: int) -> dict:
    clock = time.process_time
    gen = TrafficGenerator(seed=1, profiles=200_000, prefix="cpu")
    now = MEASURE_START
    bodies = [json.dumps({"events": gen_events(gen, size, now - timedelta(minutes=5), now)}).encode()
              for _ in range(batches)]
    agg_stub = Aggregator(None, StoreConfig(table_name=TABLE), None, None, None)  # _ops needs the table name only
    t: dict[str, list[float]] = defaultdict(list)
    singles = [json.loads(b)["events"][:1000] for b in bodies[:1]][0]
    for body in bodies:
        gc.collect()
        c0 = clock()
        raw = parse_body(body)
        c1 = clock()
        accepted, rejected = validate_batch(raw, now)
        c2 = clock()
        records = encode(WS, "b", "a", now.timestamp(), [compact(e) for _, e in accepted])
        c3 = clock()
        decoded = [decode(r) for r in records]
        c4 = clock()
        agg = aggregate(((d.workspace, d.received_at, d.events) for d in decoded), identity_admit)
        c5 = clock()
        agg_stub._ops(_Fold(agg, "000000.1", 1, 2, len(records)))
        c6 = clock()
        assert not rejected and agg.events == size
        for name, dt in (("json.loads", c1 - c0), ("validate", c2 - c1), ("compact + encode", c3 - c2),
                         ("decode", c4 - c3), ("aggregate", c5 - c4), ("sketch deltas + write ops", c6 - c5)):
            t[name].append(dt)
    # one event per request: the ingest side's validate call per request
    gc.collect()
    c0 = clock()
    for ev in singles:
        validate_batch([ev], now)
    single_validate = len(singles) / (clock() - c0)
    va = [v + a for v, a in zip(t["validate"], t["aggregate"])]
    full = [sum(x) for x in zip(*t.values())]
    return {"batches": batches, "batch_size": size,
            "best_eps": {k: size / min(v) for k, v in t.items()},
            "median_ms": {k: 1e3 * statistics.median(v) for k, v in t.items()},
            "validate_aggregate_best": size / min(va), "validate_aggregate_median": size / statistics.median(va),
            "full_path_best": size / min(full), "full_path_median": size / statistics.median(full),
            "single_request_validate_eps": single_validate}


# ----------------------------------------------------------------------------- printing
def kind_rows(by_kind: dict, events: int) -> list[list]:
    rows = []
    for kind, row in sorted(by_kind.items(), key=lambda kv: -kv[1]["wru"]):
        rows.append([kind, int(row["writes"]), int(row["wru"]), f"{row['wru'] / events:.4f}",
                     f"{row['sum_size'] / max(1, row['writes']):.0f}", int(row["max_size"])])
    return rows


KIND_HEADERS = ["kind", "writes", "WRU", "WRU/event", "avg item bytes", "max item bytes"]


def print_new(label: str, r: dict) -> None:
    n = r["events"]
    print(f"### {label}\n")
    print(f"{n:,} events measured; {r['folds']} folds of {r['events_per_fold']:.0f} events on average "
          f"({r['chunks_per_fold']:.2f} transactions each); simulation {r['sim_seconds']:.0f} s wall")
    print(f"WRU/event: ingest {r['ingest_per_event']:.4f} + aggregator {r['fold_per_event']:.4f} "
          f"+ rollup {r['rollup_per_event']:.4f} = **{r['total_per_event']:.4f}**")
    print(f"rollup: {r['minute_roll_wru_hour_mean']:.1f} WRU per minute run (mean of {r['minute_runs']} measured runs), "
          f"hour roll {r['hour_roll_wru']} WRU ({r['hour_roll_minute_sketch_wru']} of them fill minutes' sketches, "
          f"not amortised: see the docstring), day roll {r['day_roll_wru']} WRU; largest hour sketch item "
          f"{r['max_hour_sketch_bytes']:,} B, largest minute counter item {r['max_minute_counter_bytes']:,} B")
    print(f"reads: ingest {r['ingest_rru_per_event']:.3f} RRU/event, aggregator {r['rru_per_fold']:.1f} RRU/fold "
          f"({', '.join(k + ' ' + format(v['rru'], 'g') for k, v in r['fold_reads'].items())} in all folds), "
          f"rollup {r['rollup_rru_per_event']:.4f} RRU/event\n")
    rows = []
    for phase, key, denom in (("ingest", "by_kind_ingest", n), ("aggregator", "by_kind_fold", n),
                              ("rollup (per-minute runs, measured minutes)", "by_kind_rollup", None),
                              ("rollup (hour roll)", "by_kind_hour", None)):
        for row in kind_rows(r[key], denom or n):
            if denom is None:
                row[3] = ""
            rows.append([phase] + row)
    print(C.fmt_table(["phase"] + KIND_HEADERS, rows))
    print()


def print_old(label: str, r: dict) -> None:
    print(f"### {label}\n")
    print(C.fmt_table(KIND_HEADERS, kind_rows(r["by_kind"], r["events"]) +
                      [["**total**", r["writes"], r["wru"], f"**{r['per_event']:.3f}**", "", ""]]))
    print(f"\nreads {r['rru_per_event']:.3f} RRU/event\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (a few minutes)")
    ap.add_argument("--windows", default="1,5", help="batching windows in seconds (default 1,5)")
    ap.add_argument("--rate", type=int, default=200, help="one-event requests per second (default 200)")
    ap.add_argument("--measured", type=int, default=None, help="measured seconds of (A) (default 60, quick 15)")
    ap.add_argument("--fill-rate", type=int, default=None,
                    help="events/s of the unpriced rest of the hour in (A) (default 20, quick 2)")
    ap.add_argument("--old-requests", type=int, default=None, help="(A) old design sample (default 1000, quick 300)")
    ap.add_argument("--batch-minutes", type=int, default=None,
                    help="(B) measured minutes of 1,000-event requests (default 30, quick 8)")
    ap.add_argument("--cpu-batches", type=int, default=None, help="(C) 5,000-event batches (default 9, quick 5)")
    ap.add_argument("--only", choices=["cpu", "single", "batch"])
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    q = args.quick
    windows = [float(w) for w in args.windows.split(",")]
    measured_s = args.measured or (15 if q else 60)
    fill_rate = args.fill_rate or (2 if q else 20)
    old_requests = args.old_requests or (300 if q else 1000)
    batch_minutes = args.batch_minutes or (8 if q else 30)
    started = time.perf_counter()
    load = os.getloadavg()
    print(f"# bench/ingest.py  ({datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f}/{load[1]:.1f}, python {sys.version.split()[0]}{', --quick' if q else ''})\n")
    results: dict[str, Any] = {}
    old = C.load_old_package("a2f11d8") if args.only != "cpu" else None

    if args.only in (None, "single"):
        print(f"## (A) one event per request, {args.rate} requests/s, {measured_s} s measured\n")
        results["single"] = {}
        measured = None
        for w in windows:
            r, ev = run_single_new(w, args.rate, measured_s, 5, fill_rate, seed=11)
            measured = measured or ev
            results["single"][f"new_{w:g}s"] = r
            print_new(f"new design, batching window {w:g} s", r)
        t0 = time.perf_counter()
        o = run_single_old(old, measured, old_requests, 5 if q else 20, seed=11)
        print_old(f"previous design (a2f11d8), first {o['events']:,} of the same requests, one event each, "
                  f"after {o['warm_batches']} warm-up 1,000-event requests ({time.perf_counter() - t0:.0f} s)", o)
        nv = naive_cost(measured)
        print(f"naive (one UpdateItem ADD per event, {nv['events']:,} events): {nv['per_event']:.3f} WRU/event "
              f"(writes by WRU: {nv['units_histogram']})\n")
        results["single"].update({"old": o, "naive": nv})

    if args.only in (None, "batch"):
        print(f"## (B) 1,000-event requests, one a minute (one request per fold), {batch_minutes} minutes measured\n")
        gen = TrafficGenerator(seed=2, profiles=200_000, prefix="b")
        warm_n = 5 if q else 30
        first = MEASURE_START + timedelta(minutes=1)
        ends = [(first + timedelta(minutes=i)).timestamp() for i in range(batch_minutes)]
        warm_old = [gen_events(gen, 1000, first - timedelta(minutes=warm_n - i + 1), first - timedelta(minutes=warm_n - i))
                    for i in range(warm_n)]
        batches = [gen_events(gen, 1000, datetime.fromtimestamp(e - 60, tz=timezone.utc),
                              datetime.fromtimestamp(e, tz=timezone.utc)) for e in ends]
        r = run_batch_new(batches, ends, 1000)
        print_new("new design", r)
        t0 = time.perf_counter()
        o = run_batch_old(old, batches[0], warm_old, (5_000, 50_000, 1_000))
        print_old(f"previous design (a2f11d8), the first of the same batches, mature sketches, after {warm_n} "
                  f"warm-up batches ({time.perf_counter() - t0:.0f} s)", o)
        nv = naive_cost(batches[0])
        print(f"naive on the same batch: {nv['per_event']:.3f} WRU/event\n")
        results["batch"] = {"new": r, "old": o, "naive": nv}

    if args.only in (None, "cpu"):
        cpu = bench_cpu(args.cpu_batches or (5 if q else 9), 5000)
        results["cpu"] = cpu
        print("## (C) CPU, 5,000-event batches, events per CPU-second (time.process_time)\n")
        print(C.fmt_table(["step", "best", "median ms per batch"],
                          [[k, f"{v:,.0f}", f"{cpu['median_ms'][k]:.1f}"] for k, v in cpu["best_eps"].items()] +
                          [["**validate + aggregate**", f"**{cpu['validate_aggregate_best']:,.0f}**",
                            f"(median {cpu['validate_aggregate_median']:,.0f}/s)"],
                           ["all steps above", f"{cpu['full_path_best']:,.0f}",
                            f"(median {cpu['full_path_median']:,.0f}/s)"]]))
        print(f"\none event per request: validate_batch([event]) {cpu['single_request_validate_eps']:,.0f} "
              f"events per CPU-second\n")

    print_summary(results, windows)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s; load average at the end "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


def print_summary(results: dict, windows: list[float]) -> None:
    print("## summary\n")
    rows = []
    if "single" in results:
        s = results["single"]
        o, nv = s["old"]["per_event"], s["naive"]["per_event"]
        for w in windows:
            r = s[f"new_{w:g}s"]
            v = r["total_per_event"]
            rows.append([f"one event per request, 200 req/s, window {w:g} s", f"{v:.3f}", f"{o:.2f}",
                         f"{v / o:.3f}", f"{nv:.3f}", f"{v / nv:.2f}", f"<= {TARGET_SINGLE}",
                         "met" if v <= TARGET_SINGLE else f"MISSED by {v - TARGET_SINGLE:.3f}"])
    if "batch" in results:
        b = results["batch"]
        v, o, nv = b["new"]["total_per_event"], b["old"]["per_event"], b["naive"]["per_event"]
        rows.append(["1,000-event requests, mature sketches", f"{v:.4f}", f"{o:.3f}", f"{v / o:.3f}",
                     f"{nv:.3f}", f"{v / nv:.3f}", f"<= {TARGET_BATCH}",
                     "met" if v <= TARGET_BATCH else f"MISSED by {v - TARGET_BATCH:.4f}"])
    if rows:
        print(C.fmt_table(["WRU per event", "new", "previous design", "new/previous", "naive", "new/naive",
                           "target", "verdict"], rows))
    if "cpu" in results:
        c = results["cpu"]["validate_aggregate_best"]
        print(f"\nvalidate + aggregate: {c:,.0f} events per CPU-second (best), target >= {TARGET_EPS:,}: "
              f"{'met' if c >= TARGET_EPS else 'MISSED'}")
    for key, label in (("single", "one event per request"), ("batch", "1,000-event requests")):
        if key not in results:
            continue
        news = [(k, v) for k, v in results[key].items() if k.startswith("new")]
        for k, r in news:
            st = r["stream"]
            print(f"\n{label} ({k}): aggregator invocations per 1,000 events {r['invocations_per_1000']:.2f}; "
                  f"RRU per fold {r['rru_per_fold']:.1f}; ingest reads {r['ingest_rru_per_event']:.3f} RRU/event; "
                  f"stream: {st['records_per_m']:,.0f} records and {st['bytes_per_m'] / 1e6:.1f} MB per million "
                  f"events (avg record {st['avg_record_bytes']:.0f} B) -> on-demand ${st['on_demand_per_m']:.3f} "
                  f"(of which data in + out ${st['on_demand_data_only_per_m']:.3f}, the rest stream-hours at this rate), "
                  f"provisioned 1 shard ${st['provisioned_per_m']:.3f} per million events; "
                  f"DynamoDB writes ${r['total_per_event'] * WRU_PRICE * 1e6:.3f} per million events")


if __name__ == "__main__":
    main()

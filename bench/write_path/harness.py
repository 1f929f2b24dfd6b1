"""The write-path harness: one design's services on a simulated clock, every DynamoDB
request priced (bench/_common.Recorder), one scenario replayed as Lambda would run it.

Owns: the `World` (moto table + Kinesis stream + the product's services, built
through `services.build` so the same code drives this tree's chalicelib and the
previous design's in a subprocess), `measure()` (warm-up unpriced, measured
requests, folds every batching window, the rollup every simulated minute, the
rest of the hour filled unpriced, the closed hour and day rolled and priced) and
the per-event figures. It imports `chalicelib` by name and uses only what both
designs share (services.build, ingest.ingest, Services.pump/roll, stream.encode).
"""
from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import _common as C  # noqa: F401  (bench/ on sys.path: fake AWS env, paths)

import boto3
from moto import mock_aws

WS = "bench"
TABLE, STREAM = "bench-table", "bench-stream"
#: Kinesis list prices assumed (us-east-1, checked 2026-11; on-demand / provisioned)
KDS_OD_STREAM_HOUR, KDS_OD_GB_IN, KDS_OD_GB_OUT = 0.04, 0.08, 0.04
KDS_SHARD_HOUR, KDS_PUT_UNIT_PER_M = 0.015, 0.014


@dataclass
class Scenario:
    """Requests (time, events) of one traffic pattern; times are epoch seconds."""

    key: str
    label: str
    rate_rps: float  # requests per second (the curve's x)
    events_per_s: float  # events per second (what the rollup's share is amortised over)
    warm: list[tuple[float, list[dict]]]
    requests: list[tuple[float, list[dict]]]
    start: float
    end: float
    hour_end: float
    window: float = 1.0
    shards: int = 2
    fill_eps: float = 2.0
    fill: list[tuple[float, list[dict]]] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(vars(self))

    @classmethod
    def from_json(cls, d: dict) -> "Scenario":
        return cls(**d)


class World:
    """A fresh moto DynamoDB table and `shards`-shard Kinesis stream, the services on a simulated clock."""

    def __init__(self, shards: int) -> None:
        from chalicelib import services
        from chalicelib.config import AppConfig
        from chalicelib.stream import create_stream
        client, peek = C.moto_clients([TABLE])
        kinesis = boto3.client("kinesis", region_name=C.REGION)
        create_stream(kinesis, STREAM, shards)
        self.now = 0.0
        self.rec = C.Recorder(client, peek)
        self.wired = services.build(AppConfig(table_name=TABLE, region=C.REGION, stream_name=STREAM),
                                    client, kinesis, clock=lambda: self.now)
        self.invocations = 0
        self.fold_events = 0
        self.rolls: list[dict] = []

    def post(self, events: list[dict], at: float) -> None:
        self.now = at
        self.rec.phase = "ingest"
        out = self.wired.ingest.ingest(WS, json.dumps({"events": events}, separators=(",", ":")).encode(), None)
        assert not out.body["rejected"], out.body["rejected"][:3]

    def put_synthetic(self, events: list[dict], at: float, tag: str) -> None:
        """Fill traffic without HTTP parsing or hot-campaign salting: validated, encoded, put, committed."""
        from chalicelib.events import validate_batch
        from chalicelib.stream import compact, encode
        self.now = at
        accepted, rejected = validate_batch(events, datetime.fromtimestamp(at, tz=timezone.utc))
        assert not rejected, rejected[:3]
        ingest = self.wired.ingest
        ingest.stream.put(tag, encode(WS, tag, "a-" + tag, at, [compact(e) for _, e in accepted]))
        ingest.ledger.commit(WS, tag, tag, at, "a-" + tag, {"accepted": len(accepted), "rejected": []}, at)

    def fold(self, at: float) -> None:
        """What the event source mapping does when a batching window closes: one invocation per shard with records."""
        self.now = at
        self.rec.phase = "fold"

        def handler(event: dict) -> Any:
            self.invocations += 1
            stats = self.wired.aggregator.handle(event)
            self.fold_events += stats.events
            return stats
        self.wired.pump(handler, roll=False, now=at)

    def roll(self, at: float, phase: str = "rollup") -> None:
        """The minute's schedule (parked records, then the rollup), priced under `phase`."""
        self.now = at
        self.rec.phase = phase
        w0, r0 = self.rec.total_wru(phase), self.rec.total_rru(phase)
        self.wired.roll(at)
        self.rolls.append({"at": at, "phase": phase, "wru": self.rec.total_wru(phase) - w0,
                           "rru": self.rec.total_rru(phase) - r0})


def replay(world: World, requests: list[tuple[float, list[dict]]], window: float, until: float,
           roll_from: float | None) -> None:
    """Post each request at its time; close a batching window every `window` s (one invocation per
    shard holding records); run the minute's schedule at each minute + 1 s from `roll_from`."""
    if not requests:
        return
    next_fold = requests[0][0] + window
    next_roll = (roll_from // 60 + 1) * 60 + 1 if roll_from is not None else math.inf
    for at, events in requests:
        while at >= min(next_fold, next_roll):
            if next_fold <= next_roll:
                world.fold(next_fold)
                next_fold += window
            else:
                world.roll(next_roll)
                next_roll += 60
        world.post(events, at)
    while next_fold <= until + window or next_roll <= until:
        if next_fold <= next_roll:
            world.fold(next_fold)
            next_fold += window
        else:
            world.roll(next_roll)
            next_roll += 60


def measure(sc: Scenario) -> dict:
    """One scenario on this process's chalicelib: the measured figures (see `figures`)."""
    started = time.perf_counter()
    with mock_aws():
        world = World(sc.shards)
        rec = world.rec
        rec.enabled = False  # warm-up: shard state, cardinality guard's first admissions, directory
        if sc.warm:
            replay(world, sc.warm, sc.window, sc.warm[-1][0], None)
            world.roll(sc.start - 0.5)
        rec.enabled = True
        rec.reset()
        world.rolls.clear()
        world.invocations = world.fold_events = 0
        stream = world.wired.stream
        stream.records_put = stream.bytes_put = 0
        replay(world, sc.requests, sc.window, sc.end, sc.start)
        put = (stream.records_put, stream.bytes_put)
        invocations, fold_events = world.invocations, world.fold_events
        minute_rolls = [r for r in world.rolls if r["phase"] == "rollup"]
        # the rest of the hour (unpriced), so that the closed hour's roll finds a full hour of items
        rec.enabled = False
        for i, (at, events) in enumerate(sc.fill):
            world.put_synthetic(events, at, f"fill-{i}")
            world.fold(at + 1)
        rec.enabled = True
        world.roll(sc.hour_end + 61, "hour roll")
        world.roll(sc.hour_end - sc.hour_end % 86400 + 86400 + 61, "day roll")
        out = figures(world, sc, minute_rolls, put, invocations, fold_events)
    out["wall_seconds"] = time.perf_counter() - started
    return out


def figures(world: World, sc: Scenario, minute_rolls: list[dict], put: tuple[int, int],
            invocations: int, fold_events: int) -> dict:
    """Per-event figures. The rollup's share: the mean measured minute run over the minute's events
    (events_per_s x 60), the hour roll over the hour's and the day roll over the day's events;
    the hour roll's rewrite of the unpriced fill minutes' sketches is left out (the per-minute runs
    already pay for compacting every minute)."""
    rec = world.rec
    n = sum(len(evs) for _, evs in sc.requests)
    minute_wru = statistics.mean(r["wru"] for r in minute_rolls) if minute_rolls else 0.0
    minute_rru = statistics.mean(r["rru"] for r in minute_rolls) if minute_rolls else 0.0
    hour_wru = rec.total_wru("hour roll") - sum(
        row["wru"] for kind, row in rec.by_kind("hour roll").items() if "sketch minute" in kind)
    day_wru = rec.total_wru("day roll")
    eps = sc.events_per_s
    rollup = minute_wru / (eps * 60) + hour_wru / (eps * 3600) + day_wru / (eps * 86400)
    rollup_rru = minute_rru / (eps * 60) + (rec.total_rru("hour roll") / 3600 + rec.total_rru("day roll") / 86400) / eps
    ingest, fold = rec.total_wru("ingest") / n, rec.total_wru("fold") / n
    return {
        "key": sc.key, "label": sc.label, "rate_rps": sc.rate_rps, "events_per_s": eps,
        "events": n, "requests": len(sc.requests), "measured_seconds": sc.end - sc.start,
        "ingest_wru": ingest, "fold_wru": fold, "rollup_wru": rollup, "wru": ingest + fold + rollup,
        "rru": (rec.total_rru("ingest") + rec.total_rru("fold")) / n + rollup_rru,
        "ingest_rru": rec.total_rru("ingest") / n, "fold_rru": rec.total_rru("fold") / n, "rollup_rru": rollup_rru,
        "kinesis_records_per_1000": 1000 * put[0] / n, "kinesis_bytes_per_event": put[1] / n,
        "invocations_per_1000": 1000 * invocations / n, "events_per_invocation": fold_events / max(1, invocations),
        "minute_runs": len(minute_rolls), "minute_run_wru": minute_wru, "hour_roll_wru": hour_wru,
        "day_roll_wru": day_wru, "fold_writes_per_event": sum(1 for w in rec.writes if w.phase == "fold") / n,
        "by_kind": {ph: rec.by_kind(ph) for ph in ("ingest", "fold", "rollup", "hour roll", "day roll")},
        "failed_writes": sum(1 for w in rec.writes if w.failed),
        "largest_item": max(((max(w.before, w.after), w.kind) for w in rec.writes), default=(0, "")),
        "stream": stream_costs(put, n, eps),
    }


def stream_costs(put: tuple[int, int], events: int, rate_eps: float) -> dict:
    """Kinesis $ per million events from the measured (records, bytes) put."""
    per_m = 1e6 / max(1, events)
    records, avg = put[0] * per_m, put[1] / max(1, put[0])
    kb_rounded = records * math.ceil(avg / 1024)  # on-demand bills each record rounded up to 1 KB
    hours = 1e6 / rate_eps / 3600
    data = kb_rounded / 1024 ** 2 * (KDS_OD_GB_IN + KDS_OD_GB_OUT)
    return {"records_per_m": records, "avg_record_bytes": avg, "on_demand_data_per_m": data,
            "on_demand_per_m": data + hours * KDS_OD_STREAM_HOUR,
            "provisioned_per_m": hours * KDS_SHARD_HOUR + records * math.ceil(avg / 25600) / 1e6 * KDS_PUT_UNIT_PER_M}

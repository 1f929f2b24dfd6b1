"""Write cost of experiments (issue 18 §3): DynamoDB write units per assigned
profile, everything included, against the same events without variants.

    .venv/bin/python bench/experiment_cost.py [--profiles 2000] [--json out.json]

Each scenario runs twice in a fresh in-process moto world (the product's
ingest, stream, aggregator and rollup on a simulated clock), once with every event of the profiles tagged with a variant (A or B)
and once with the same events untagged:

- each profile is `sent` (and `delivered`) during ten minutes, then opens
  (+3 min), clicks (+6 min) and converts (+25 min, a conversion in EUR with
  no variant: credited by assignment), each step in a later fold than the
  one before (the worst case: no two steps of a profile share a write);
- `full funnel`: every profile does every step; `typical`: 30 % open,
  10 % click, 3 % convert (seeded);
- producers post each minute's events in one request, the aggregator folds
  after each request, the rollup rolls the closed hour and day, all priced.

Write units are priced by DynamoDB's rules from the requests themselves
(bench/_common.py's Recorder; moto's ReturnConsumedCapacity is a fixed
number). The extra cost per assigned profile is (WRU with variants − WRU
without) ÷ profiles; the breakdown by item kind shows where it goes, and that
the untagged run writes no experiment item (events without a variant stay at
today's cost). One read remains on the untagged path: a conversion without a
variant looks its profile's assignment up (one strongly consistent BatchGetItem
key, 1 RRU, found or not), reported beside.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (sets sys.path and fake AWS env)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import services  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.stream import create_stream  # noqa: E402

C.speed_up_moto()
WS, TABLE, STREAM = "bench", "bench-table", "bench-stream"
HOUR_START = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)

CAMPAIGN = "xp-cost"
TARGET = 1.2  # WRU per assigned profile (issue 18 §3)
MIXES = {"full funnel": (1.0, 1.0, 1.0), "typical": (0.30, 0.10, 0.03)}
EXPERIMENT_KINDS = ("experiment profile state", "experiment counter")
_BASE_KIND = C.kind_of


def kind_of(pk: str, sk: str) -> str:
    """bench/_common.kind_of, with the experiment items told apart."""
    if pk.endswith("#XP"):
        return "experiment profile state"
    if pk.endswith("#X"):
        return "experiment counter"
    return _BASE_KIND(pk, sk)


def events(profiles: int, mix: tuple[float, float, float], tagged: bool, seed: int = 3,
           prefix: str = "p") -> dict[int, list[dict]]:
    """Events per minute offset (from the first send), one profile's steps in different minutes."""
    rng = random.Random(seed)
    p_open, p_click, p_convert = mix
    per_minute: dict[int, list[dict]] = defaultdict(list)
    for i in range(profiles):
        profile = f"{prefix}{i:06d}"
        variant = {"variant": "A" if i % 2 else "B"} if tagged else {}
        sent = rng.randrange(10)
        steps = [(sent, "sent", variant), (sent, "delivered", variant)]
        u = rng.random()
        if u < p_open:
            steps.append((sent + 3, "open", {**variant, "machine": False}))
        if u < p_click:
            steps.append((sent + 6, "click", {**variant, "url": "https://shop.example/a"}))
        if rng.random() < p_convert:
            steps.append((sent + 25, "conversion", {"value": 42.5, "currency": "EUR"}))
        for minute, etype, extra in steps:
            per_minute[minute].append({"event_id": f"{prefix}{etype}-{i}", "campaign_id": CAMPAIGN,
                                       "channel": "email", "type": etype, "profile_id": profile, **extra})
    return per_minute


class World:
    """A fresh moto table and 1-shard stream; the product's services on a simulated clock, priced."""

    def __init__(self) -> None:
        client, peek = C.moto_clients([TABLE])
        kinesis = boto3.client("kinesis", region_name=C.REGION)
        create_stream(kinesis, STREAM, 1)
        self.now = HOUR_START.timestamp()
        self.rec = C.Recorder(client, peek)
        self.wired = services.build(AppConfig(table_name=TABLE, region=C.REGION, stream_name=STREAM),
                                    client, kinesis, clock=lambda: self.now)

    def post(self, events: list[dict], at: float) -> None:
        self.now, self.rec.phase = at, "ingest"
        out = self.wired.ingest.ingest(WS, json.dumps({"events": events}).encode(), None)
        assert not out.body["rejected"], out.body["rejected"][:3]

    def fold(self, at: float) -> None:
        self.now, self.rec.phase = at, "fold"
        self.wired.pump(roll=False, now=at)

    def roll(self, at: float) -> None:
        self.now, self.rec.phase = at, "rollup"
        self.wired.roll(at)


def run(profiles: int, mix: tuple[float, float, float], tagged: bool) -> dict:
    with mock_aws():
        world = World()
        rec = world.rec
        C.kind_of = kind_of  # the Recorder looks kinds up in _common at pricing time
        try:
            # warm-up (unpriced): the campaign exists, its variants are admitted, the shard state is written
            rec.enabled = False
            start = HOUR_START.timestamp() + 5 * 60
            for minute, batch in sorted(events(20, (1, 1, 0), tagged, prefix="w").items()):
                at = start - 600 + minute * 60
                world.post([{**e, "timestamp": _iso(at)} for e in batch], at)
                world.fold(at + 1)
            rec.enabled = True
            rec.reset()
            plan = events(profiles, mix, tagged)
            counts: dict[str, int] = defaultdict(int)
            for minute, batch in sorted(plan.items()):
                at = start + minute * 60
                world.post([{**e, "timestamp": _iso(at + 1)} for e in batch], at + 2)
                world.fold(at + 3)
                for e in batch:
                    counts[e["type"]] += 1
            world.roll(HOUR_START.timestamp() + 3600 + 90)  # the hour closed
            world.roll(HOUR_START.timestamp() + 86400 + 90)  # the day closed
            by_kind = {k: v for k, v in _by_kind(rec).items()}
            return {"tagged": tagged, "profiles": profiles, "events": dict(counts),
                    "wru": rec.total_wru(), "rru": rec.total_rru(),
                    "wru_by_phase": {p: rec.total_wru(p) for p in ("ingest", "fold", "rollup")},
                    "by_kind": by_kind}
        finally:
            C.kind_of = _BASE_KIND


def _by_kind(rec: C.Recorder) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"writes": 0, "wru": 0, "rru": 0.0})
    for w in rec.writes:
        out[w.kind]["writes"] += 1
        out[w.kind]["wru"] += w.wru
    for r in rec.reads:
        out[r.kind]["rru"] += r.rru
    return dict(out)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, out = [], {}
    for name, mix in MIXES.items():
        with_v, without = run(args.profiles, mix, True), run(args.profiles, mix, False)
        extra = (with_v["wru"] - without["wru"]) / args.profiles
        leaked = {k: v for k, v in without["by_kind"].items() if k in EXPERIMENT_KINDS}
        out[name] = {"with_variants": with_v, "without": without, "extra_wru_per_profile": round(extra, 3),
                     "untagged_experiment_items": leaked}
        n_events = sum(without["events"].values())
        state = with_v["by_kind"].get("experiment profile state", {})
        counter = with_v["by_kind"].get("experiment counter", {})
        conversions = without["events"].get("conversion", 0)
        lookups = without["by_kind"].get("missing (batch get)", {}).get("rru", 0.0)
        out[name]["untagged_conversion_lookup_rru"] = lookups
        rows.append([name, f"{n_events:,}", without["wru"], with_v["wru"], f"{extra:.3f}",
                     f"{state.get('wru', 0) / args.profiles:.3f}", f"{counter.get('wru', 0) / args.profiles:.3f}",
                     f"{(with_v['rru'] - without['rru']) / args.profiles:.3f}",
                     "none" if not leaked else json.dumps(leaked),
                     f"{lookups:g} RRU for {conversions:,} conversions"])
        print(f"{name}: {extra:.3f} WRU per assigned profile", file=sys.stderr, flush=True)
    print(C.fmt_table(["mix", "events", "WRU without variants", "WRU with variants", "extra WRU / profile",
                       "of which profile states", "of which experiment counters", "extra RRU / profile",
                       "experiment items without variants", "untagged run: assignment look-ups"], rows))
    for name, row in out.items():
        print(f"\n{name}, with variants, WRU by item kind:")
        for kind, v in sorted(row["with_variants"]["by_kind"].items(), key=lambda kv: -kv[1]["wru"]):
            base = row["without"]["by_kind"].get(kind, {"wru": 0, "writes": 0})
            if not v["writes"] and not base["writes"]:
                continue
            print(f"  {kind:34s} {v['wru']:>7} WRU ({v['writes']:>6} writes)   without variants: {base['wru']:>7}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

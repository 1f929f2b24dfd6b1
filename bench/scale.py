"""Scale harness (issue 20 §5; not a test): shards folded concurrently against a store that
behaves like DynamoDB under load, one hot campaign and a thousand cold ones, counts checked.

    .venv/bin/python bench/scale.py [--quick] [--shards 8] [--seconds 30] [--hot 5000] [--cold 100] [--viral 0]
                                    [--throttle 0.02] [--lost 0.01] [--conflict 0.05] [--overlap 0.1]

Owns: `FlakyStore` (a boto3 DynamoDB client wrapper over in-process moto: every request
atomic under one lock, as DynamoDB's are; a few milliseconds of latency outside the lock so
shards really interleave; ProvisionedThroughputExceeded before a write with probability
`--throttle` and whenever a partition passes 1,000 writes in a simulated second; a *lost
response* (the write applied, the answer an InternalServerError) with probability `--lost`;
TransactionConflict on TransactWriteItems with probability `--conflict`), and the
simulation: each simulated second the producers post (the hot campaign as 1,000-event
requests, salted across shards once hot; the cold ones as one-event requests spread over
1,000 campaigns), then one thread per shard folds that shard's new records with its own
Aggregator (a Lambda container each), a second container re-delivers the same batch at
the same time with probability `--overlap` (a retried invocation overlapping a slow one:
the source of ConditionalCheckFailed races), and every 10 simulated seconds the
minute's schedule runs in its own thread beside the folds. At the end everything is
drained and rolled, and every campaign's counters (minute items, and the rolled hour)
must equal the events accepted. Reports conflicts, retries, writes per item and per
partition per simulated second, writers per item, and the largest item.
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.speed_up_moto()

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import services, tables  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.events import validate_batch  # noqa: E402
from chalicelib.fold.guards import is_counter  # noqa: E402
from chalicelib.frontier import FRONTIER  # noqa: E402
from chalicelib.store import StoreConfig  # noqa: E402
from chalicelib.stream import create_stream, lambda_event  # noqa: E402
from infra.local.traffic import Campaign, TrafficGenerator  # noqa: E402

WS, TABLE, STREAM = "scale", "scale-table", "scale-stream"
START = datetime(2026, 11, 25, 12, 0, 5, tzinfo=timezone.utc).timestamp()
WRITES = {"put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"}
PARTITION_WRITES_PER_S = 1000  # DynamoDB: 1,000 WCU per partition


def _error(code: str, op: str, reasons: list | None = None) -> ClientError:
    body: dict[str, Any] = {"Error": {"Code": code, "Message": f"injected {code}"}}
    if reasons:
        body["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(body, op)


def _keys(op: str, kw: dict) -> list[tuple[str, str]]:
    if op == "put_item":
        return [(kw["Item"]["pk"]["S"], kw["Item"]["sk"]["S"])]
    if op in ("update_item", "delete_item"):
        return [(kw["Key"]["pk"]["S"], kw["Key"]["sk"]["S"])]
    if op == "batch_write_item":
        out = []
        for reqs in kw["RequestItems"].values():
            for r in reqs:
                item = r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"]
                out.append((item["pk"]["S"], item["sk"]["S"]))
        return out
    if op == "transact_write_items":
        out = []
        for entry in kw["TransactItems"]:
            (name, body), = entry.items()
            k = body["Item"] if name == "Put" else body["Key"]
            out.append((k["pk"]["S"], k["sk"]["S"]))
        return out
    return []


class FlakyStore:
    """A DynamoDB client as seen under load (see the module doc); counts what happened."""

    def __init__(self, inner: Any, lock: threading.Lock, throttle: float, lost: float, conflict: float,
                 clock: Any, seed: int = 1) -> None:
        self.inner, self.lock = inner, lock
        self.throttle, self.lost, self.conflict = throttle, lost, conflict
        self.clock = clock
        self.rng = random.Random(seed)
        self.stats: Counter = Counter()
        self.per_item: Counter = Counter()  # (pk, sk, simulated second) -> writes
        self.per_partition: Counter = Counter()  # (pk, simulated second) -> writes
        self.writers: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._local = threading.local()

    def act_as(self, name: str) -> None:
        self._local.name = name

    def __getattr__(self, op: str) -> Any:
        target = getattr(self.inner, op)
        if not callable(target) or op in ("get_paginator", "meta"):
            return target

        def call(**kw: Any) -> Any:
            time.sleep(self.rng.uniform(0.001, 0.004))  # network + service latency, outside the lock
            keys = _keys(op, kw) if op in WRITES else []
            second = int(self.clock())
            with self.lock:
                roll = self.rng.random()
                if keys and (roll < self.throttle or any(
                        self.per_partition[(pk, second)] >= PARTITION_WRITES_PER_S for pk, _ in keys)):
                    self.stats["throttled (injected)"] += 1
                    raise _error("ProvisionedThroughputExceededException", op)
                if op == "transact_write_items" and self.rng.random() < self.conflict:
                    self.stats["TransactionConflict (injected)"] += 1
                    raise _error("TransactionCanceledException", op, ["TransactionConflict"])
                try:
                    out = target(**kw)
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    self.stats[code] += 1
                    raise
                for pk, sk in keys:
                    self.per_item[(pk, sk, second)] += 1
                    self.per_partition[(pk, second)] += 1
                    self.writers[(pk, sk)].add(getattr(self._local, "name", "main"))
                self.stats[op] += 1
                lost = keys and self.rng.random() < self.lost
            if lost:
                self.stats["lost responses (injected)"] += 1
                raise _error("InternalServerError", op)
            return out
        return call


class LockedKinesis:
    def __init__(self, inner: Any, lock: threading.Lock) -> None:
        self.inner, self.lock = inner, lock

    def __getattr__(self, op: str) -> Any:
        target = getattr(self.inner, op)
        if not callable(target):
            return target

        def call(*a: Any, **kw: Any) -> Any:
            with self.lock:
                return target(*a, **kw)
        return call


def run(args: argparse.Namespace) -> dict:
    now = {"t": START}
    clock = lambda: now["t"]  # noqa: E731
    lock = threading.Lock()
    rng = random.Random(args.seed)
    with mock_aws():
        raw = boto3.client("dynamodb", region_name=C.REGION)
        tables.create_table(raw, TABLE)
        kinesis = LockedKinesis(boto3.client("kinesis", region_name=C.REGION), lock)
        create_stream(kinesis, STREAM, args.shards)
        store = FlakyStore(raw, lock, args.throttle, args.lost, args.conflict, clock, args.seed)
        cfg = AppConfig(table_name=TABLE, region=C.REGION, stream_name=STREAM)
        fast = StoreConfig(table_name=TABLE, base_backoff_seconds=0.002, max_attempts=8)

        def container() -> Any:
            wired = services.build(cfg, store, kinesis, clock=clock)
            for holder in (wired.aggregator, wired.aggregator.writer, wired.aggregator.marks,
                           wired.aggregator.directory, wired.aggregator.parking, wired.rollup):
                if hasattr(holder, "config"):
                    holder.config = fast
            wired.aggregator.sleep = lambda s: None  # the commit is already there: never wait in real time
            return wired
        producer = container()
        # one-event requests of one campaign arrive through many API containers: none sees the campaign's
        # rate (ingest.HotCampaigns), only the aggregator's flag can make them salt (hot_flags.py)
        api = [container() for _ in range(max(1, args.viral // 20))]
        shards = producer.stream.shards()
        folders = {s: container() for s in shards}
        overlapping = {s: container() for s in shards}
        positions: dict[str, int] = {}
        hot = Campaign("hot-send", ("email",))
        viral = Campaign("viral-webhooks", ("email",))  # one-event requests on one campaign (--viral)
        viral_per_shard: dict[int, Counter] = defaultdict(Counter)  # simulated second -> shard -> its records
        cold = tuple(Campaign(f"cold-{i:04d}", ("email",)) for i in range(1000))
        gen = TrafficGenerator(seed=args.seed, profiles=500_000, prefix="sc")
        accepted: list[dict] = []
        totals = Counter()
        stats_all = Counter()
        wall = time.perf_counter()
        pool = ThreadPoolExecutor(len(shards) * 2 + 1)

        def fold(shard: str, raw_records: list, name: str, wired: Any) -> Any:
            store.act_as(name)
            event = lambda_event(shard, raw_records, STREAM, C.REGION)
            for attempt in range(20):  # Lambda retries a failed batch (the same records)
                try:
                    return wired.aggregator.handle(event)
                except Exception as exc:  # noqa: BLE001 - any failure: the invocation is retried
                    stats_all[f"invocation failed ({type(exc).__name__}), retried"] += 1
            raise RuntimeError("a batch kept failing")

        def roll(at: float) -> None:
            store.act_as("rollup")
            producer.roll(at)

        def tick(t: float, post: bool) -> int:
            now["t"] = t
            if post:
                for i in range(args.hot // 1000):
                    body = list(gen.events(1000, _dt(t - 1), _dt(t), (hot,)))[:1000]
                    post_one(body)
                for _ in range(args.cold):
                    post_one(list(gen.events(1, _dt(t - 1), _dt(t), cold))[:1])
                for i in range(args.viral):  # spread over API containers, ~20 requests/s each, as Lambda would
                    post_one(list(gen.events(1, _dt(t - 1), _dt(t), (viral,)))[:1], api[i % len(api)])
            now["t"] = t + 0.5
            futures = []
            for shard in shards:
                batch = list(producer.stream.read(shard, positions.get(shard)))
                if not batch:
                    continue
                positions[shard] = int(batch[-1]["SequenceNumber"])
                if args.viral:
                    viral_per_shard[int(t - START)][shard] += sum(
                        1 for r in batch if r["PartitionKey"].startswith(f"{WS}#{viral.campaign_id}"))
                futures.append(pool.submit(fold, shard, batch, shard, folders[shard]))
                if rng.random() < args.overlap:
                    stats_all["overlapping invocations"] += 1
                    futures.append(pool.submit(fold, shard, batch, shard + "/overlap", overlapping[shard]))
            if int(t) % 10 == 0:
                futures.append(pool.submit(roll, t + 0.5))
            for f in futures:
                s = f.result()
                if s is not None:
                    stats_all["slow items (condition failed, recomputed)"] += s.slow_items
                    stats_all["dead-lettered items"] += s.dead_items
                    stats_all["parked records"] += s.parked
            return len(futures)

        def post_one(body: list[dict], via: Any = None) -> None:
            store.act_as("ingest")
            out = (via or producer).ingest.ingest(WS, __import__("json").dumps({"events": body}).encode(), None)
            assert not out.body["rejected"], out.body["rejected"][:2]
            ok, _ = validate_batch(body, _dt(now["t"] + 1))
            for _, e in ok:
                totals[(e.campaign_id, e.type)] += 1
                if e.type == "open" and e.machine:
                    totals[(e.campaign_id, "open_machine")] += 1
            accepted.extend(body)

        for second in range(args.seconds):
            tick(START + second + 1, True)
        t = START + args.seconds + 1
        while tick(t, False):  # drain what is left
            t += 1
        now["t"] = START + 3 * 3600
        producer.roll(now["t"])
        pool.shutdown()
        elapsed = time.perf_counter() - wall
        exact, mismatches, hour_exact = check(raw, totals)
        largest = max_item(raw)
    per_item = max(store.per_item.items(), key=lambda kv: kv[1])
    per_partition = max(store.per_partition.items(), key=lambda kv: kv[1])
    writers = Counter(len(w) for k, w in store.writers.items() if k[1].startswith("M#"))
    return {"events": len(accepted), "campaigns": len({c for c, _ in totals}), "shards": len(shards),
            "wall_seconds": elapsed, "store": dict(store.stats), "fold": dict(stats_all),
            "max_writes_item_second": per_item, "max_writes_partition_second": per_partition,
            "minute_items_by_writer_count": dict(writers), "largest_item": largest,
            "exact_minutes": exact, "exact_hours": hour_exact, "mismatches": mismatches[:10],
            "viral": _viral_summary(viral_per_shard, folders.values()) if args.viral else None}


def _viral_summary(per_second: dict[int, Counter], folders: Any) -> dict:
    """One campaign's one-event requests: the busiest shard's share of them each simulated second,
    and when ingest began salting them (the aggregator's flag, read every 10 s)."""
    busiest = {sec: max(c.values()) for sec, c in sorted(per_second.items()) if c}
    shards = {sec: sum(1 for n in c.values() if n) for sec, c in sorted(per_second.items()) if c}
    salted_from = next((sec for sec, n in shards.items() if n > 1), None)
    return {"busiest_shard_records_per_second": busiest, "shards_used": shards, "salted_from_second": salted_from,
            "flags_written": sum(f.aggregator.hot.writes for f in folders if f.aggregator.hot)}


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _scan(client: Any) -> list[dict]:
    items = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        items.extend(page["Items"])
    return items


def check(client: Any, expected: Counter) -> tuple[bool, list, bool]:
    """Every campaign's metric counters, summed over its minute items (salts included), equal the
    events accepted; and the rolled hour items hold the same sums."""
    minutes, hours = Counter(), Counter()
    for item in _scan(client):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if "#C#" not in pk or pk.endswith("#DIMS") or not sk[:2] in ("M#", "H#"):
            continue
        campaign = pk.split("#C#", 1)[1].rsplit("#", 1)[0]
        target = minutes if sk.startswith("M#") else hours
        for attr, value in item.items():
            if "N" in value and is_counter(attr) and "|" not in attr and attr not in (tables.TTL_ATTRIBUTE, FRONTIER):
                target[(campaign, attr)] += int(value["N"])
    mismatches = [(k, expected[k], minutes[k]) for k in set(expected) | set(minutes) if expected[k] != minutes[k]]
    return not mismatches, sorted(mismatches), hours == minutes


def max_item(client: Any) -> tuple[int, str]:
    return max(((C.item_size(i), i["sk"]["S"][:40]) for i in _scan(client)), default=(0, ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=None, help="simulated seconds of traffic (default 30, quick 8)")
    ap.add_argument("--hot", type=int, default=5000, help="hot campaign events/s (1,000-event requests)")
    ap.add_argument("--cold", type=int, default=None, help="one-event requests/s over 1,000 cold campaigns (default 100, quick 40)")
    ap.add_argument("--viral", type=int, default=0,
                    help="one-event requests/s on one campaign (webhooks of one big send): salted once the aggregator flags it")
    ap.add_argument("--throttle", type=float, default=0.02)
    ap.add_argument("--lost", type=float, default=0.01)
    ap.add_argument("--conflict", type=float, default=0.05)
    ap.add_argument("--overlap", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    args.seconds = args.seconds or (8 if args.quick else 30)
    args.cold = args.cold if args.cold is not None else (40 if args.quick else 100)
    r = run(args)
    print(f"# bench/scale.py: {r['events']:,} events over {r['campaigns']:,} campaigns, {r['shards']} shards, "
          f"{args.seconds} simulated s (hot {args.hot:,} events/s, cold {args.cold} requests/s), "
          f"{r['wall_seconds']:.0f} s wall\n")
    print(C.fmt_table(["what happened", "count"], sorted([[k, v] for k, v in {**r["store"], **r["fold"]}.items()])))
    (pk, sk, sec), n = r["max_writes_item_second"]
    (ppk, psec), pn = r["max_writes_partition_second"]
    print(f"\nbusiest item: {n} writes in one simulated second ({pk} {sk}); busiest partition: {pn} writes in one "
          f"simulated second ({ppk}); DynamoDB's limit: {PARTITION_WRITES_PER_S:,} WCU per partition")
    print(f"minute counter items by number of writers (containers): {r['minute_items_by_writer_count']} "
          "(2 = a shard's container and an overlapping retry of the same batch)")
    print(f"largest item: {r['largest_item'][0]:,} bytes ({r['largest_item'][1]})")
    print(f"counts exact (minute items = events accepted, per campaign and metric): {r['exact_minutes']}; "
          f"rolled hours = minutes: {r['exact_hours']}")
    if r["viral"]:
        v = r["viral"]
        print(f"one campaign's one-event requests ({args.viral:,}/s): salted from simulated second "
              f"{v['salted_from_second']} ({v['flags_written']} flag writes); busiest shard's records/s by second: "
              f"{v['busiest_shard_records_per_second']}; shards used: {v['shards_used']}")
    if not r["exact_minutes"]:
        print("MISMATCHES (campaign, metric), expected, counted:", r["mismatches"])
        sys.exit(1)


if __name__ == "__main__":
    main()

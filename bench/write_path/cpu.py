"""CPU of the write path: validate (ingest side) and aggregate (aggregator side) of
5,000-event batches, events per CPU-second of this process (time.process_time), best of N;
JSON parsing, record encode/decode and the fold's sketch deltas timed apart."""
from __future__ import annotations

import gc
import json
import statistics
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from scenarios import HOUR_START, _events

from infra.local.traffic import TrafficGenerator

WS = "bench"


def bench_cpu(batches: int, size: int = 5000) -> dict:
    from chalicelib.aggregate import aggregate
    from chalicelib.aggregator import Aggregator, _Fold
    from chalicelib.events import validate_batch
    from chalicelib.ingest import parse_body
    from chalicelib.store import StoreConfig
    from chalicelib.stream import compact, decode, encode
    clock = time.process_time
    now = datetime.fromtimestamp(HOUR_START, tz=timezone.utc) + timedelta(minutes=5)
    gen = TrafficGenerator(seed=1, profiles=200_000, prefix="cpu")
    bodies = [json.dumps({"events": _events(gen, size, now.timestamp() - 300, now.timestamp())}).encode()
              for _ in range(batches)]
    stub = Aggregator(None, StoreConfig(table_name="bench"), None, None, None)  # _sketch_deltas reads nothing
    t: dict[str, list[float]] = defaultdict(list)
    for body in bodies:
        gc.collect()
        c0 = clock()
        raw = parse_body(body)
        c1 = clock()
        accepted, rejected = validate_batch(raw, now)
        c2 = clock()
        records = encode(WS, "b", "a", now.timestamp(), [compact(e) for _, e in accepted])
        c3 = clock()
        decoded = [decode(r, "shardId-000000000000", i + 1) for i, r in enumerate(records)]
        c4 = clock()
        agg = aggregate(((d.workspace, d.received_at, d.events, d.salt) for d in decoded),
                        lambda ws, c, d, v: {x: x for x in v})
        c5 = clock()
        stub._sketch_deltas(_Fold("0", 1, len(records), decoded, agg))
        c6 = clock()
        assert not rejected and agg.events == size
        for name, dt in (("json.loads", c1 - c0), ("validate", c2 - c1), ("compact + encode", c3 - c2),
                         ("decode", c4 - c3), ("aggregate", c5 - c4), ("sketch deltas (HLL)", c6 - c5)):
            t[name].append(dt)
    va = [v + a for v, a in zip(t["validate"], t["aggregate"])]
    return {"batches": batches, "batch_size": size,
            "best_eps": {k: size / min(v) for k, v in t.items()},
            "median_ms": {k: 1e3 * statistics.median(v) for k, v in t.items()},
            "validate_aggregate_best": size / min(va), "validate_aggregate_median": size / statistics.median(va)}

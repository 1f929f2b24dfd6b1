"""Hostile report parameters (issue 19): DynamoDB requests, items and wall time of
normal and hostile global-report requests over the same campaign, in one run.

    .venv/bin/python bench/hostile.py [--hours 72] [--json out.json]

A small email campaign (3 events an hour per execution, 3 executions, 72 hours)
goes through the product's HTTP ingest, aggregator and rollup against
in-process moto; then each request below is made through the Chalice test
client, with every DynamoDB call the app makes counted by a botocore hook
(requests by operation, items returned). Requests are compared with the
normal one over the same data: the numbers must be equal. Wall times are
moto's (slow serialisation), so only their ratios within one run mean
anything; requests and items are what DynamoDB would bill.

The script uses nothing but HTTP, so it runs on any version of the product
(docs/performance.md records it on `main` before issue 19 and after).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402,F401  (sets sys.path and fake AWS env)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import services, tables  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.stream import create_stream  # noqa: E402

TABLE, STREAM, CAMPAIGN, WS = "livereport-bench", "livereport-bench-events", "hostile", "bench"


def seed(api, key: str, hours: int, now: float) -> int:
    start = int(now) - int(now) % 3600 - hours * 3600
    events = []
    for h in range(hours):
        for k, execution in enumerate(("run-a", "run-b", None)):
            ts = start + h * 3600 + k * 900 + 60
            for n, kind in enumerate(("targeted", "sent", "delivered", "open", "click")):
                events.append({"event_id": f"e{h}-{k}-{n}", "type": kind, "campaign_id": CAMPAIGN, "channel": "email",
                               "profile_id": f"p{h}-{k}", "recipient_domain": "example.com",
                               "timestamp": datetime.fromtimestamp(ts + 30 * n, timezone.utc).isoformat(),
                               **({"execution_id": execution} if execution else {}),
                               **({"url": "https://shop.example.com/a"} if kind == "click" else {})})
    wired = api["wired"]
    real = wired.ingest.clock
    try:
        for i in range(0, len(events), 200):
            batch = events[i:i + 200]
            last = datetime.fromisoformat(batch[-1]["timestamp"]).timestamp()
            wired.ingest.clock = lambda last=last: last + 1
            r = api["client"].http.post("/v1/events", body=json.dumps({"events": batch}).encode(), headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            assert r.status_code == 200, r.body
            wired.pump()
    finally:
        wired.ingest.clock = real
    return len(events)


def measure(api, key: str, query: str) -> dict:
    ops: Counter = Counter()
    items = [0]
    mine = [False]

    def before(params, model, **_):
        mine[0] = CAMPAIGN in json.dumps(params, default=str)
        if mine[0]:
            ops[model.name] += 1

    def after(parsed, model, **_):
        if mine[0]:
            items[0] += len(parsed.get("Items", [])) + (1 if parsed.get("Item") else 0)

    client = api["wired"].client
    client.meta.events.register("provide-client-params.dynamodb.*", before)
    client.meta.events.register("after-call.dynamodb.*", after)
    started = time.perf_counter()
    try:
        r = api["client"].http.get(f"/v1/campaigns/{CAMPAIGN}/report?channel=email&{query}",
                                   headers={"Authorization": f"Bearer {key}"})
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", before)
        client.meta.events.unregister("after-call.dynamodb.*", after)
    ms = (time.perf_counter() - started) * 1000
    body = json.loads(r.body) if r.body else {}
    series = body.get("series", {})
    return {"query": query, "status": r.status_code, "requests": sum(ops.values()), "by_op": dict(ops),
            "items": items[0], "ms": round(ms), "bytes": len(r.body or b""),
            "slots": len(series.get("timestamps", [])), "sent": body.get("totals", {}).get("sent"),
            "error": body.get("error", {}).get("message")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--json")
    parser.add_argument("--skip", default="", help="skip the requests whose name contains this (e.g. 2100 on main)")
    args = parser.parse_args()
    now = time.time()
    day = lambda days: (datetime.now(timezone.utc) + timedelta(days=days)).date().isoformat()  # noqa: E731
    queries = [
        ("whole life (normal)", ""),
        ("from the first day (normal)", f"from={day(-4)}"),
        ("to in 200 days", f"from={day(-4)}&to={day(200)}"),
        ("to=2027-12-31", f"from={day(-4)}&to=2027-12-31"),
        ("to=2100-12-31", f"from={day(-4)}&to=2100-12-31"),
        ("from=2000-01-01", "from=2000-01-01"),
        ("from=1000-01-01", "from=1000-01-01"),
        ("from=2000-01-01&to in 200 days", f"from=2000-01-01&to={day(200)}"),
        ("100 executions", "&".join(f"execution=x{i}" for i in range(98)) + "&execution=run-a&execution=run-b"),
        ("compare=previous, to in 200 days", f"from={day(-1)}&to={day(200)}&compare=previous"),
    ]
    C.speed_up_moto()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=C.REGION)
        tables.create_table(client, TABLE)
        create_stream(boto3.client("kinesis", region_name=C.REGION), STREAM, 1)
        wired = services.build(AppConfig(table_name=TABLE, region=C.REGION, stream_name=STREAM), client)
        import app as app_module
        from chalice.test import Client
        app_module.wired = lambda: wired
        with Client(app_module.app, stage_name="dev", project_dir=str(C.ROOT / "functions")) as http:
            api = {"client": http, "wired": wired}
            key = wired.keys.create(WS, ["ingest", "read"])[1]
            n = seed(api, key, args.hours, now)
            print(f"seeded {n} events over {args.hours} hours", file=sys.stderr)
            rows = [{"name": name, **measure(api, key, q)} for name, q in queries
                    if not args.skip or args.skip not in name]
    print("| request | status | DynamoDB requests | items | ms | body bytes | series slots | sent |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['status']} | {r['requests']} ({', '.join(f'{k} {v}' for k, v in sorted(r['by_op'].items()))})"
              f" | {r['items']} | {r['ms']:,} | {r['bytes']:,} | {r['slots']} | {r['sent'] if r['sent'] is not None else r['error']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

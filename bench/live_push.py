"""The live channel against today's polling, measured in the same run (docs/performance.md, "Live updates").

One local stack (moto, the Chalice app, the WebSocket server, the page) and Chromium. Two pages watch the
same campaign: one with the live channel (socketUrl), one without (the one-second stamp poll). Each sample
is one POST; both pages' "POST answered -> number changed" delays are taken from it. Then:

- requests each page makes, idle and with the campaign changing every second, priced per viewer-hour;
- ten viewers of one busy campaign: report computations per fold with the shared cache;
- the aggregator's extra work per fold: notifying 1 and 10 subscribed connections.

    .venv/bin/python bench/live_push.py [--samples 20] [--busy-seconds 20]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

#: AWS list prices, us-east-1, as published in 2025 (checked 2026-12-04 against the pricing pages' last
#: known figures; DynamoDB on-demand after its November 2024 cut)
PRICES = {
    "rest_request": 3.50e-6,        # API Gateway REST API, per request (first 333 M/month)
    "ws_message": 1.00e-6,          # API Gateway WebSocket, per message (32 KB units, first 1 B/month)
    "ws_minute": 0.25e-6,           # API Gateway WebSocket, per connection minute
    "lambda_request": 0.20e-6,      # Lambda, per invocation
    "lambda_gb_second": 16.6667e-6,  # Lambda x86, per GB-second
    "rru": 0.125e-6,                # DynamoDB on-demand read request unit
    "wru": 0.625e-6,                # DynamoDB on-demand write request unit
}
API_MEMORY_GB = 0.5  # infra/cdk/config.py lambda_memory_mb
CAMPAIGN = "bench-live"


def lambda_cost(ms: float, gb: float = API_MEMORY_GB) -> float:
    return PRICES["lambda_request"] + PRICES["lambda_gb_second"] * gb * max(ms, 1) / 1000


def post(api_url: str, key: str, n: int = 1, tag: str = "") -> None:
    now = datetime.now(timezone.utc).isoformat()
    body = json.dumps({"events": [{"event_id": f"{tag}{time.time_ns()}-{i}", "timestamp": now, "campaign_id": CAMPAIGN,
                                   "channel": "email", "type": "sent", "profile_id": f"p{i}"} for i in range(n)]})
    req = urllib.request.Request(f"{api_url}/v1/events", data=body.encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--samples", type=int, default=20)
    args.add_argument("--busy-seconds", type=int, default=20)
    args.add_argument("--idle-seconds", type=int, default=30)
    opts = args.parse_args()

    from infra.local import console
    console.configure()
    from infra.local.stack import LocalStack
    from tests.browser.test_live_push import Site, SENT
    stack = LocalStack(table_name="bench-live")
    stack.start_moto()
    stack.create_table()
    stack.start_api()
    from infra.local.accounts import start_accounts
    stack.accounts = start_accounts(stack, email="bench@example.com", password="Bench-Pa55-word!",
                                    outbox=Path("/tmp/bench-live-outbox"))
    _, key = stack.services.keys.create("bench", ["ingest", "read"], "bench")
    stack.key = key
    post(stack.api_url, key, 5, "seed")
    stack.services.pump()
    live_site = Site(stack, socketUrl=stack.socket.url, refreshSeconds=30)
    poll_site = Site(stack, refreshSeconds=30)

    from playwright.sync_api import sync_playwright
    counts = {"live": {"stamp": 0, "report": 0}, "poll": {"stamp": 0, "report": 0}}
    out: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        for name, site in (("live", live_site), ("poll", poll_site)):
            page = browser.new_page(viewport={"width": 1440, "height": 900})

            def count(r, name=name):
                if "/stamp" in r.url:
                    counts[name]["stamp"] += 1
                elif "/live?" in r.url:
                    counts[name]["report"] += 1
            page.on("request", count)
            page.goto(site.web_url)
            page.evaluate("k => { sessionStorage.setItem('clr.readKey', k); localStorage.setItem('clr.prefs.v1', "
                          "JSON.stringify({lang: 'en', tz: 'UTC', campaign: 'bench-live', tab: 'email'})) }", key)
            page.goto(site.web_url + f"?ws=bench&campaign={CAMPAIGN}&tab=email&mode=live")
            page.wait_for_selector(f"main[data-loaded='{CAMPAIGN}:email:live']", timeout=30000)
            pages[name] = page
        pages["live"].wait_for_selector(".status[data-live=live]", timeout=20000)

        def value(page) -> int:
            return int(page.eval_on_selector(SENT, "e => e.dataset.value"))

        delays: dict[str, list[float]] = {"live": [], "poll": []}
        for i in range(opts.samples):
            time.sleep(0.137 * (i % 7) + 0.3)  # different points of the polling cycle
            before = {n: value(pg) for n, pg in pages.items()}
            post(stack.api_url, key, 1, "f")
            posted = time.monotonic()
            pending = set(pages)
            while pending and time.monotonic() - posted < 30:
                for n in list(pending):
                    if value(pages[n]) == before[n] + 1:
                        delays[n].append(time.monotonic() - posted)
                        pending.discard(n)
                time.sleep(0.02)
        out["freshness"] = {n: {"samples": len(d), "median_s": round(statistics.median(d), 2),
                                "p95_s": round(p95(d), 2), "max_s": round(max(d), 2)} for n, d in delays.items()}

        # Playwright's sync API delivers request events while one of its calls runs: wait through it.
        def wait(seconds: float) -> None:
            pages["live"].wait_for_timeout(seconds * 1000)

        # idle: nothing posted
        wait(2)
        for c in counts.values():
            c.update(stamp=0, report=0)
        wait(opts.idle_seconds)
        idle = {n: dict(c) for n, c in counts.items()}
        # busy: one event a second
        for c in counts.values():
            c.update(stamp=0, report=0)
        started = time.monotonic()
        while time.monotonic() - started < opts.busy_seconds:
            post(stack.api_url, key, 1, "b")
            wait(max(0.05, 1 - (time.monotonic() - started) % 1))
        wait(1)
        busy = {n: dict(c) for n, c in counts.items()}
        browser.close()

    out["requests"] = {"idle": {"seconds": opts.idle_seconds, **idle}, "busy": {"seconds": opts.busy_seconds, **busy}}
    out["cost_per_viewer_hour"] = costs(idle, busy, opts)
    out["shared_cache"] = shared_cache(stack, key)
    out["aggregator_per_fold"] = aggregator_extra(stack, key)
    print(json.dumps(out, indent=2))
    live_site.close()
    poll_site.close()
    stack.stop()
    os._exit(0)


def costs(idle: dict, busy: dict, opts) -> dict:
    """$ per viewer-hour. REST requests: API Gateway + Lambda (~30 ms for a stamp, ~150 ms for a report) +
    the authorizer (cached 60 s: one call a minute at most) + DynamoDB (a stamp 0.5 RRU; a report read
    ~20 RRU when computed, 1 RRU from the shared cache). Live: connection minutes, the keepalive
    (one message each way every 4 minutes, a Lambda call), one pushed message per fold."""
    stamp = PRICES["rest_request"] + lambda_cost(30) + 0.5 * PRICES["rru"]
    report = PRICES["rest_request"] + lambda_cost(150) + 20 * PRICES["rru"]
    authorizer = 60 * lambda_cost(20)
    out = {}
    for state, counts, seconds in (("idle", idle, opts.idle_seconds), ("busy", busy, opts.busy_seconds)):
        scale = 3600 / seconds
        for name in ("poll", "live"):
            c = counts[name]
            per_hour = {"stamp": c["stamp"] * scale, "report": c["report"] * scale}
            if name == "live" and state == "idle":
                # the measured window is shorter than the live cadence: take it from the page's config
                per_hour = {"stamp": 60.0, "report": 12.0}  # safetySeconds 60, liveRefreshSeconds 300
            dollars = per_hour["stamp"] * stamp + per_hour["report"] * report + authorizer
            if name == "live":
                keepalive = 15 * (2 * PRICES["ws_message"] + lambda_cost(20))
                pushed = (3600 if state == "busy" else 0) * PRICES["ws_message"]
                dollars += 60 * PRICES["ws_minute"] + keepalive + pushed
            out[f"{state}_{name}"] = {"requests_per_hour": {k: round(v) for k, v in per_hour.items()},
                                      "dollars": round(dollars, 6)}
    return out


def shared_cache(stack, key: str, viewers: int = 10, folds: int = 5) -> dict:
    """Ten viewers fetch the report after each fold, at once: how many computations."""
    cache = stack.services.live_cache
    before = (cache.stats.computed, cache.stats.memory_hits + cache.stats.table_hits)
    timings = []
    for _ in range(folds):
        post(stack.api_url, key, 1, "c")
        stack.services.pump()
        barrier = threading.Barrier(viewers)

        def view() -> None:
            barrier.wait()
            t = time.perf_counter()
            urllib.request.urlopen(urllib.request.Request(
                f"{stack.api_url}/v1/campaigns/{CAMPAIGN}/live?channel=email",
                headers={"Authorization": f"Bearer {key}"}), timeout=60).read()
            timings.append(time.perf_counter() - t)
        threads = [threading.Thread(target=view) for _ in range(viewers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    computed = cache.stats.computed - before[0]
    hits = cache.stats.memory_hits + cache.stats.table_hits - before[1]
    return {"viewers": viewers, "folds": folds, "computations": computed, "served_from_cache": hits,
            "computations_per_fold": round(computed / folds, 2), "median_request_s": round(statistics.median(timings), 3)}


def aggregator_extra(stack, key: str) -> dict:
    """Wall time of one fold's notification with 1 and 10 subscribed connections (local server)."""
    from websockets.sync.client import connect
    from chalicelib.live_push.notifier import Stamped
    out = {}
    for n in (1, 10):
        sockets = [connect(stack.socket.url, legacy=True) for _ in range(n)]
        for ws in sockets:
            ws.send(json.dumps({"action": "subscribe", "token": key, "campaigns": ["notify-bench"]}))
            ws.recv(timeout=10)
        runs = []
        for _ in range(10):
            t = time.perf_counter()
            stack.services.notifier([Stamped("bench", "notify-bench", "s", ("202601010000",))])
            runs.append(time.perf_counter() - t)
            for ws in sockets:
                ws.recv(timeout=10)
        for ws in sockets:
            ws.close()
        out[f"{n}_connections"] = {"median_ms": round(1000 * statistics.median(runs), 1),
                                   "dynamodb": "1 Query (0.5 RRU) per stamped campaign",
                                   "messages": n, "dollars": round(0.5 * PRICES["rru"] + n * PRICES["ws_message"], 8)}
    return out


if __name__ == "__main__":
    sys.exit(main())

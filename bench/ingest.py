"""Write-path cost curve (issue 20): DynamoDB write units per event, read units, Kinesis
records and aggregator invocations per 1,000 events, for each traffic pattern of
bench/write_path/scenarios.py, beside the previous design (58732dc) and the naive
baseline on the same events, in one run; and validate + aggregate per CPU-second.

    .venv/bin/python bench/ingest.py [--quick] [--only single-1,mix,cpu] [--no-previous]
                                     [--json out.json] [--plot curve.png]

This file is the entry only: the harness (simulated clock, priced requests) is in
bench/write_path/harness.py, the traffic in scenarios.py, the baselines in
baselines.py, the CPU measure in cpu.py. docs/performance.md explains the method.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "write_path"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.speed_up_moto()

import baselines  # noqa: E402
import cpu  # noqa: E402
import harness  # noqa: E402
import scenarios  # noqa: E402

#: issue 20's targets, WRU per event (and events per CPU-second)
TARGETS = {"single-1": 3.0, "single-5": 2.0, "single-20": 1.5, "single-50": 1.5, "single-200": 1.5,
           "single-1000": 1.5, "batch-minute": 0.08}
TARGET_EPS = 150_000
WRU_PRICE, RRU_PRICE = 1.25 / 1e6, 0.25 / 1e6  # on-demand, us-east-1 list prices (2026-11)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short samples (about two minutes)")
    ap.add_argument("--only", help="comma-separated scenario keys and/or 'cpu' (default: all)")
    ap.add_argument("--no-previous", action="store_true", help="skip the previous design's column")
    ap.add_argument("--cpu-batches", type=int, default=None, help="5,000-event batches (default 9, quick 5)")
    ap.add_argument("--json", default=str(baselines.OUT / "ingest.json"), help="results (default bench/out/)")
    ap.add_argument("--plot", default=str(baselines.OUT / "write-cost-curve.png"), help="the curve (PNG)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    started = time.perf_counter()
    load = os.getloadavg()
    print(f"# bench/ingest.py ({datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, {os.cpu_count()} CPUs, load "
          f"{load[0]:.1f}, python {sys.version.split()[0]}{', --quick' if args.quick else ''})\n", flush=True)
    chosen = scenarios.all_scenarios(args.quick, only)
    previous = None
    if chosen and not args.no_previous:
        previous = baselines.start_previous_design(chosen)  # runs beside this process
    results: dict = {"new": {}, "previous": {}, "naive": {}}
    for sc in chosen:
        r = harness.measure(sc)
        results["new"][sc.key] = r
        results["naive"][sc.key] = baselines.naive_cost([e for _, evs in sc.requests for e in evs])
        print(f"{sc.key}: {r['wru']:.3f} WRU/event ({r['events']:,} events, {r['wall_seconds']:.0f} s)", flush=True)
    if only is None or "cpu" in only:
        results["cpu"] = cpu.bench_cpu(args.cpu_batches or (5 if args.quick else 9))
    if previous is not None:
        results["previous"] = baselines.finish_previous_design(*previous)
    print()
    report(results, chosen)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    if chosen:
        plot(results, Path(args.plot))
        print(f"\nresults: {out}; plot: {args.plot}")
    print(f"total run time {time.perf_counter() - started:.0f} s; load at the end "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


def verdict(key: str, value: float) -> tuple[str, str]:
    target = TARGETS.get(key)
    if target is None:
        return "", ""
    return f"≤ {target:g}", "met" if value <= target else f"**missed** by {value - target:.3f}"


def report(results: dict, chosen: list) -> None:
    rows = []
    for sc in chosen:
        r, p, nv = results["new"][sc.key], results["previous"].get(sc.key), results["naive"][sc.key]
        target, ok = verdict(sc.key, r["wru"])
        rows.append([sc.label, f"{r['events']:,}",
                     f"**{r['wru']:.3f}** ({r['ingest_wru']:.2f} + {r['fold_wru']:.3f} + {r['rollup_wru']:.3f})",
                     f"{p['wru']:.3f}" if p else "", f"{r['wru'] / p['wru']:.2f}" if p else "",
                     f"{nv['wru']:.3f}", f"{r['wru'] / nv['wru']:.2f}", f"{r['rru']:.2f}",
                     f"{r['kinesis_records_per_1000']:.1f}", f"{r['invocations_per_1000']:.1f}", target, ok])
    if rows:
        print("## WRU per event\n")
        print(C.fmt_table(["traffic", "events", "new (ingest + aggregator + rollup)", "previous (58732dc)",
                           "new/prev", "naive", "new/naive", "RRU/event", "Kinesis records /1k ev",
                           "aggregator invocations /1k ev", "target", "verdict"], rows))
        print("\n## previous design (58732dc): RRU, records, invocations per 1,000 events\n")
        print(C.fmt_table(["traffic", "WRU/event (ingest + aggregator + rollup)", "RRU/event", "Kinesis records /1k ev",
                           "invocations /1k ev"],
                          [[sc.label, f"{p['wru']:.3f} ({p['ingest_wru']:.2f} + {p['fold_wru']:.3f} + "
                            f"{p['rollup_wru']:.3f})", f"{p['rru']:.2f}", f"{p['kinesis_records_per_1000']:.1f}",
                            f"{p['invocations_per_1000']:.1f}"]
                           for sc in chosen if (p := results["previous"].get(sc.key))]))
        print("\n## new design: aggregator writes per event, by item kind\n")
        kinds = sorted({k for sc in chosen for k in results["new"][sc.key]["by_kind"]["fold"]})
        print(C.fmt_table(["traffic"] + kinds + ["largest item written (bytes, kind)"],
                          [[sc.key] + [f"{results['new'][sc.key]['by_kind']['fold'].get(k, {}).get('wru', 0) / results['new'][sc.key]['events']:.3f}"
                                       for k in kinds] + [str(tuple(results["new"][sc.key]["largest_item"]))]
                           for sc in chosen]))
        print("\n## cost per million events (DynamoDB on-demand $1.25/M WRU, $0.25/M RRU; Kinesis: see docs)\n")
        print(C.fmt_table(["traffic", "DynamoDB writes", "DynamoDB reads", "Kinesis on-demand data in+out",
                           "Kinesis provisioned (1 shard-hours at this rate + PUT units)"],
                          [[sc.key, f"${results['new'][sc.key]['wru'] * WRU_PRICE * 1e6:.2f}",
                            f"${results['new'][sc.key]['rru'] * RRU_PRICE * 1e6:.2f}",
                            f"${results['new'][sc.key]['stream']['on_demand_data_per_m']:.3f}",
                            f"${results['new'][sc.key]['stream']['provisioned_per_m']:.3f}"] for sc in chosen]))
    if "cpu" in results:
        c = results["cpu"]
        print("\n## CPU, 5,000-event batches, events per CPU-second (best)\n")
        print(C.fmt_table(["step", "best events/CPU-s", "median ms per batch"],
                          [[k, f"{v:,.0f}", f"{c['median_ms'][k]:.1f}"] for k, v in c["best_eps"].items()] +
                          [["**validate + aggregate**", f"**{c['validate_aggregate_best']:,.0f}**",
                            f"(median {c['validate_aggregate_median']:,.0f}/s)"]]))
        ok = c["validate_aggregate_best"] >= TARGET_EPS
        print(f"\nvalidate + aggregate: target ≥ {TARGET_EPS:,}: {'met' if ok else '**missed**'}")


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    new, prev, naive = results["new"], results["previous"], results["naive"]
    singles = sorted((k for k in new if k.startswith("single-")), key=lambda k: new[k]["rate_rps"])
    fig, ax = plt.subplots(figsize=(12, 5.2), dpi=110)
    x = [new[k]["rate_rps"] for k in singles]
    ax.plot(x, [new[k]["wru"] for k in singles], "o-", color="#1f77b4", lw=2, label="new design (c3f6a09+)")
    if all(k in prev for k in singles):
        ax.plot(x, [prev[k]["wru"] for k in singles], "s--", color="#d62728", label="previous design (58732dc)")
    ax.plot(x, [naive[k]["wru"] for k in singles], "^:", color="#7f7f7f", label="naive: one UpdateItem per event")
    targets = [(TARGETS[k], new[k]["rate_rps"]) for k in singles if k in TARGETS]
    ax.scatter([t[1] for t in targets], [t[0] for t in targets], marker="_", s=400, color="#2ca02c", lw=2.5,
               label="target (issue 20)", zorder=5)
    for key, marker, color in (("batch-minute", "D", "#9467bd"), ("batch-second", "P", "#8c564b"), ("mix", "*", "#e377c2")):
        if key in new:
            r = new[key]
            ax.scatter([r["events_per_s"]], [r["wru"]], marker=marker, s=90, color=color, zorder=6,
                       label=f"{key}: {r['wru']:.3f} new" + (f" / {prev[key]['wru']:.3f} previous" if key in prev else ""))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("one-event requests per second (batches and mix: events per second)")
    ax.set_ylabel("DynamoDB write units per event (ingest + aggregator + rollup)")
    ax.set_title("Write cost per event, 1 s batching window, 2 shards (bench/ingest.py)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()

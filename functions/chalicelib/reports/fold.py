"""Fold counter items of a read plan into totals, breakdowns, executions and series.

Shared by the live and the global report: both differ only in their plan
(which granularities cover which stretch of time) and their series step.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from .. import buckets, catalogue, tables
from ..aggregate import split_dim_attr
from ..fold.guards import is_counter
from ..frontier import FRONTIER, read_hours
from ..sketches import SketchStore, summarise, union_of
from ..store import CounterStore, ReadStats

RESERVED = {tables.PK, tables.SK, tables.TTL_ATTRIBUTE, FRONTIER}


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fold:
    series_start: int
    series_end: int
    step: int
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    executions: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    seen_executions: set[str] = field(default_factory=set)
    dims: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int))))
    series: dict[str, list[int]] = field(default_factory=dict)
    stats: ReadStats = field(default_factory=ReadStats)
    #: distinct profiles per hour slot, for hourly series (from the hour sketches)
    distinct_series: dict[str, list[int]] = field(default_factory=dict)
    #: execution -> start of the latest bucket it has counts in (newest runs are listed first)
    last_activity: dict[str, int] = field(default_factory=dict)

    @property
    def slots(self) -> int:
        return max(1, -(-(self.series_end - self.series_start) // self.step))

    def add_item(self, item: dict[str, Any], executions: set[str] | None) -> None:
        gran, bucket, execution = tables.parse_counter_sk(item[tables.SK])
        self.seen_executions.add(execution)
        if executions is not None and execution not in executions:
            return
        start = buckets.bucket_start(gran, bucket)
        slot = (start - self.series_start) // self.step
        row = self.executions[execution]
        if start > self.last_activity.get(execution, -1):
            self.last_activity[execution] = start
        for attr, n in item.items():
            if attr in RESERVED or not is_counter(attr):
                continue
            parsed = split_dim_attr(attr)
            if parsed:
                dim, metric, value = parsed
                self.dims[dim][value][metric] += n
                continue
            self.totals[attr] += n
            row[attr] += n
            values = self.series.get(attr)
            if values is None:
                values = self.series[attr] = [0] * self.slots
            if 0 <= slot < len(values):
                values[slot] += n


def read_counters(store: CounterStore, pk: str, plan: list[buckets.Range], fold: Fold,
                  executions: set[str] | None, now: float, minute_limit: int | None = None) -> None:
    """Counter items of a plan; hour ranges as hour items plus the minutes after their frontier."""
    for gran, start, end in plan:
        if gran == tables.HOUR:
            for _, item in read_hours(store, pk, "", start, end, now, fold.stats, minute_limit):
                fold.add_item(item, executions)
            continue
        lo, hi = buckets.sk_bounds("", gran, start, end)
        for item in store.query(pk, lo, hi, fold.stats):
            fold.add_item(item, executions)


def with_derived(channel: str, counts: dict[str, int]) -> dict[str, int]:
    """Every metric of the channel, 0 when absent, plus derived sums."""
    out = {}
    for metric in catalogue.metrics_for(channel):
        if metric in catalogue.DERIVED_TOTALS:
            parts = catalogue.DERIVED_TOTALS[metric][0]
            out[metric] = sum(int(counts.get(p, 0)) for p in parts)
        else:
            out[metric] = int(counts.get(metric, 0))
    return out


def breakdown_rows(dimension: str, values: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Rows sorted by count (ties by value), with each row's share of the total."""
    primary = catalogue.DIMENSIONS[dimension].primary
    rows = []
    for value, counts in values.items():
        count = counts.get(primary, 0) if primary else sum(counts.values())
        rows.append({"value": value, "count": int(count), "counts": {m: int(n) for m, n in sorted(counts.items())}})
    total = sum(r["count"] for r in rows)
    for r in rows:
        r["share"] = round(r["count"] / total, 6) if total else None
    rows.sort(key=lambda r: (-r["count"], r["value"]))
    return rows


def breakdowns(channel: str, fold: Fold) -> dict[str, list[dict[str, Any]]]:
    return {d: breakdown_rows(d, fold.dims.get(d, {})) for d in catalogue.dimensions_for(channel)}


def series_document(channel: str, fold: Fold) -> dict[str, Any]:
    metrics = [m for m in catalogue.metrics_for(channel) if m not in catalogue.DERIVED_TOTALS]
    values = {m: fold.series.get(m, [0] * fold.slots) for m in metrics}
    for name, (parts, _, _) in catalogue.DERIVED_TOTALS.items():
        if name in catalogue.metrics_for(channel):
            values[name] = [sum(col) for col in zip(*(values[p] for p in parts))]
    return {
        "step_seconds": fold.step,
        "timestamps": [iso(fold.series_start + i * fold.step) for i in range(fold.slots)],
        "values": values,
        # distinct profiles per hour slot (hourly series only)
        **({"distinct": fold.distinct_series} if fold.distinct_series else {}),
    }


def newest_first(executions: Iterable[str], last_activity: dict[str, int]) -> list[str]:
    """Executions by their latest activity, newest first (the run a marketer watches is on top);
    ties by id, latest id first."""
    return sorted(executions, key=lambda e: (last_activity.get(e, -1), e), reverse=True)


def execution_rows(channel: str, fold: Fold) -> list[dict[str, Any]]:
    """A row per execution, newest first, with the start of its latest bucket (`last_activity`)."""
    return [{"execution_id": None if e == tables.NO_EXECUTION else e, "totals": with_derived(channel, fold.executions[e]),
             "last_activity": iso(fold.last_activity[e]) if e in fold.last_activity else None}
            for e in newest_first(fold.executions, fold.last_activity)]


def distinct_document(sketches: SketchStore, pk: str, plan: list[buckets.Range], channel: str,
                      executions: set[str] | None, now: float, stats: ReadStats,
                      fold: Fold | None = None) -> tuple[dict, dict, dict]:
    """(distinct, bounds, combined): distinct counts per stored sketch and their bounds,
    and the combined figures (catalogue.COMBINED_DISTINCT) as unions of the same reads;
    with an hourly fold, also `series.distinct` per hour slot."""
    metrics = catalogue.distinct_metrics_for(channel)
    hourly: dict[str, dict[int, Any]] | None = None
    if fold is not None and fold.step == 3600:
        hourly = {m: {} for m in metrics if m != "targeted"}
    unions = sketches.union(pk, plan, metrics, executions, now, stats, hourly,
                            fold.series_end if fold is not None else None)
    summaries = {m: summarise(u) for m, u in unions.items()}
    if fold is not None and hourly is not None:
        fold.distinct_series = {
            m: [summarise(per_hour[h].get_result()).estimate if h in per_hour else 0
                for h in range(fold.series_start, fold.series_start + fold.slots * 3600, 3600)]
            for m, per_hour in hourly.items()}
    return ({m: s.estimate for m, s in summaries.items()},
            {m: s.as_dict() for m, s in summaries.items()},
            combined_distinct(channel, unions))


def combined_distinct(channel: str, unions: dict[str, Any]) -> dict[str, int]:
    """catalogue.COMBINED_DISTINCT figures from the unions of one read."""
    return {name: summarise(union_of(unions[p] for p in parts)).estimate
            for name, parts in catalogue.combined_distinct_for(channel).items()}


def revenue_block(channel: str, fold: Fold, totals: dict[str, int], distinct: dict[str, int],
                  currency: str | None) -> dict[str, Any]:
    """Revenue of the conversions in the window (catalogue.REVENUE_SCALE units -> currency
    units) and per recipient (÷ what the channel's messages reached, catalogue.REACHED)."""
    total = int(fold.totals.get(catalogue.REVENUE_COUNTER, 0)) / catalogue.REVENUE_SCALE
    reached = catalogue.effective_totals(channel, totals, distinct)["reached"]
    return {"total": round(total, 4), "currency": currency,
            "per_recipient": round(total / reached, 4) if reached else None}


def read_cost(stats: ReadStats) -> dict[str, Any]:
    return {"queries": stats.queries, "items": stats.items, "bytes": stats.bytes}


def known_executions(fold: Fold) -> list[str | None]:
    return sorted((None if e == tables.NO_EXECUTION else e for e in fold.seen_executions),
                  key=lambda e: (e is not None, e or ""))


def iter_channels(channels: Iterable[str]) -> list[str]:
    return [c for c in catalogue.CHANNELS if c in set(channels)]

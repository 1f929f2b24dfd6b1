"""The 24-hour live report of one campaign tab (SPEC "The live report")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .. import buckets, catalogue, tables
from ..campaigns import CampaignDirectory
from ..frontier import hours_to_window_end
from ..sketches import SketchStore, merge, summarise
from ..store import CounterStore, ReadStats
from . import progress
from .fold import (Fold, breakdowns, distinct_document, execution_rows, iso, known_executions,
                   read_cost, read_counters, revenue_block, series_document, with_derived)

TABS = ("campaign",) + catalogue.CHANNELS
DAY_SECONDS = 86400


@dataclass(frozen=True)
class LiveQuery:
    workspace: str
    campaign_id: str
    tab: str
    executions: frozenset[str] | None = None  # None: every execution
    window_seconds: int = DAY_SECONDS


def window(now: float, seconds: int) -> tuple[int, int, int]:
    """(start, end, step): end is the end of the current minute; the chart
    step is one minute for an hour or less, else one hour."""
    end = int(now) - int(now) % 60 + 60
    start = end - seconds
    step = 60 if seconds <= 3600 else 3600
    return start, end, step


class LiveReports:
    def __init__(self, store: CounterStore, sketches: SketchStore, directory: CampaignDirectory,
                 currency_of: Callable[[str, str], str | None] = lambda ws, campaign: None) -> None:
        self.store = store
        self.sketches = sketches
        self.directory = directory
        self.currency_of = currency_of

    def _fold_channel(self, q: LiveQuery, channel: str, now: float) -> tuple[Fold, list[buckets.Range], str]:
        start, end, step = window(now, q.window_seconds)
        fold = Fold(series_start=start - start % step, series_end=end, step=step)
        # Hourly charts: whole hours (the current one too) from hour items plus the minutes
        # after their frontier; minute charts: minutes only.
        plan = hours_to_window_end(buckets.plan(start, end, [tables.HOUR, tables.MINUTE])) if step == 3600 \
            else buckets.plan(start, end, [tables.MINUTE])
        pk = tables.counter_pk(q.workspace, q.campaign_id, channel)
        execs = None if q.executions is None else {e or tables.NO_EXECUTION for e in q.executions}
        read_counters(self.store, pk, plan, fold, execs, now, end)
        return fold, plan, pk

    def channel_report(self, q: LiveQuery, now: float) -> dict[str, Any]:
        channel = q.tab
        fold, plan, pk = self._fold_channel(q, channel, now)
        execs = None if q.executions is None else {e or tables.NO_EXECUTION for e in q.executions}
        distinct, bounds, combined = distinct_document(self.sketches, pk, plan, channel, execs, now, fold.stats,
                                                       fold)
        totals = with_derived(channel, fold.totals)
        return {
            "campaign_id": q.campaign_id,
            "tab": channel,
            "window": {"start": iso(fold.series_end - q.window_seconds), "end": iso(fold.series_end),
                       "seconds": q.window_seconds},
            "executions_filter": sorted(q.executions, key=str) if q.executions is not None else None,
            "available_executions": known_executions(fold),
            "has_data": any(totals.values()),
            "totals": totals,
            "distinct": distinct,
            "error_bound": bounds,
            "distinct_combined": combined,
            "inferred": catalogue.inferred(channel, totals, {**distinct, **combined}),
            "revenue": revenue_block(channel, fold, totals, {**distinct, **combined},
                                     self.currency_of(q.workspace, q.campaign_id)),
            "rates": catalogue.compute_rates(channel, totals, {**distinct, **combined}),
            "breakdowns": breakdowns(channel, fold),
            "executions": execution_rows(channel, fold),
            "series": series_document(channel, fold),
            "progress": progress.for_channel(self.store, pk, fold, now, execs),
            "read_cost": read_cost(fold.stats),
        }

    def campaign_report(self, q: LiveQuery, now: float) -> dict[str, Any]:
        """Campaign tab: audience (distinct targeted over all channels), actions executed, errors."""
        known = next((c for c in self.directory.list(q.workspace) if c["campaign_id"] == q.campaign_id), None)
        channels = known["channels"] if known else []
        stats = ReadStats()
        start, end, _ = window(now, q.window_seconds)
        per_channel = []
        totals = {"targeted": 0, "action_executed": 0, "error": 0, "sent": 0}
        audience = None
        available: set = set()
        execs = None if q.executions is None else {e or tables.NO_EXECUTION for e in q.executions}
        for channel in [c for c in catalogue.CHANNELS if c in channels]:
            fold, plan, pk = self._fold_channel(q, channel, now)
            available.update(known_executions(fold))
            stats.queries += fold.stats.queries
            stats.items += fold.stats.items
            stats.bytes += fold.stats.bytes
            row = {m: int(fold.totals.get(m, 0)) for m in totals}
            for m in totals:
                totals[m] += row[m]
            unions = self.sketches.union(pk, plan, ["targeted"], execs, now, stats, minute_limit=end)
            sketch = unions["targeted"]
            row["audience"] = summarise(sketch).estimate
            per_channel.append({"channel": channel, "totals": row,
                                "progress": progress.for_channel(self.store, pk, fold, now, execs, False)})
            audience = merge(audience, sketch)
        summary = summarise(audience)
        return {
            "campaign_id": q.campaign_id,
            "tab": "campaign",
            "window": {"start": iso(start), "end": iso(end), "seconds": q.window_seconds},
            "executions_filter": sorted(q.executions, key=str) if q.executions is not None else None,
            "available_executions": sorted(available, key=lambda e: (e is not None, e or "")),
            "has_data": any(totals.values()),
            "totals": totals,
            "kpis": {"audience": summary.estimate, "action_executed": totals["action_executed"],
                     "error": totals["error"]},
            "distinct": {"targeted": summary.estimate},
            "error_bound": {"targeted": summary.as_dict()},
            "rates": {},
            "breakdowns": {},
            "channels": per_channel,
            "progress": progress.campaign(per_channel),
            "executions": [],
            "read_cost": read_cost(stats),
        }

    def report(self, q: LiveQuery, now: float) -> dict[str, Any]:
        if q.tab == "campaign":
            return self.campaign_report(q, now)
        return self.channel_report(q, now)

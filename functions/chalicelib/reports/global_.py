"""The global campaign report: whole life or a date range (SPEC "The global campaign report").

Reads stay bounded: whole days come from daily roll-ups, the edges of a
range from hourly roll-ups (ranges resolve to whole hours), so a year costs
~365 day items per execution, never 8,760 hour items per metric; and only
the campaign's life is read, whatever the range asked (`ranges.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .. import buckets, catalogue, tables
from ..frontier import read_hours
from ..sketches import SketchStore, summarise, union_of
from ..store import CounterStore, ReadStats
from .fold import Fold, breakdown_rows, combined_distinct, iso, read_cost, revenue_block, with_derived
from .ranges import RangeError, Resolved, parse_bound, resolve, zone

__all__ = ["CHANNELS", "GlobalQuery", "GlobalReports", "RangeError", "global_query", "parse_bound", "zone"]

CHANNELS = ("email", "sms", "push")
TOP_LINKS = 10


@dataclass(frozen=True)
class GlobalQuery:
    workspace: str
    campaign_id: str
    channel: str
    start: datetime | None = None  # None: from the first data (whole life when end is None too)
    end: datetime | None = None  # None: up to now
    tz: str = "UTC"
    executions: frozenset[str] | None = None


def global_query(workspace: str, campaign_id: str, channel: str, raw_from: str | None, raw_to: str | None,
                 tz_name: str | None, executions: frozenset[str] | None = None,
                 now: float | None = None) -> GlobalQuery:
    """The asked range, checked for sense (ranges.parse_bound); what is read is resolved with the data."""
    if channel not in CHANNELS:
        raise RangeError(f"channel: one of {', '.join(CHANNELS)}")
    tz = zone(tz_name or "UTC")
    start, end = parse_bound(raw_from, tz, False, now), parse_bound(raw_to, tz, True, now)
    if start and end and end <= start:
        if raw_from and raw_to and len(raw_from) == len(raw_to) == 10 and raw_from <= raw_to:
            raise RangeError(f"from/to: these days hold no time in {tz_name} (the zone skipped them)")
        raise RangeError("to: must be after from")
    return GlobalQuery(workspace, campaign_id, channel, start, end, tz_name or "UTC", executions)


def _blocks(t: dict[str, int], distinct: dict[str, int], combined: dict[str, int], reactivity: float | None,
            inferred: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The reference report's blocks. `sent` and `delivered` are as reported; the
    inferred messages are beside them (catalogue.inferred), so each block still
    adds up to what the source reported."""
    d_open, d_click = distinct.get("open", 0), distinct.get("click", 0)
    to_deliver = t.get("sent", 0) + t.get("error", 0)
    return {
        "delivery_overview": {"sent": t.get("sent", 0), "sent_inferred": inferred.get("sent", 0),
                              "delivered": t.get("delivered", 0),
                              "delivered_inferred": inferred.get("delivered", 0),
                              "bounce": t.get("bounce", 0), "distinct_open": d_open,
                              "distinct_open_all": combined.get("open_all", d_open),
                              "distinct_click": d_click},
        "initial_audience": {"targeted": t.get("targeted", 0), "to_deliver": to_deliver,
                             "excluded": t.get("excluded", 0)},
        "execution": {"to_deliver": to_deliver, "success": t.get("delivered", 0), "error": t.get("error", 0),
                      "quarantine": t.get("quarantine", 0)},
        "reaction": {"distinct_open": d_open, "open": t.get("open", 0), "unsubscribe": t.get("unsubscribe", 0),
                     "mirror_page": t.get("mirror_page", 0), "forward": t.get("forward", 0)},
        "click_streams": {"distinct_click": d_click, "click": t.get("click", 0), "reactivity": reactivity},
        "tracking": {"success": t.get("delivered", 0), "distinct_open": d_open, "open": t.get("open", 0),
                     "unsubscribe": t.get("unsubscribe", 0), "mirror_page": t.get("mirror_page", 0),
                     "forward": t.get("forward", 0)},
    }


def _share(n: int, total: int) -> float | None:
    return round(n / total, 6) if total else None


class GlobalReports:
    def __init__(self, store: CounterStore, sketches: SketchStore,
                 currency_of: Callable[[str, str], str | None] = lambda ws, campaign: None) -> None:
        self.store = store
        self.sketches = sketches
        self.currency_of = currency_of

    def _items(self, pk: str, plan: list[buckets.Range], now: float, stats: ReadStats,
               minute_limit: int) -> list[dict[str, Any]]:
        items = []
        for gran, start, end in plan:
            if gran == tables.HOUR:
                items.extend(item for _, item in read_hours(self.store, pk, "", start, end, now, stats, minute_limit))
                continue
            lo, hi = buckets.sk_bounds("", gran, start, end)
            items.extend(self.store.query(pk, lo, hi, stats))
        return items

    def resolve(self, q: GlobalQuery, now: float, stats: ReadStats | None = None) -> Resolved:
        """What `q` reads (ranges.resolve): three one-item reads find the campaign's first data."""
        pk = tables.counter_pk(q.workspace, q.campaign_id, q.channel)
        return resolve(q.start, q.end, self._first_data(pk, stats or ReadStats()), now)

    def report(self, q: GlobalQuery, now: float) -> dict[str, Any]:
        pk = tables.counter_pk(q.workspace, q.campaign_id, q.channel)
        stats = ReadStats()
        whole_life = q.start is None and q.end is None
        span = self.resolve(q, now, stats)
        start, end, step = span.start, span.end, span.step
        # Hourly charts need hour items: a short span reads ≤ 48 hours instead of day items
        # (which would pile a day's activity on its midnight); a long range reads whole days
        # inside and hours only at its edges. Stretches not rolled up yet are read finer.
        plan = [] if span.empty else buckets.rolled_plan(
            buckets.plan(start, end, [tables.HOUR] if step == 3600 else [tables.DAY, tables.HOUR]), now)
        items = self._items(pk, plan, now, stats, end)
        fold = Fold(series_start=span.series_start, series_end=end, step=step, stats=stats)
        execs = None if q.executions is None else {e or tables.NO_EXECUTION for e in q.executions}
        for item in items:
            fold.add_item(item, execs)

        metrics = catalogue.distinct_metrics_for(q.channel)
        unions = self.sketches.union(pk, plan, metrics, execs, now, stats, minute_limit=end)
        summaries = {m: summarise(u) for m, u in unions.items()}
        distinct = {m: s.estimate for m, s in summaries.items()}
        combined = combined_distinct(q.channel, unions)
        totals = with_derived(q.channel, fold.totals)
        inferred = catalogue.inferred(q.channel, totals, {**distinct, **combined})
        rates = catalogue.compute_rates(q.channel, totals, {**distinct, **combined})
        clicks = totals.get("click", 0)
        urls = breakdown_rows("url", fold.dims.get("url", {}))[:TOP_LINKS]
        domains = fold.dims.get("recipient_domain", {})
        errors_by_domain = sorted(
            ({"value": d, "count": c.get("error", 0) + c.get("bounce", 0), "errors": c.get("error", 0),
              "bounces": c.get("bounce", 0)} for d, c in domains.items() if c.get("error", 0) + c.get("bounce", 0)),
            key=lambda r: (-r["count"], r["value"]))
        non_deliverables = sum(r["count"] for r in errors_by_domain)
        for row in errors_by_domain:
            row["share"] = _share(row["count"], non_deliverables)
        by_domain = sorted(
            ({"domain": d, "sent": c.get("sent", 0), "complaints": c.get("spam_complaint", 0),
              "opens": c.get("open", 0), "clicks": c.get("click", 0), "raw_reactivity": None}
             for d, c in domains.items()), key=lambda r: (-r["sent"], r["domain"]))
        if not span.empty:
            self._raw_reactivity(pk, start, end, execs, by_domain, now, stats)
        values = {m: fold.series.get(m, [0] * fold.slots)[:span.slots] for m in ("open", "click")}
        return {
            "campaign_id": q.campaign_id,
            "channel": q.channel,
            "range": {"from": iso(int(q.start.timestamp())) if q.start else None,
                      "to": iso(int(q.end.timestamp())) if q.end else None,
                      "tz": q.tz, "whole_life": whole_life, "resolved_start": iso(start), "resolved_end": iso(end),
                      "clamped": {"start": span.clamped_start, "end": span.clamped_end}},
            "has_data": any(totals.values()),
            "totals": totals,
            "distinct": distinct,
            "error_bound": {m: s.as_dict() for m, s in summaries.items()},
            "distinct_combined": combined,
            "inferred": inferred,
            "revenue": revenue_block(q.channel, fold, totals, {**distinct, **combined},
                                     self.currency_of(q.workspace, q.campaign_id)),
            "rates": rates,
            "blocks": _blocks(totals, distinct, combined, rates.get("reactivity"), inferred),
            "top_links": [{"url": r["value"], "clicks": r["count"], "distinct_clicks": None,
                           "share": _share(r["count"], clicks)} for r in urls],
            "errors_by_type": [{k: r[k] for k in ("value", "count", "share")}
                               for r in breakdown_rows("error_type", fold.dims.get("error_type", {}))],
            "errors_by_domain": errors_by_domain,
            "by_domain": by_domain,
            "series": {"step_seconds": step,
                       "timestamps": [iso(fold.series_start + i * step) for i in range(span.slots)],
                       "values": values},
            "read_cost": read_cost(stats),
        }

    def _first_data(self, pk: str, stats: ReadStats) -> int | None:
        """Start of the campaign's first bucket with data: the earliest of the first day,
        hour and minute items (the newest data is not rolled up yet). Three one-item reads."""
        starts = []
        for gran in (tables.DAY, tables.HOUR, tables.MINUTE):
            first = next(iter(self.store.query(pk, f"{gran}#", f"{gran}#\uffff", stats, limit=1)), None)
            if first is not None:
                starts.append(buckets.bucket_start(gran, tables.parse_counter_sk(first[tables.SK])[1]))
        return min(starts) if starts else None

    def _raw_reactivity(self, pk: str, start: int, end: int, execs: set[str] | None,
                        rows: list[dict[str, Any]], now: float, stats: ReadStats) -> None:
        """Distinct clickers / distinct openers per domain over the whole UTC days of the range."""
        days = buckets.rolled_plan([(tables.DAY, start - start % 86400, end + (-end) % 86400)], now)
        per_domain = self.sketches.domain_union(pk, days, execs, now, stats, minute_limit=buckets.horizon(now))
        for row in rows:
            openers = per_domain.get(("open", row["domain"]))
            clickers = per_domain.get(("click", row["domain"]))
            # a click proves an open (catalogue.COMBINED_DISTINCT): reactivity is clickers ÷ engaged
            n_open = summarise(union_of(s for s in (openers, clickers) if s is not None)).estimate
            n_click = summarise(clickers).estimate if clickers is not None else 0
            row["raw_reactivity"] = round(min(1.0, n_click / n_open), 6) if n_open else None

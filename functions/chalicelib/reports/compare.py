"""The previous equal period, for "change since the previous period" on the page's KPI tiles.

Built by calling the same report builders with a shifted window or range, so
the numbers mean exactly what the current period's do. Only asked for with
`compare=previous`: it doubles a report's reads (another ≤ 23 hour items plus
two minute edges for the live report; another range of day/hour items for the
global one), still bounded whatever the event volume.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from .global_ import GlobalQuery, GlobalReports
from .live import LiveQuery, LiveReports

#: What the page compares: totals, distinct counts, rates, the campaign tab's KPIs, the global blocks.
KEPT = ("totals", "distinct", "rates", "kpis", "blocks", "has_data", "read_cost")


def _keep(doc: dict[str, Any], period: dict[str, Any]) -> dict[str, Any]:
    return {"period": period, **{k: doc[k] for k in KEPT if k in doc}}


def previous_live(reports: LiveReports, q: LiveQuery, now: float) -> dict[str, Any]:
    """The window of the same length that ends where the current one starts."""
    doc = reports.report(q, now - q.window_seconds)
    return _keep(doc, {"start": doc["window"]["start"], "end": doc["window"]["end"]})


def previous_global(reports: GlobalReports, q: GlobalQuery, now: float) -> dict[str, Any] | None:
    """The range of the same length just before a date range; None for the whole life (nothing before it)."""
    if q.start is None:
        return None
    from datetime import datetime, timezone
    end = q.end or datetime.fromtimestamp(now, timezone.utc)
    length = end - q.start
    if length <= timedelta(0):
        return None
    shifted = replace(q, start=q.start - length, end=q.start)
    doc = reports.report(shifted, now)
    return _keep(doc, {"start": doc["range"]["resolved_start"], "end": doc["range"]["resolved_end"]})

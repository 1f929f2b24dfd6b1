"""The previous equal period, for "change since the previous period" on the page's KPI tiles.

Built by calling the same report builders with a shifted window or range, so
the numbers mean exactly what the current period's do. Only asked for with
`compare=previous`: it doubles a report's reads (another ≤ 23 hour items plus
two minute edges for the live report; another range of day/hour items for the
global one, over the resolved range: bounded like it), still bounded whatever the event volume.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .global_ import GlobalQuery, GlobalReports
from .live import LiveQuery, LiveReports
from .ranges import MAX_RANGE_DAYS

#: What the page compares: totals, distinct counts, rates, the campaign tab's KPIs, the global blocks.
KEPT = ("totals", "distinct", "rates", "kpis", "blocks", "has_data", "read_cost")


def _keep(doc: dict[str, Any], period: dict[str, Any]) -> dict[str, Any]:
    return {"period": period, **{k: doc[k] for k in KEPT if k in doc}}


def previous_live(reports: LiveReports, q: LiveQuery, now: float) -> dict[str, Any]:
    """The window of the same length that ends where the current one starts."""
    doc = reports.report(q, now - q.window_seconds)
    return _keep(doc, {"start": doc["window"]["start"], "end": doc["window"]["end"]})


def previous_global(reports: GlobalReports, q: GlobalQuery, current: dict[str, Any],
                    now: float) -> dict[str, Any] | None:
    """The range of the same length just before the one the current report read (its
    `resolved_start`/`resolved_end`: a range clamped to now compares with as long a
    period, not with the asked one); None for the whole life or an open start (nothing
    before it) and for a range that read nothing."""
    rng = current["range"]
    start, end = (int(datetime.fromisoformat(rng[k].replace("Z", "+00:00")).timestamp())
                  for k in ("resolved_start", "resolved_end"))
    if q.start is None or end <= start:
        return None
    # whole hours (ranges resolve to whole hours), the nearest to the current length, within the maximum
    length = min(max(3600, round((end - start) / 3600) * 3600), MAX_RANGE_DAYS * 86400)
    moment = lambda epoch: datetime.fromtimestamp(epoch, timezone.utc)  # noqa: E731
    doc = reports.report(replace(q, start=moment(start - length), end=moment(start)), now)
    return _keep(doc, {"start": doc["range"]["resolved_start"], "end": doc["range"]["resolved_end"]})

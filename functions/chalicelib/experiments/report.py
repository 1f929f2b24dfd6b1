"""GET /v1/campaigns/{id}/experiment?channel=email[&metric=unique_clicks]: which
variant wins, computed from the exact per-variant counters (`profiles.py`) with
the anytime-valid statistics of `stats.py` (docs/api-contract.md, docs/experiments.md).

The series has a point for every minute that received data in the last 24
hours and one per hour before (at most MAX_SERIES_POINTS: older looks thin to
one a day, then a week...): each point is what the report said at the end
of that minute, so anyone can see whether a winner was ever shown. Reads are
the experiment's counter items only (small: a few attributes per variant):
hour roll-ups before the last 24 hours, minutes within them.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Iterable

from .. import buckets, catalogue, tables
from ..frontier import read_hours
from ..http import ApiError
from ..reports.fold import iso, read_cost
from ..store import CounterStore, ReadStats
from . import stats
from .profiles import CONTAMINATED, PEOPLE, REVENUE, SQUARES
from .settings import Settings, SettingsStore

RECENT = 86400
#: The series' most points (DESIGN invariant 10): every minute of the last 24 hours with data
#: (at most 1,440), then as many earlier looks as fit (`shown_looks`).
MAX_SERIES_POINTS = 2000
METHOD = ("Asymptotic confidence sequence (Waudby-Smith et al., Annals of Statistics 2024) with the normal-mixture "
          "boundary (Howard et al. 2021) on the difference in means; Bonferroni over the treatments; "
          "sample ratio by the Dirichlet-multinomial test martingale (Lindon and Malek 2022)")


def default_baseline(variants: Iterable[str]) -> str | None:
    """`control`, else `A`, else the first in sort order."""
    names = sorted(variants)
    for wanted in ("control", "A"):
        if wanted in names:
            return wanted
    return names[0] if names else None


def _points(store: CounterStore, pk: str, first: int, now: float, stats_: ReadStats) -> list[tuple[int, int, dict]]:
    """(start, end, {variant: {code: n}}) per point in time order: hours before the last
    24 hours (their roll-ups, or their minutes while not rolled), minutes within them."""
    recent_start = (int(now) - RECENT) // 3600 * 3600
    per_point: dict[tuple[int, int], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))

    def add(start: int, end: int, item: dict[str, Any]) -> None:
        for attr, n in item.items():
            if "|" in attr and isinstance(n, int):
                variant, code = attr.split("|", 1)
                per_point[(start, end)][variant][code] += n

    if first < recent_start:
        for start, item in read_hours(store, pk, "", first - first % 3600, recent_start, now, stats_):
            hour = start - start % 3600
            add(hour, hour + 3600, item)
    end = buckets.horizon(now)  # events may be up to 5 minutes ahead: nothing exists after this
    for item in store.query(pk, *buckets.sk_bounds("", tables.MINUTE, recent_start, end), stats_):
        minute = buckets.bucket_start(tables.MINUTE, tables.parse_counter_sk(item[tables.SK])[1])
        add(minute, minute + 60, item)
    return [(s, e, per_point[(s, e)]) for s, e in sorted(per_point)]


def shown_looks(points: list[tuple[int, int, dict]], limit: int = MAX_SERIES_POINTS) -> set[int]:
    """Indices of the looks the series shows: all of them when they fit in `limit`; else every
    minute look and, before them, the last look of each day (each week, each 4 weeks... until
    they fit). Every look still counts in the statistics: a shown point is exactly what the
    report said at that moment, and bounds only narrow over time, so a winner once shown
    stays visible in the points kept."""
    if len(points) <= limit:
        return set(range(len(points)))
    minutes = {i for i, (start, end, _) in enumerate(points) if end - start == 60}
    budget = max(1, limit - len(minutes))
    earlier = [i for i in range(len(points)) if i not in minutes]
    period = 86400
    while True:
        last_of: dict[int, int] = {}
        for i in earlier:
            last_of[points[i][1] // period] = i  # points are in time order: the last one wins
        if len(last_of) <= budget:
            return minutes | set(last_of.values())
        period *= 7 if period == 86400 else 4


def _first(store: CounterStore, pk: str, stats_: ReadStats) -> int | None:
    starts = []
    for gran in (tables.DAY, tables.HOUR, tables.MINUTE):
        item = next(iter(store.query(pk, f"{gran}#", f"{gran}#\uffff", stats_, limit=1)), None)
        if item is not None:
            starts.append(buckets.bucket_start(gran, tables.parse_counter_sk(item[tables.SK])[1]))
    return min(starts) if starts else None


def _arm(variant: str, counts: dict[str, int], metric: catalogue.ExperimentMetric) -> stats.Arm:
    people = counts.get(PEOPLE, 0)
    if metric.kind == "value":
        scale = catalogue.REVENUE_SCALE
        return stats.Arm(variant, people, counts.get(REVENUE, 0) / scale, counts.get(SQUARES, 0) / scale / scale)
    n = counts.get(metric.code, 0)
    return stats.Arm(variant, people, float(n), float(n))


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(x, digits)


def _variant_rows(arms: dict[str, stats.Arm], baseline: str, comparisons: list[stats.Comparison],
                  metric: catalogue.ExperimentMetric) -> list[dict[str, Any]]:
    by_variant = {c.variant: c for c in comparisons}
    rows = []
    for variant in [baseline] + sorted(v for v in arms if v != baseline):
        arm = arms.get(variant) or stats.Arm(variant, 0, 0.0, 0.0)
        c = by_variant.get(variant)
        unique = metric.kind == "unique"
        rows.append({
            "variant": variant, "people": arm.people,
            "successes": int(arm.total) if unique else _round(arm.total, 4),
            "rate": _round(arm.mean) if unique else None,
            "value": None if unique else _round(arm.mean, 4),
            "lift": _round(c.lift) if c else None, "difference": _round(c.diff) if c else None,
            "lower": _round(c.lower) if c else None, "upper": _round(c.upper) if c else None,
            "confidence": _round(c.confidence) if c else None})
    return rows


class ExperimentReports:
    def __init__(self, store: CounterStore, settings: SettingsStore, campaign_exists: Any,
                 currency_of: Callable[[str, str], str | None] = lambda ws, campaign: None) -> None:
        self.store = store
        self.settings = settings
        self.campaign_exists = campaign_exists
        self.currency_of = currency_of  # revenue is in the campaign's currency (the page and emails name it)

    def report(self, workspace: str, campaign: str, channel: str, metric_name: str | None,
               now: float) -> dict[str, Any]:
        if channel not in catalogue.CHANNELS:
            raise ApiError(400, "invalid_request", f"channel: one of {', '.join(catalogue.CHANNELS)}")
        metrics = catalogue.experiment_metrics_for(channel)
        wrong_metric = ApiError(400, "invalid_request", f"metric: one of {', '.join(metrics)} on the {channel} channel")
        if metric_name and metric_name not in metrics:
            raise wrong_metric  # before any read
        if not self.campaign_exists(workspace, campaign):
            raise ApiError(404, "not_found", f"no campaign '{campaign[:128]}' has events in this workspace")
        settings = self.settings.get(workspace, campaign, channel, consistent=False)
        metric_name = metric_name or settings.effective_metric()
        if metric_name not in metrics:
            raise wrong_metric
        metric = catalogue.EXPERIMENT_METRICS[metric_name]
        read = ReadStats()
        pk = tables.experiment_counter_pk(workspace, campaign, channel)
        first = _first(self.store, pk, read)
        points = _points(self.store, pk, first, now, read) if first is not None else []
        if settings.ended and settings.ended_at:
            points = [p for p in points if p[0] < settings.ended_at]
        doc = self._document(workspace, campaign, channel, settings, metric, points, read)
        doc["currency"] = self.currency_of(workspace, campaign) if metric.kind == "value" else None
        return doc

    def _document(self, workspace: str, campaign: str, channel: str, settings: Settings,
                  metric: catalogue.ExperimentMetric, points: list[tuple[int, int, dict]],
                  read: ReadStats) -> dict[str, Any]:
        variants = sorted({v for _, _, per in points for v in per})
        doc: dict[str, Any] = {
            "campaign_id": campaign, "channel": channel, "metric": metric.name,
            "direction": "higher" if metric.higher_is_better else "lower",
            "confidence_level": settings.level, "attribution_window_days": settings.window_seconds / 86400,
            "metrics": catalogue.experiment_metrics_for(channel), "method": METHOD, "ended": settings.ended}
        baseline = settings.baseline if settings.baseline else default_baseline(variants)
        if not variants or baseline is None:
            return {**doc, "baseline": baseline, "status": "none", "winner": None, "started": None,
                    "contaminated_profiles": 0, "sample_ratio": None, "variants": [], "series": [],
                    "read_cost": read_cost(read)}
        treatments = [v for v in variants if v != baseline]
        analysis = stats.Analysis(baseline, 1.0 - settings.level, max(1, len(treatments)))
        srm = stats.SampleRatio(settings.planned_shares) if settings.planned_shares else None
        cumulative: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        series, comparisons, arms, sample_ratio = [], [], {}, None
        shown = shown_looks(points)
        for index, (_, end, per) in enumerate(points):
            for variant, counts in per.items():
                for code, n in counts.items():
                    cumulative[variant][code] += n
            arms = {v: _arm(v, cumulative.get(v, {}), metric) for v in [baseline] + treatments}
            comparisons = analysis.update(arms)
            if srm is not None:
                sample_ratio = srm.update({v: a.people for v, a in arms.items()})
            if index in shown:
                series.append({"t": iso(end), "winner": stats.winner(baseline, comparisons, metric.higher_is_better),
                               "variants": _variant_rows(arms, baseline, comparisons, metric)})
        winner = stats.winner(baseline, comparisons, metric.higher_is_better) if comparisons else None
        status = "winner" if winner else ("inconclusive" if settings.ended else "running")
        return {**doc, "baseline": baseline, "status": status, "winner": winner,
                "started": iso(points[0][0]) if points else None,
                "contaminated_profiles": sum(c.get(CONTAMINATED, 0) for c in cumulative.values()),
                "sample_ratio": sample_ratio,
                "variants": _variant_rows(arms, baseline, comparisons, metric),
                "series": series, "read_cost": read_cost(read)}

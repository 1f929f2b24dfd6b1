"""A fold's events -> deltas keyed by minute counter item (DESIGN invariant 1).

The aggregator folds many requests at once: 1,000 one-event requests become
one delta per touched (campaign, channel, execution, minute) item, never one
write per event or per request.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from . import catalogue, tables

#: An attribute of a counter item: a metric name, or "dimension|metric|value" with
#: the dimension and metric as the catalogue's short codes.
DIM_SEP = "|"
#: sketch metrics whose distinct profiles are also kept per recipient domain (raw
#: reactivity: human openers and clickers; machine opens are not reactions)
DOMAIN_DISTINCT = frozenset({"open", "click"})

ItemKey = tables.ItemKey
#: admit(workspace, campaign, dimension, values) -> {value: value or "other"}
Admit = Callable[[str, str, str, set[str]], Mapping[str, str]]


def dim_attr(dimension: str, metric: str, value: str) -> str:
    return f"{_DIM_CODE[dimension]}{DIM_SEP}{_METRIC_CODE[metric]}{DIM_SEP}{value}"


def split_dim_attr(attr: str) -> tuple[str, str, str] | None:
    """(dimension, metric, value) by their full names, or None for a plain metric."""
    parts = attr.split(DIM_SEP, 2)
    if len(parts) != 3:
        return None
    return _DIM_NAME.get(parts[0], parts[0]), _METRIC_NAME.get(parts[1], parts[1]), parts[2]


_DIM_CODE, _METRIC_CODE = catalogue.DIMENSION_CODES, catalogue.METRIC_CODES
_DIM_NAME, _METRIC_NAME = catalogue.DIMENSION_NAMES, catalogue.METRIC_NAMES


@dataclass
class Aggregate:
    """Everything one fold changes, merged per item.

    Only minute grain is written by a fold: hour and day counters and sketches
    are rolled up from minutes off the write path (`rollup/`)."""

    #: (pk, minute sk) -> attribute -> delta
    counters: dict[ItemKey, dict[str, int]] = field(default_factory=dict)
    #: (pk, minute bucket, execution) -> sketch attribute ("metric" or "metric|domain") -> profile ids
    profiles: dict[tuple[str, str, str], dict[str, set[str]]] = field(default_factory=dict)
    #: (workspace, campaign) -> (channels, latest receipt epoch seconds)
    campaigns: dict[tuple[str, str], tuple[set[str], int]] = field(default_factory=dict)
    #: (pk, hour bucket) of every minute item touched: the rollup's work list
    hours: set[tuple[str, str]] = field(default_factory=set)
    #: (workspace, campaign) -> channels whose events carry a variant (the directory lists them)
    experiments: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    events: int = 0


def sketch_attr(metric: str, domain: str | None = None) -> str:
    """Attribute of a minute sketch item: the metric, or metric|domain for per-domain reactivity."""
    return metric if domain is None else f"{metric}{DIM_SEP}{domain}"


def split_sketch_attr(attr: str) -> tuple[str, str | None]:
    metric, _, domain = attr.partition(DIM_SEP)
    return metric, domain or None


def _minute_bucket(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, tz=timezone.utc).strftime("%Y%m%d%H%M")


def aggregate(batches: Iterable[tuple], admit: Admit) -> Aggregate:
    """Count the events of many requests per (campaign, channel, execution, minute, salt).

    `batches` yields (workspace, received_at, compact events[, salt]) per stream record;
    `admit(workspace, campaign, dimension, values)` caps dimension values."""
    per_minute: dict[tuple[str, str, str, str, int, int], dict] = defaultdict(lambda: defaultdict(int))
    raw_values: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    profiles: dict[tuple[str, str, str, int], dict[tuple, set[str]]] = defaultdict(lambda: defaultdict(set))
    campaigns: dict[tuple[str, str], tuple[set[str], int]] = {}
    # (type, channel) -> its dimensions and whether its profiles are counted, resolved once per pair
    plans: dict[tuple[str, str], tuple[list[catalogue.Dimension], bool]] = {}
    result = Aggregate()
    for batch in batches:
        workspace, received_at, events = batch[:3]
        salt = batch[3] if len(batch) > 3 else 0
        received = int(received_at)
        for ev in events:
            result.events += 1
            campaign, channel, etype = ev["campaign_id"], ev["channel"], ev["type"]
            plan = plans.get((etype, channel))
            if plan is None:
                plan = plans[(etype, channel)] = (
                    [d for d in catalogue.DIMENSIONS_BY_TYPE[etype] if channel in d.channels],
                    channel in catalogue.DISTINCT_METRICS.get(etype, ()))
            dims, counts_profiles = plan
            execution = ev.get("execution_id") or tables.NO_EXECUTION
            minute = ev["ts"] // 60
            counts = per_minute[(workspace, campaign, channel, execution, minute, salt)]
            counts[etype] += 1
            if etype == "open" and ev.get("machine"):
                counts["open_machine"] += 1
            elif etype == "conversion" and ev.get("value"):
                counts[catalogue.REVENUE_COUNTER] += catalogue.revenue_units(ev["value"])
            for dim in dims:
                value = ev.get(dim.field) or dim.default
                if value is None:
                    continue
                counts[(dim.name, etype, value)] += 1
                if dim.allowed is None:
                    raw_values[(workspace, campaign, dim.name)].add(value)
            profile = ev.get("profile_id")
            if counts_profiles and profile:
                group = profiles[(workspace, campaign, channel, minute)]
                metric = catalogue.sketch_metric(etype, bool(ev.get("machine")))
                group[(execution, metric, None)].add(profile)
                domain = ev.get("recipient_domain")
                if domain and metric in DOMAIN_DISTINCT and channel == "email":
                    group[(execution, metric, domain)].add(profile)
            key = (workspace, campaign)
            if ev.get("variant"):
                result.experiments.setdefault(key, set()).add(channel)
            seen = campaigns.get(key)
            if seen is None:
                campaigns[key] = ({channel}, received)
            else:
                seen[0].add(channel)
                if received > seen[1]:
                    campaigns[key] = (seen[0], received)

    # Fold values beyond the per-campaign cap into "other" (sorted: the same decisions on a retry).
    mapping = {k: admit(k[0], k[1], k[2], values) for k, values in sorted(raw_values.items())}

    result.campaigns = campaigns
    counters: dict[ItemKey, dict[str, int]] = {}
    for (workspace, campaign, channel, execution, minute, salt), counts in per_minute.items():
        pk = tables.counter_pk(workspace, campaign, channel)
        bucket = _minute_bucket(minute)
        attrs = counters.setdefault((pk, tables.counter_sk(tables.MINUTE, bucket, execution, salt)), {})
        for name, n in counts.items():
            if isinstance(name, tuple):
                dim, metric, value = name
                value = mapping.get((workspace, campaign, dim), {}).get(value, value)
                attr = dim_attr(dim, metric, value)
            else:
                attr = name
            attrs[attr] = attrs.get(attr, 0) + n
        result.hours.add((pk, bucket[:10]))
    result.counters = counters

    for (workspace, campaign, channel, minute), group in profiles.items():
        pk = tables.counter_pk(workspace, campaign, channel)
        domains = mapping.get((workspace, campaign, "recipient_domain"), {})
        bucket = _minute_bucket(minute)
        for (execution, metric, domain), ids in group.items():
            if domain is not None:
                domain = domains.get(domain, domain)
            out = result.profiles.setdefault((pk, bucket, execution), {})
            out.setdefault(sketch_attr(metric, domain), set()).update(ids)
    return result

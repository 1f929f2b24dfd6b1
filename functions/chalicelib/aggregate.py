"""Batch → deltas keyed by counter item (DESIGN invariant 1).

A batch of 1,000 events becomes one delta per touched (campaign, channel,
execution, bucket) item at each granularity, never one write per event.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from . import catalogue, tables
from .events import Event

#: An attribute of a counter item: a metric name, or "dimension|metric|value" with
#: the dimension and metric as the catalogue's short codes.
DIM_SEP = "|"
#: metrics whose distinct profiles are also kept per recipient domain (raw reactivity)
DOMAIN_DISTINCT = frozenset({"open", "click"})

ItemKey = tables.ItemKey
#: admit(campaign, dimension, values) -> {value: value or "other"}
Admit = Callable[[str, str, set[str]], Mapping[str, str]]


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
    """Everything one batch changes, merged per item."""

    counters: dict[ItemKey, dict[str, int]] = field(default_factory=dict)
    #: (pk, granularity, bucket, execution, metric) -> profile ids, for sketches
    profiles: dict[tuple[str, str, str, str, str], set[str]] = field(default_factory=dict)
    #: (pk, day, execution, metric, domain) -> profile ids, for per-domain reactivity
    domain_profiles: dict[tuple[str, str, str, str, str], set[str]] = field(default_factory=dict)
    #: campaign -> (channels, latest event epoch seconds)
    campaigns: dict[str, tuple[set[str], int]] = field(default_factory=dict)
    minute_items: set[ItemKey] = field(default_factory=set)


def _bucket_strings(minute: int) -> tuple[str, str, str]:
    dt = datetime.fromtimestamp(minute * 60, tz=timezone.utc)
    m = dt.strftime("%Y%m%d%H%M")
    return m, m[:10], m[:8]


def aggregate(workspace: str, events: Iterable[Event], admit: Admit) -> Aggregate:
    """Count a validated batch per minute, then roll minutes up to hours and days."""
    # Pass 1: count per (campaign, channel, execution, minute) with raw dimension values.
    per_minute: dict[tuple[str, str, str, int], dict] = defaultdict(lambda: defaultdict(int))
    raw_values: dict[tuple[str, str], set[str]] = defaultdict(set)
    profiles: dict[tuple[str, str, str, int, str], set[str]] = defaultdict(set)
    domain_profiles: dict[tuple[str, str, str, int, str, str], set[str]] = defaultdict(set)
    campaigns: dict[str, tuple[set[str], int]] = {}
    # (type, channel) -> its dimensions and whether its profiles are counted, resolved once per pair
    plans: dict[tuple[str, str], tuple[list[catalogue.Dimension], bool]] = {}
    for ev in events:
        epoch = int(ev.timestamp.timestamp())
        campaign, channel, etype = ev.campaign_id, ev.channel, ev.type
        plan = plans.get((etype, channel))
        if plan is None:
            plan = plans[(etype, channel)] = (
                [d for d in catalogue.DIMENSIONS_BY_TYPE[etype] if channel in d.channels],
                channel in catalogue.DISTINCT_METRICS.get(etype, ()))
        dims, counts_profiles = plan
        execution = ev.execution_id or tables.NO_EXECUTION
        key = (campaign, channel, execution, epoch // 60)
        counts = per_minute[key]
        counts[etype] += 1
        if etype == "open" and ev.machine:
            counts["open_machine"] += 1
        for dim in dims:
            value = getattr(ev, dim.field) or dim.default
            if value is None:
                continue
            counts[(dim.name, etype, value)] += 1
            if dim.allowed is None:
                raw_values[(campaign, dim.name)].add(value)
        if counts_profiles and ev.profile_id:
            profiles[key + (etype,)].add(ev.profile_id)
            if ev.recipient_domain and etype in DOMAIN_DISTINCT and channel == "email":
                domain_profiles[(campaign, channel, execution, epoch // 86400, etype,
                                 ev.recipient_domain)].add(ev.profile_id)
        seen = campaigns.get(campaign)
        if seen is None:
            campaigns[campaign] = ({channel}, epoch)
        else:
            seen[0].add(channel)
            if epoch > seen[1]:
                campaigns[campaign] = (seen[0], epoch)

    # Pass 2: fold values beyond the per-campaign cap into "other".
    mapping = {k: admit(k[0], k[1], values) for k, values in raw_values.items()}

    result = Aggregate(campaigns=campaigns)
    counters: dict[ItemKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (campaign, channel, execution, minute), counts in per_minute.items():
        pk = tables.counter_pk(workspace, campaign, channel)
        m_bucket, h_bucket, d_bucket = _bucket_strings(minute)
        attrs: dict[str, int] = {}
        for name, n in counts.items():
            if isinstance(name, tuple):
                dim, metric, value = name
                value = mapping.get((campaign, dim), {}).get(value, value)
                attr = dim_attr(dim, metric, value)
            else:
                attr = name
            attrs[attr] = attrs.get(attr, 0) + n
        minute_key = (pk, tables.counter_sk(tables.MINUTE, m_bucket, execution))
        result.minute_items.add(minute_key)
        for item_key in (
            minute_key,
            (pk, tables.counter_sk(tables.HOUR, h_bucket, execution)),
            (pk, tables.counter_sk(tables.DAY, d_bucket, execution)),
        ):
            target = counters[item_key]
            for attr, n in attrs.items():
                target[attr] += n
    result.counters = {k: dict(v) for k, v in counters.items()}

    for (campaign, channel, execution, minute, metric), ids in profiles.items():
        pk = tables.counter_pk(workspace, campaign, channel)
        _, h_bucket, d_bucket = _bucket_strings(minute)  # sketches exist per hour and day only
        for gran, bucket in ((tables.HOUR, h_bucket), (tables.DAY, d_bucket)):
            result.profiles.setdefault((pk, gran, bucket, execution, metric), set()).update(ids)
    for (campaign, channel, execution, day, metric, domain), ids in domain_profiles.items():
        pk = tables.counter_pk(workspace, campaign, channel)
        domain = mapping.get((campaign, "recipient_domain"), {}).get(domain, domain)
        day_bucket = _bucket_strings(day * 1440)[2]
        result.domain_profiles.setdefault((pk, day_bucket, execution, metric, domain), set()).update(ids)
    return result

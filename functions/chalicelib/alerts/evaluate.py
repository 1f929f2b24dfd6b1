"""Pure evaluation of one rule on per-minute counters (no I/O, so tests can
check it exactly on generated series).

Time is whole minutes. At evaluation the last complete minute ends at `end`
(the current, partial minute is never read: a half-filled minute would make
"sent < 100" fire and rates jitter). The window ending at `e` is the
`window_minutes` minutes before `e`.

- A rate rule breaches at `e` when its denominator has at least
  max(1, min_volume) events in the window and numerator / denominator is on
  the wrong side of the threshold. A count rule breaches when the channel had
  at least min_volume events in the window and the count is on the wrong side.
- `silence` breaches when the window has no event at all; it fires only if
  the window before it had at least max(1, min_volume) events (the campaign
  was sending).
- Hysteresis: a firing rule resolves only when none of the windows ending at
  each of the last `window_minutes` minutes breaches, i.e. the value has been
  back on the right side for a full window.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from .. import buckets, catalogue, tables
from .rules import RATES, Rule, counted

Series = Mapping[int, Mapping[str, int]]  # minute start (epoch) -> metric -> count
#: Attributes of a minute item that are event counts (dimension attributes contain "|").
COUNTED = frozenset(catalogue.EVENT_TYPES) | frozenset(catalogue.EXTRA_COUNTERS)
EVENT_COUNTS = frozenset(catalogue.EVENT_TYPES)


@dataclass(frozen=True)
class Reading:
    value: Optional[float]  # the rate, count or (silence) number of events; None: rate with no denominator
    volume: int             # events in the denominator (rates) or of the channel (counts, silence)
    breaching: bool


@dataclass(frozen=True)
class Verdict:
    reading: Reading
    fire: bool
    resolve: bool


def minute_end(now: float) -> int:
    """End of the last complete minute."""
    return int(now) - int(now) % 60


def read_span(window_minutes: int, end: int) -> tuple[int, int]:
    """[start, end) of the minutes an evaluation needs: two windows (hysteresis, silence)."""
    return end - 2 * window_minutes * 60, end


def _sum(series: Series, start: int, end: int, metric: str) -> int:
    return sum(int(row.get(metric, 0)) for minute, row in series.items() if start <= minute < end)


def _events(series: Series, start: int, end: int) -> int:
    return sum(int(n) for minute, row in series.items() if start <= minute < end
               for metric, n in row.items() if metric in EVENT_COUNTS)


def _crosses(value: float, op: Optional[str], threshold: Optional[float]) -> bool:
    if op is None or threshold is None:
        return False
    return value > threshold if op == ">" else value < threshold


def reading(rule: Rule, series: Series, e: int, for_firing: bool = True) -> Reading:
    """The rule's value on the window ending at e, and whether it breaches."""
    w = rule.window_minutes * 60
    start = e - w
    if rule.kind == "silence":
        events = _events(series, start, e)
        before = _events(series, start - w, start)
        was_sending = before >= max(1, rule.min_volume) or not for_firing
        return Reading(float(events), events, events == 0 and was_sending)
    if rule.kind == "rate":
        rate = RATES[rule.metric]
        # Sends and deliveries a source never reported count as the report counts them
        # (catalogue.inferred), so SES identity notifications still give a bounce rate.
        # Minute counters hold no sketches: only outcomes, unsubscribes and complaints infer.
        window = {m: _sum(series, start, e, m) for m in ("sent", "delivered", "bounce", "error",
                                                         "unsubscribe", "spam_complaint")}
        effective = catalogue.effective_totals(rule.channel, window, {})
        den = effective.get(counted(rate.denominator)) if counted(rate.denominator) in effective else \
            _sum(series, start, e, counted(rate.denominator))
        num = _sum(series, start, e, counted(rate.numerator))
        if den == 0:
            return Reading(None, 0, False)
        value = num / den
        return Reading(round(value, 6), den, den >= max(1, rule.min_volume) and _crosses(value, rule.op, rule.threshold))
    count = _sum(series, start, e, rule.metric) if rule.metric in COUNTED else _derived(rule.metric, series, start, e)
    volume = _events(series, start, e)
    return Reading(float(count), volume, volume >= rule.min_volume and _crosses(count, rule.op, rule.threshold))


def _derived(metric: str, series: Series, start: int, end: int) -> int:
    parts = catalogue.DERIVED_TOTALS.get(metric, ((),))[0]
    return sum(_sum(series, start, end, p) for p in parts)


def evaluate(rule: Rule, series: Series, end: int, firing: bool) -> Verdict:
    """Fire (ok → firing) or resolve (firing → ok) at `end`, given the current state."""
    now = reading(rule, series, end)
    if not firing:
        return Verdict(now, fire=now.breaching, resolve=False)
    ends = [end - i * 60 for i in range(rule.window_minutes)]
    calm = not any(reading(rule, series, e, for_firing=False).breaching for e in ends)
    return Verdict(now, fire=False, resolve=calm)


def minute_series(items: list[dict], start: int, end: int) -> dict[int, dict[str, int]]:
    """Minute counter items (any execution) → minute → metric → count, dimensions ignored."""
    out: dict[int, dict[str, int]] = {}
    for item in items:
        gran, bucket, _ = tables.parse_counter_sk(item[tables.SK])
        if gran != tables.MINUTE:
            continue
        minute = buckets.bucket_start(gran, bucket)
        if not start <= minute < end:
            continue
        row = out.setdefault(minute, {})
        for attr, n in item.items():
            if attr in COUNTED and isinstance(n, (int, float)):
                row[attr] = row.get(attr, 0) + int(n)
    return out

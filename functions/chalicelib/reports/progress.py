"""Send progress with an ETA, per channel and per execution (issue 13).

planned = targeted; processed = sent + excluded + error (every targeted
profile ends as one of them); remaining = planned − processed (never
below 0); the rate is what was processed per minute over the last 5 complete
minutes; the ETA is now + remaining / rate. Status: "finished" when nothing
remains, "stalled" when work remains and the rate is 0, "sending" otherwise,
"idle" when nothing was targeted or processed, "unplanned" when events were
processed but no `targeted` event was sent (no plan to measure against).
A finished send has no rate (`rate_per_minute` null): the last 5 minutes'
figure of a run that is over is not a speed anyone can act on.

Counts cover the report's window (24 hours unless asked otherwise). The rate
needs minute resolution at the window's end, which the 24-hour plan may
cover with an hour item, so it costs one extra Query of at most 5 minute
items per execution.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

from .. import buckets, tables
from .fold import newest_first
from ..store import CounterStore, ReadStats

RATE_MINUTES = 5
PROCESSED = ("sent", "excluded", "error")
#: Channels that send messages; in-app and web only display, so they have no send to track.
SENDING = frozenset({"email", "push", "sms", "directmail"})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rate_span(now: float) -> tuple[int, int]:
    """[start, end) of the last RATE_MINUTES complete minutes."""
    end = int(now) - int(now) % 60
    return end - RATE_MINUTES * 60, end


def block(planned: int, processed: int, recent: int, now: float) -> dict[str, Any]:
    """The progress of one send from its counts (pure)."""
    rate = recent / RATE_MINUTES
    remaining: Optional[int] = max(0, planned - processed)
    eta_seconds: Optional[int] = None
    if planned == 0:
        status, remaining = ("idle", 0) if processed == 0 else ("unplanned", None)
    elif remaining == 0:
        status = "finished"
    elif rate == 0:
        status = "stalled"
    else:
        status = "sending"
        eta_seconds = math.ceil(remaining / rate * 60)
    return {"planned": planned, "processed": processed, "remaining": remaining,
            "percent": round(min(1.0, processed / planned), 4) if planned else None,
            "rate_per_minute": None if status == "finished" else round(rate, 2), "status": status, "eta_seconds": eta_seconds,
            "eta": _iso(now + eta_seconds) if eta_seconds is not None else None}


def processed_of(counts: Mapping[str, int]) -> int:
    return sum(int(counts.get(m, 0)) for m in PROCESSED)


def recent_processed(items: Iterable[Mapping[str, Any]], executions: Optional[set[str]]) -> dict[str, int]:
    """Minute items of the rate span → execution → processed count (dimensions ignored)."""
    out: dict[str, int] = defaultdict(int)
    for item in items:
        gran, _, execution = tables.parse_counter_sk(item[tables.SK])
        if gran == tables.MINUTE and (executions is None or execution in executions):
            out[execution] += processed_of(item)
    return out


def document(by_execution: Mapping[str, Mapping[str, int]], recent: Mapping[str, int], now: float,
             with_executions: bool = True, last_activity: Optional[dict[str, int]] = None) -> dict[str, Any]:
    """The channel's block, plus a block per execution (None: events without an execution id),
    newest first by `last_activity` (execution -> start of its latest bucket)."""
    planned = sum(int(c.get("targeted", 0)) for c in by_execution.values())
    done = sum(processed_of(c) for c in by_execution.values())
    doc = block(planned, done, sum(recent.values()), now)
    if with_executions:
        doc["executions"] = [
            {"execution_id": None if e == tables.NO_EXECUTION else e,
             **block(int(by_execution[e].get("targeted", 0)), processed_of(by_execution[e]), recent.get(e, 0), now)}
            for e in newest_first(by_execution, last_activity or {})]
    return doc


def for_channel(store: CounterStore, pk: str, fold: Any, now: float, executions: Optional[set[str]],
                with_executions: bool = True) -> Optional[dict[str, Any]]:
    """Progress of a folded channel report; reads the rate span's minute items (into fold.stats).
    None for channels that do not send (in-app, web)."""
    if pk.rsplit("#", 1)[-1] not in SENDING:
        return None
    start, end = rate_span(now)
    lo, hi = buckets.sk_bounds("", tables.MINUTE, start, end)
    stats: ReadStats = getattr(fold, "stats", None) or ReadStats()
    recent = recent_processed(store.query(pk, lo, hi, stats), executions)
    return document(fold.executions, recent, now, with_executions, fold.last_activity)


def campaign(channels: list[dict[str, Any]]) -> dict[str, Any]:
    """The campaign tab: one block per channel that has a plan or activity."""
    return {"channels": [{"channel": c["channel"], **c["progress"]} for c in channels
                         if c.get("progress") and c["progress"]["status"] != "idle"]}

"""What the aggregator calls after a fold: tell the pages that follow each
campaign it stamped (docs/design.md, "Freshness").

Exactness first: the aggregator calls this only after the fold's last chunk
committed (the watermark moved and the stamps are readable), once per fold.
Everything here is best effort under a short deadline: a message lost or late
costs a page at most its safety poll, never a count. One message per campaign
per fold, a few dozen bytes: the stamp and the minutes touched, never the report.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .connections import ConnectionStore
from .sender import Gone, Sender

logger = logging.getLogger(__name__)
#: the whole announcement (subscriber queries and posts) gives up after this
DEADLINE_SECONDS = 1.0
#: minutes listed in a message at most (a backfill touching more says "many": the page refetches anyway)
MAX_MINUTES = 60


@dataclass(frozen=True)
class Stamped:
    """One campaign a fold changed: its new stamp and the minute buckets (YYYYMMDDHHMM, UTC) it touched."""
    workspace: str
    campaign: str
    stamp: str
    minutes: tuple[str, ...] = ()


def stamped_of(campaigns: Iterable[tuple[str, str]], counter_keys: Iterable[tuple[str, str]],
               stamp: str) -> list[Stamped]:
    """The fold's campaigns with the minutes its counter items touched (keys from chalicelib/tables.py:
    pk `ws#C#campaign#channel[#X]`, minute sk `M#YYYYMMDDHHMM#execution`)."""
    minutes: dict[tuple[str, str], set[str]] = {}
    for pk, sk in counter_keys:
        parts = pk.split("#")
        if len(parts) >= 4 and parts[1] == "C" and sk.startswith("M#"):
            minutes.setdefault((parts[0], parts[2]), set()).add(sk.split("#")[1])
    return [Stamped(ws, campaign, stamp, tuple(sorted(minutes.get((ws, campaign), ()))))
            for ws, campaign in sorted(campaigns)]


def message(s: Stamped) -> bytes:
    minutes = list(s.minutes)
    doc: dict[str, Any] = {"type": "changed", "campaign": s.campaign, "stamp": s.stamp}
    if len(minutes) > MAX_MINUTES:
        doc["minutes_from"], doc["minutes_to"] = minutes[0], minutes[-1]
    else:
        doc["minutes"] = minutes
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass
class NotifyStats:
    folds: int = 0
    campaigns: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0
    late: int = 0  # work still running at the deadline (left to finish on its own)

    def take(self) -> "NotifyStats":
        out = NotifyStats(**vars(self))
        for name in vars(out):
            setattr(self, name, 0)
        return out


@dataclass
class Notifier:
    """Callable as the aggregator's `notify`. `sender` is None until the stage has a socket endpoint."""
    connections: ConnectionStore
    sender: Callable[[], Sender | None]
    deadline: float = DEADLINE_SECONDS
    workers: int = 8
    stats: NotifyStats = field(default_factory=NotifyStats)
    _pool: ThreadPoolExecutor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, stamped: list[Stamped]) -> None:
        sender = self.sender()
        if sender is None or not stamped:
            return
        started = time.monotonic()
        latest: dict[tuple[str, str], Stamped] = {}
        for s in stamped:  # coalesced: one message per campaign
            prior = latest.get((s.workspace, s.campaign))
            minutes = tuple(sorted(set(s.minutes) | set(prior.minutes if prior else ())))
            latest[(s.workspace, s.campaign)] = Stamped(s.workspace, s.campaign, s.stamp, minutes)
        pool = self._executor()
        lookups = {pool.submit(self.connections.subscribers, ws, c): latest[(ws, c)] for ws, c in latest}
        done, pending = wait(lookups, timeout=self.deadline)
        posts = []
        with self._lock:
            self.stats.folds += 1
            self.stats.campaigns += len(latest)
            self.stats.late += len(pending)
        for future in done:
            s = lookups[future]
            try:
                targets = future.result()
            except Exception:  # noqa: BLE001 - best effort: the page's safety poll covers it
                logger.warning("live subscribers unreadable", exc_info=True)
                with self._lock:
                    self.stats.failed += 1
                continue
            data = message(s)
            posts += [pool.submit(self._post, sender, s, cid, data) for cid in targets]
        if posts:
            _, late = wait(posts, timeout=max(0.05, self.deadline - (time.monotonic() - started)))
            with self._lock:
                self.stats.late += len(late)

    def record(self, metrics: Any, hook_failures: int = 0) -> None:
        """Add what the notifications did since the last call to Powertools `metrics` (app.fold_stream):
        LiveNotified, LiveConnectionsGone, LiveNotifyFailed (the alarm's), LiveNotifyLate."""
        from aws_lambda_powertools.metrics import MetricUnit
        taken = self.stats.take()
        for name, value in (("LiveNotified", taken.sent), ("LiveConnectionsGone", taken.gone),
                            ("LiveNotifyFailed", taken.failed + hook_failures), ("LiveNotifyLate", taken.late)):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def _post(self, sender: Sender, s: Stamped, connection_id: str, data: bytes) -> None:
        try:
            sender.post(connection_id, data)
        except Gone:
            with self._lock:
                self.stats.gone += 1
            try:  # the page closed without a $disconnect reaching us: forget it now
                if not self.connections.remove(connection_id):
                    self.connections.forget_subscription(s.workspace, s.campaign, connection_id)
            except Exception:  # noqa: BLE001 - its TTL removes it anyway
                logger.warning("gone connection not removed", exc_info=True)
            return
        except Exception:  # noqa: BLE001 - SendFailed, throttling, a bug: never the fold's problem
            with self._lock:
                self.stats.failed += 1
            logger.warning("live notification failed", exc_info=True)
            return
        with self._lock:
            self.stats.sent += 1

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="live-notify")
        return self._pool


def announce(notify: Callable[[list[Stamped]], None], stamped: list[Stamped]) -> bool:
    """Call the hook; an exception is logged, never raised (the fold is already exact). False if it raised."""
    try:
        notify(stamped)
        return True
    except Exception:  # noqa: BLE001 - notifications never fail a fold
        logger.warning("live notification hook raised", exc_info=True)
        return False

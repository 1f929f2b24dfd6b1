"""The rollup's passes: which partitions to roll (`plan`), rolling one (`roll_task`), and
the synchronous pass over all of them (`run`: tests, local mode and the schedule when no
fan-out queue is configured).

Hours come before days: a closed hour's roll bumps its day's entry, so `run` plans the
days after rolling the hours. Fanned out (`fanout.py`), hour and day tasks of the same
minute may run in any order: a day rolled before one of its hours is bumped by that
hour's roll and rolled again the next minute, so the sums converge.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .. import buckets, tables
from ..fold.marks import marked_minutes
from ..store import StoreConfig
from .closed import ClosedPeriods
from .open_hour import OpenHour, idle
from .parts import RollupStats
from .worklist import WorkList

#: how far back work lists are scanned: 48 h of accepted lateness + 24 h of stream retention + margin
LOOKBACK_HOURS = 75


@dataclass(frozen=True)
class Task:
    """One partition's roll-up for one hour or day."""

    gran: str  # tables.HOUR or tables.DAY
    bucket: str
    pk: str


class Rollup:
    def __init__(self, client: Any, config: StoreConfig, clock: Callable[[], float] = time.time,
                 lease_seconds: int = 240) -> None:
        self.client = client
        self.config = config
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.worklist = WorkList(client, config)
        self.closed = ClosedPeriods(client, config, self.worklist)
        self.open = OpenHour(client, config, self.worklist)

    # --- the synchronous pass ---

    def run(self, now: float | None = None, hours: Iterable[str] | None = None,
            wait_seconds: float = 0.0) -> RollupStats:
        """One pass over the work lists of `hours` (default: the last LOOKBACK_HOURS).
        While another run holds the lease, wait up to `wait_seconds` for it, else skip."""
        now = self.clock() if now is None else now
        stats = RollupStats()
        owner = f"{time.time_ns()}"
        give_up = time.monotonic() + wait_seconds
        while not self.worklist.acquire(owner, now, self.lease_seconds):
            if time.monotonic() >= give_up:
                stats.skipped_lease = True
                return stats
            time.sleep(0.05)
        try:
            hours = self._hours(now, hours)
            for task, entry in self._hour_tasks(hours, now):
                self._roll(task, entry, now, stats)
            for task, entry in self._day_tasks(hours, now):
                self._roll(task, entry, now, stats)
        finally:
            self.worklist.release(owner)
        return stats

    # --- fan-out: plan here, roll each task elsewhere ---

    def plan(self, now: float | None = None, hours: Iterable[str] | None = None) -> list[Task]:
        """Every partition with something to roll: open hours that moved or have minutes to
        compact, closed hours and days whose version is ahead of their roll. Idle ones are left out."""
        now = self.clock() if now is None else now
        hours = self._hours(now, hours)
        return [t for t, _ in self._hour_tasks(hours, now)] + [t for t, _ in self._day_tasks(hours, now)]

    def roll_task(self, task: Task, now: float | None = None) -> RollupStats:
        """One partition's hour or day, from its entry as it is now (a worker's message)."""
        now = self.clock() if now is None else now
        stats = RollupStats()
        entry = self.worklist.entry(task.gran, task.bucket, task.pk)
        if entry is not None:
            self._roll(task, entry, now, stats)
        return stats

    # --- planning and rolling ---

    @staticmethod
    def _hours(now: float, hours: Iterable[str] | None) -> list[str]:
        if hours is None:
            current = int(now) - int(now) % 3600
            hours = [buckets.bucket_of(tables.HOUR, current - i * 3600) for i in range(LOOKBACK_HOURS)]
        return sorted(set(hours))

    def _hour_tasks(self, hours: list[str], now: float) -> Iterable[tuple[Task, dict[str, Any]]]:
        for hour in hours:
            open_ = buckets.bucket_start(tables.HOUR, hour) + 3600 > now
            for entry in self.worklist.entries(tables.HOUR, hour):
                if (not idle(entry, hour, now)) if open_ else _ahead(entry):
                    yield Task(tables.HOUR, hour, entry[tables.SK]), entry

    def _day_tasks(self, hours: list[str], now: float) -> Iterable[tuple[Task, dict[str, Any]]]:
        for day in sorted({h[:8] for h in hours}):
            if buckets.bucket_start(tables.DAY, day) + 86400 > now:
                continue
            for entry in self.worklist.entries(tables.DAY, day):
                if _ahead(entry):
                    yield Task(tables.DAY, day, entry[tables.SK]), entry

    def _roll(self, task: Task, entry: dict[str, Any], now: float, stats: RollupStats) -> None:
        if task.gran == tables.HOUR:
            if buckets.bucket_start(tables.HOUR, task.bucket) + 3600 > now:
                self.open.roll(task.pk, task.bucket, entry, now, stats)
            elif _ahead(entry):
                self.closed.roll_hour(task.pk, task.bucket, int(entry.get("v", 0)), stats, marked_minutes(entry))
                if int(entry.get("rv", 0) or 0) > 0:  # rolled before: late minutes changed what it shows
                    self.closed.touch_stamp(task.pk, now)
        elif buckets.bucket_start(tables.DAY, task.bucket) + 86400 <= now and _ahead(entry):
            self.closed.roll_day(task.pk, task.bucket, int(entry.get("v", 0)), stats)


def _ahead(entry: dict[str, Any]) -> bool:
    return int(entry.get("v", 0) or 0) > int(entry.get("rv", 0) or 0)

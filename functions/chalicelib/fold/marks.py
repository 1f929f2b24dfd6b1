"""What a fold writes besides counters, once and only when it is needed.

- **Sketch deltas**: one Put per (partition, minute, execution) with profiles,
  keyed by the fold's first record: a retry puts the same key, a differently
  bounded retry a duplicate that a union absorbs.
- **Work-list marks** tell the rollup which (partition, hour) to roll and which
  minutes' deltas to compact: `ADD v :1, m<minute> :1` on ROLLUP#H#<hour>.
  A fold marks a minute only when it created the minute's item, when the minute
  is already closed (a late event: the hour or its compaction must be redone),
  or after a slow-path write; a fold adding to an open minute that an earlier
  fold created and marked writes no mark. The rollup removes a minute's mark
  only if its counter did not move since it read it, so no late delta is lost.
- **The campaign directory** (channels, experiments, last receipt, a stamp) is
  written when a campaign or channel is new to this container, when a fold
  touches minutes older than the stamp's recent window (the page's stamp is
  read from recent minute items, `campaigns.py`), and at most once a minute
  otherwise, for "latest event received". Not once per fold.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from botocore.exceptions import ClientError

from .. import buckets, tables
from ..store import StoreConfig, put_all, with_retries

#: a minute is "closed" for marks this long before its end (clock skew, slow writes)
CLOSE_MARGIN = 10
#: the page's stamp reads minute items this far back (campaigns.RECENT_STAMP_SECONDS)
STAMP_RECENT = 180
DIRECTORY_EVERY = 60.0


def minute_attr(minute: str) -> str:
    """The work-list entry's per-minute mark."""
    return f"m{minute}"


def marked_minutes(entry: dict[str, Any]) -> dict[str, int]:
    """minute -> its mark's count, from a work-list entry (plain or low-level values)."""
    out = {}
    for name, value in entry.items():
        if name.startswith("m") and name[1:].isdigit():
            out[name[1:]] = int(value["N"]) if isinstance(value, dict) else int(value)
    return out


def needs_mark(minute: str, created: bool, slow: bool, now: float) -> bool:
    end = buckets.bucket_start(tables.MINUTE, minute) + 60
    return created or slow or now + CLOSE_MARGIN >= end


class Marks:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def sketch_deltas(self, items: list[dict[str, Any]]) -> None:
        put_all(self.client, self.config, items)

    def mark(self, minutes_by_hour: dict[tuple[str, str], set[str]]) -> int:
        """One update per (partition, hour): bump its version and its minutes' marks."""
        for (pk, hour), minutes in sorted(minutes_by_hour.items()):
            names = {f"#m{i}": minute_attr(m) for i, m in enumerate(sorted(minutes))}
            adds = ", ".join(["v :one"] + [f"{n} :one" for n in names])
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(tables.rollup_pk(tables.HOUR, hour), pk),
                UpdateExpression=f"ADD {adds}", ExpressionAttributeNames=names,
                ExpressionAttributeValues={":one": {"N": "1"}}), self.config)
        return len(minutes_by_hour)


@dataclass
class _Known:
    channels: set[str] = field(default_factory=set)
    experiments: set[str] = field(default_factory=set)
    written_at: float = 0.0


class DirectoryWriter:
    """The campaign directory, written when something in it would change (see module doc)."""

    def __init__(self, client: Any, config: StoreConfig, clock: Any = time.time) -> None:
        self.client = client
        self.config = config
        self.clock = clock
        self._known: dict[tuple[str, str], _Known] = {}

    def due(self, workspace: str, campaign: str, channels: set[str], experiments: set[str], late: bool) -> bool:
        known = self._known.get((workspace, campaign))
        if known is None or late:
            return True
        return bool(channels - known.channels or experiments - known.experiments) or \
            self.clock() - known.written_at >= DIRECTORY_EVERY

    def write(self, updates: Iterable[tuple[str, str, set[str], set[str], int, str]]) -> int:
        """(workspace, campaign, channels, experiments, latest receipt, stamp) of the due campaigns."""
        n = 0
        for workspace, campaign, channels, experiments, latest, stamp in updates:
            self._write_one(workspace, campaign, channels, experiments, latest, stamp)
            known = self._known.setdefault((workspace, campaign), _Known())
            known.channels |= channels
            known.experiments |= experiments
            known.written_at = self.clock()
            n += 1
        return n

    def _write_one(self, workspace: str, campaign: str, channels: set[str], experiments: set[str],
                   latest: int, stamp: str) -> None:
        """The receipt time and stamp only move forward (folds of two shards land in any
        order); an older fold still records the channels it brings."""
        key = tables.key(tables.campaigns_pk(workspace), campaign)
        sets: dict[str, Any] = {":c": {"SS": sorted(channels)}}
        expression = "ADD channels :c"
        if experiments:
            sets[":x"] = {"SS": sorted(experiments)}
            expression += ", experiments :x"
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=key,
                UpdateExpression=expression + " SET last_event = :t, stamp = :s",
                ConditionExpression="attribute_not_exists(stamp) OR stamp < :s",
                ExpressionAttributeValues={**sets, ":t": {"N": str(latest)}, ":s": {"S": stamp}}), self.config)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        with_retries(lambda: self.client.update_item(
            TableName=self.config.table_name, Key=key, UpdateExpression=expression,
            ExpressionAttributeValues=sets), self.config)

"""One live report computation per state, shared by every viewer.

A live report is a function of the campaign's counters, which only a fold
changes (and a fold moves the campaign's stamp), and of the clock (the window
slides, the ETA moves). So it is computed once per (view, stamp, time slot):
the view is (campaign, tab, window, executions, compare), the slot a
`slot_seconds` step of the clock, and the report is computed *at the slot's
start*, so a cached copy and a fresh computation are the same document. Ten
marketers watching a busy send cost one report read per fold, not ten.

Two levels: an in-process LRU (a warm Lambda container, local mode) and one
small item per view in the table (`LIVE#R#{workspace}#{campaign}` / view:
the stamp, the slot, the zlib'd JSON; TTL'd), shared by every container. A
stale entry is simply not used: readers compare stamp and slot.
"""
from __future__ import annotations

import json
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import tables
from ..campaigns import CampaignDirectory
from ..reports.live import LiveQuery
from botocore.exceptions import ClientError

from ..store import StoreConfig, StoreUnavailable, with_retries
from .connections import PREFIX

#: reports larger than this (zlib'd) are not put in the table (the item limit is 400 KB)
MAX_ITEM_BYTES = 100_000
TTL_SECONDS = 600
#: viewers who find another computing the same state wait this long for its copy, then compute themselves
CLAIM_WAIT_SECONDS = 3.0
CLAIM_POLL_SECONDS = 0.05


def cache_pk(workspace: str, campaign: str) -> str:
    return f"{PREFIX}R#{workspace}#{campaign}"


def view_key(q: LiveQuery, compare: bool) -> str:
    executions = "*" if q.executions is None else ",".join(sorted(e or "_" for e in q.executions))
    return f"{q.tab}|{q.window_seconds}|{executions}|{int(compare)}"


@dataclass
class CacheStats:
    memory_hits: int = 0
    table_hits: int = 0
    computed: int = 0


@dataclass
class ReportCache:
    client: Any
    config: StoreConfig
    directory: CampaignDirectory
    slot_seconds: int = 10
    lru_size: int = 512
    stats: CacheStats = field(default_factory=CacheStats)
    _lru: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _flights: dict = field(default_factory=dict)  # view -> its lock (one computation at a time per view)
    sleep: Callable[[float], None] = time.sleep
    claim_wait_seconds: float = CLAIM_WAIT_SECONDS

    def live(self, q: LiveQuery, compare: bool, now: float, build: Callable[[float], dict[str, Any]]) -> dict[str, Any]:
        """The live report of `q` (with the previous window when `compare`), computed by `build(at)` at most
        once per stamp and slot."""
        slot = int(now // self.slot_seconds)
        at = float(slot * self.slot_seconds)
        stamp = (self.directory.stamp(q.workspace, q.campaign_id) or {}).get("stamp") or ""
        if not stamp:  # no events yet: nothing worth sharing
            with self._lock:
                self.stats.computed += 1
            return build(at)
        view = view_key(q, compare)
        mem_key = (q.workspace, q.campaign_id, view)
        with self._lock:
            flight = self._flights.setdefault(mem_key, threading.Lock())
        with flight:  # viewers in this process wait for the one computing this view
            with self._lock:
                held = self._lru.get(mem_key)
                if held and held[0] == stamp and held[1] == slot:
                    self._lru.move_to_end(mem_key)
                    self.stats.memory_hits += 1
                    return json.loads(held[2])
            text = self._shared(q, view, stamp, slot, now, at, build)
            with self._lock:
                self._lru[mem_key] = (stamp, slot, text)
                self._lru.move_to_end(mem_key)
                while len(self._lru) > self.lru_size:
                    self._lru.popitem(last=False)
        return json.loads(text)

    def _shared(self, q: LiveQuery, view: str, stamp: str, slot: int, now: float, at: float,
                build: Callable[[float], dict[str, Any]]) -> str:
        """The table's copy; else claim the state and compute it; else wait for the claimer's copy."""
        text = self._from_table(q, view, stamp, slot)
        if text is None and not self._claim(q, view, stamp, slot, now):
            deadline = time.monotonic() + self.claim_wait_seconds
            while text is None and time.monotonic() < deadline:
                self.sleep(CLAIM_POLL_SECONDS)
                text = self._from_table(q, view, stamp, slot)
        if text is not None:
            with self._lock:
                self.stats.table_hits += 1
            return text
        text = json.dumps(build(at), separators=(",", ":"))
        self._to_table(q, view, stamp, slot, text, now)
        with self._lock:
            self.stats.computed += 1
        return text

    def _claim(self, q: LiveQuery, view: str, stamp: str, slot: int, now: float) -> bool:
        """True when this viewer is the first to compute (stamp, slot) of the view."""
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name, Item={
                    **tables.key(cache_pk(q.workspace, q.campaign_id), view), "stamp": {"S": stamp},
                    "slot": {"N": str(slot)}, tables.TTL_ATTRIBUTE: {"N": str(int(now) + TTL_SECONDS)}},
                ConditionExpression="attribute_not_exists(pk) OR stamp <> :s OR slot <> :n",
                ExpressionAttributeValues={":s": {"S": stamp}, ":n": {"N": str(slot)}}), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            return True  # the table misbehaves: compute rather than wait
        except StoreUnavailable:
            return True

    def _from_table(self, q: LiveQuery, view: str, stamp: str, slot: int) -> str | None:
        try:
            item = with_retries(lambda: self.client.get_item(
                TableName=self.config.table_name, Key=tables.key(cache_pk(q.workspace, q.campaign_id), view)),
                self.config).get("Item")
        except StoreUnavailable:
            return None
        if not item or item.get("stamp", {}).get("S") != stamp or item.get("slot", {}).get("N") != str(slot) \
                or "doc" not in item:  # claimed, not computed yet
            return None
        return zlib.decompress(item["doc"]["B"]).decode()

    def _to_table(self, q: LiveQuery, view: str, stamp: str, slot: int, text: str, now: float) -> None:
        packed = zlib.compress(text.encode(), 6)
        if len(packed) > MAX_ITEM_BYTES:
            return
        try:
            with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item={
                **tables.key(cache_pk(q.workspace, q.campaign_id), view), "stamp": {"S": stamp},
                "slot": {"N": str(slot)}, "doc": {"B": packed},
                tables.TTL_ATTRIBUTE: {"N": str(int(now) + TTL_SECONDS)}}), self.config)
        except StoreUnavailable:
            pass  # the next viewer computes it again: a cache, never a dependency

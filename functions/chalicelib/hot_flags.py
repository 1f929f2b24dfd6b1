"""Campaigns the aggregator found hot, read by ingest: one campaign past one shard.

Ingest keys a campaign's records by the campaign (no item has two writers), so one
shard takes all of them: about 1,000 records a second, i.e. 1,000 one-event requests
a second. An API container only sees its own share (tens of requests a second), so
`ingest.HotCampaigns` never finds a campaign hot from one-event requests. The
aggregator does: a fold holds one shard's second of records, the campaign's whole
rate. Past `records_per_second` it flags the campaign: one small item per campaign in
its workspace's HOT partition, with a TTL (one PutItem, at most once a minute per
campaign and container); ingest queries that partition at most every
`REFRESH_SECONDS` per workspace and container, and salts the campaign's records
over the shards while the flag lasts. Salted records fold exactly
like the others (`tables.counter_sk` carries the salt; reports sum the parts).

Best effort both ways: a flag that cannot be written or read only means no salting
(the campaign stays on one shard, as before), never a failed fold or request.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from botocore.exceptions import BotoCoreError, ClientError

from . import tables
from .store import StoreConfig
from .stream import StreamRecord

#: a third of a shard's 1,000 records a second: salted well before the shard refuses
HOT_RECORDS_PER_SECOND = 300.0
#: how long a flag lasts without a fold renewing it
FLAG_SECONDS = 600
#: how often a container re-reads a workspace's flags
REFRESH_SECONDS = 10.0
#: how often a container renews a flag it wrote
REWRITE_SECONDS = 60.0
#: the keys a hot campaign's records are spread over (ingest.HotCampaigns)
SALTS = 8
#: flags read per workspace (a bound on the read; more campaigns stay unsalted)
MAX_FLAGS = 100

logger = logging.getLogger(__name__)


def hot_pk(workspace: str) -> str:
    return f"{workspace}#HOT"


class HotFlags:
    def __init__(self, client: Any, config: StoreConfig, clock: Callable[[], float] = time.time,
                 records_per_second: float = HOT_RECORDS_PER_SECOND, salts: int = SALTS) -> None:
        self.client, self.config, self.clock = client, config, clock
        self.salts = salts  # ingest.HotCampaigns.salts: how many keys a flagged campaign's records use
        self.records_per_second = records_per_second
        self._read: dict[str, tuple[float, dict[str, float]]] = {}  # workspace -> (read at, campaign -> until)
        self._written: dict[tuple[str, str], float] = {}
        self.reads = 0
        self.writes = 0

    # --- ingest ---

    def is_hot(self, workspace: str, campaign: str) -> bool:
        now = self.clock()
        cached = self._read.get(workspace)
        if cached is None or now - cached[0] >= REFRESH_SECONDS:
            if len(self._read) > 10_000:
                self._read.clear()  # bounded memory: re-read when asked
            cached = self._read[workspace] = (now, self._load(workspace))
        return cached[1].get(campaign, 0.0) > now

    def _load(self, workspace: str) -> dict[str, float]:
        self.reads += 1
        try:
            items = self.client.query(
                TableName=self.config.table_name, KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": hot_pk(workspace)}}, Limit=MAX_FLAGS).get("Items", [])
        except (ClientError, BotoCoreError) as exc:
            logger.warning("hot flags unreadable: %s", exc)
            return {}
        # TTL deletes late: an expired flag may still be read, and is ignored
        return {item["sk"]["S"]: float(item["until"]["N"]) for item in items if "until" in item}

    # --- aggregator ---

    def note_records(self, records: Iterable[StreamRecord]) -> int:
        """One shard's fold: each campaign's records a second, over the time they arrived in. Salted
        records (the campaign is already flagged) stand for their share: a salt's records times the
        salts, so a flag is renewed while the campaign stays hot (past half the rate), not let lapse
        once its records are spread thin over the shards."""
        plain: dict[tuple[str, str], int] = {}
        salted: dict[tuple[str, str], dict[int, int]] = {}
        first, last = float("inf"), float("-inf")
        for r in records:
            if not r.events:
                continue
            key = (r.workspace, r.events[0].get("campaign_id", ""))
            if r.salt:
                by_salt = salted.setdefault(key, {})
                by_salt[r.salt] = by_salt.get(r.salt, 0) + 1
            else:
                plain[key] = plain.get(key, 0) + 1
            first, last = min(first, r.received_at), max(last, r.received_at)
        estimates: dict[tuple[str, str], float] = dict(plain)
        for key, by_salt in salted.items():
            # the whole campaign's rate from the salts seen here, doubled: past half the rate renews
            estimates[key] = estimates.get(key, 0) + 2 * self.salts * sum(by_salt.values()) / len(by_salt)
        return self.note_fold(estimates, last - first) if estimates else 0

    def note_fold(self, records: dict[tuple[str, str], float], seconds: float) -> int:
        """(workspace, campaign) -> its records (estimated) in one shard's fold spanning `seconds`: flag the
        campaigns past the rate (once a minute per campaign and container). The flags written."""
        now = self.clock()
        written = 0
        for (workspace, campaign), n in sorted(records.items()):
            if n / max(1.0, seconds) < self.records_per_second:
                continue
            if now - self._written.get((workspace, campaign), float("-inf")) < REWRITE_SECONDS:
                continue
            if self._flag(workspace, campaign, now):
                if len(self._written) > 10_000:
                    self._written.clear()
                self._written[(workspace, campaign)] = now
                written += 1
        self.writes += written
        return written

    def _flag(self, workspace: str, campaign: str, now: float) -> bool:
        until = {"N": str(int(now) + FLAG_SECONDS)}
        try:
            self.client.put_item(TableName=self.config.table_name, Item={
                **tables.key(hot_pk(workspace), campaign), "until": until, tables.TTL_ATTRIBUTE: until})
            return True
        except (ClientError, BotoCoreError) as exc:
            logger.warning("hot flag not written for %s/%s: %s", workspace, campaign, exc)
            return False

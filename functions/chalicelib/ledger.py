"""Request ledger: what makes a retried POST return the first answer, and
what tells the aggregator which stream records count.

A request is identified by its Idempotency-Key, the hash of its body, or a
platform's event id. Ingest first puts the accepted events on the stream,
tagged with a fresh attempt id, then commits the ledger item — conditionally,
once — with that attempt id and the answer. So:

- a crash before the commit leaves records whose attempt never commits: the
  aggregator drops them once COMMIT_DEADLINE has passed (their producer got no
  200 and will retry as a new attempt);
- two concurrent attempts race on the conditional put: one commits, the other
  answers with the winner's response, and only the winner's records count;
- ingest never commits after COMMIT_DEADLINE, so a record the aggregator has
  dropped can never become committed later.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any, Iterable

from botocore.exceptions import ClientError

from . import tables
from .store import StoreConfig, with_retries

#: Ingest refuses to commit an attempt older than this (it answers 503 instead).
COMMIT_DEADLINE = 20.0
#: The aggregator drops uncommitted records this long after their receipt:
#: the deadline plus a margin for clock skew and a put still in flight.
DROP_AFTER = COMMIT_DEADLINE + 40.0


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    body_hash: str
    received_at: float
    attempt: str
    response: dict[str, Any]


class CommitTooLate(Exception):
    """The attempt took longer than COMMIT_DEADLINE: answer 503, the producer retries."""


def _pack(response: dict[str, Any]) -> bytes:
    # Compressed: 5,000 rejections with their reasons would not fit 400 KB as text.
    return zlib.compress(json.dumps(response, separators=(",", ":")).encode(), 6)


class BatchLedger:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def _key(self, workspace: str, batch_id: str) -> dict[str, Any]:
        return {tables.PK: {"S": tables.batch_pk(workspace, batch_id)}, tables.SK: {"S": "BATCH"}}

    @staticmethod
    def _record(item: dict[str, Any]) -> BatchRecord:
        return BatchRecord(item[tables.PK]["S"].split("#BATCH#", 1)[1], item["body_hash"]["S"],
                           float(item["received_at"]["N"]), item.get("attempt", {}).get("S", ""),
                           json.loads(zlib.decompress(item["response"]["B"])))

    def get(self, workspace: str, batch_id: str) -> BatchRecord | None:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=self._key(workspace, batch_id),
            ConsistentRead=True), self.config).get("Item")
        return self._record(item) if item and "response" in item else None

    def commit(self, workspace: str, batch_id: str, body_hash: str, received_at: float, attempt: str,
               response: dict[str, Any], now: float, ttl_seconds: int | None = None) -> BatchRecord | None:
        """Commit this attempt; None when it won, else the record that won first.
        The item lives ``ttl_seconds`` (default: the config's marker TTL)."""
        if now - received_at > COMMIT_DEADLINE:
            raise CommitTooLate(f"attempt took {now - received_at:.1f}s")
        item = {**self._key(workspace, batch_id), "body_hash": {"S": body_hash},
                "received_at": {"N": repr(received_at)}, "attempt": {"S": attempt},
                "response": {"B": _pack(response)},
                tables.TTL_ATTRIBUTE: {"N": str(int(received_at) + (ttl_seconds or self.config.marker_ttl_seconds))}}
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name, Item=item,
                ConditionExpression="attribute_not_exists(pk)"), self.config)
            return None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        winner = self.get(workspace, batch_id)
        assert winner is not None  # a committed item is never removed before its TTL
        return winner

    def committed_attempts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(workspace, batch_id) -> committed attempt id, for those committed.
        One BatchGetItem per 100 requests; only the attempt id is read."""
        wanted = sorted(set(keys))
        found: dict[tuple[str, str], str] = {}
        for i in range(0, len(wanted), 100):
            request: dict[str, Any] | None = {self.config.table_name: {
                "Keys": [self._key(ws, b) for ws, b in wanted[i:i + 100]], "ConsistentRead": True,
                "ProjectionExpression": "#pk, attempt", "ExpressionAttributeNames": {"#pk": tables.PK}}}
            while request:
                page = with_retries(lambda: self.client.batch_get_item(RequestItems=request), self.config)
                for item in page["Responses"].get(self.config.table_name, []):
                    ws, batch_id = item[tables.PK]["S"].split("#BATCH#", 1)
                    found[(ws, batch_id)] = item.get("attempt", {}).get("S", "")
                request = page.get("UnprocessedKeys") or None
        return found

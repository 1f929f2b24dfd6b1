"""Batch records: what makes a retried POST return the first answer.

A batch is identified by its Idempotency-Key or, without one, by the hash of
its body. The record keeps the time the batch was first received (so a retry
validates timestamps against the same clock) and, once applied, the response.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import tables
from .store import StoreConfig, with_retries


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    body_hash: str
    received_at: float
    response: dict[str, Any] | None  # set once the batch is fully applied


class BatchLedger:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def _key(self, workspace: str, batch_id: str) -> dict[str, Any]:
        return {tables.PK: {"S": tables.batch_pk(workspace, batch_id)}, tables.SK: {"S": "BATCH"}}

    def begin(self, workspace: str, batch_id: str, body_hash: str, now: float) -> BatchRecord:
        """Return the existing record of this batch, or create it."""
        item = {**self._key(workspace, batch_id), "body_hash": {"S": body_hash},
                "received_at": {"N": repr(now)},
                tables.TTL_ATTRIBUTE: {"N": str(int(now) + self.config.marker_ttl_seconds)}}
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name, Item=item,
                ConditionExpression="attribute_not_exists(pk)"), self.config)
            return BatchRecord(batch_id, body_hash, now, None)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        existing = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=self._key(workspace, batch_id),
            ConsistentRead=True), self.config)["Item"]
        response = None
        if "response" in existing:
            response = json.loads(zlib.decompress(existing["response"]["B"]))
        return BatchRecord(batch_id, existing["body_hash"]["S"], float(existing["received_at"]["N"]), response)

    def complete(self, workspace: str, batch_id: str, response: dict[str, Any]) -> None:
        # Compressed: 5,000 rejections with their reasons would not fit 400 KB as text.
        blob = zlib.compress(json.dumps(response, separators=(",", ":")).encode(), 6)
        with_retries(lambda: self.client.update_item(
            TableName=self.config.table_name, Key=self._key(workspace, batch_id),
            UpdateExpression="SET #r = :r", ExpressionAttributeNames={"#r": "response"},
            ExpressionAttributeValues={":r": {"B": blob}}), self.config)

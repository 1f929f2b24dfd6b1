"""Records whose request has not committed yet, set aside so they never hold the shard.

Ingest puts a request's records on the stream, then commits its ledger item
(`ledger.py`); the aggregator counts a record only if the committed attempt is
the record's. A fold that meets a record whose request has no committed attempt
yet waits a moment (the commit usually lands milliseconds later), then
**parks** it: the record's bytes go to a `PARKED#<stream>#<shard>` item and
the fold goes on with the rest of the shard. Parked records are applied later,
in sequence order, as soon as their request commits (with a guard of their own,
`~q<shard>p`, so they stay exactly once), or dropped once the request can no
longer commit (`ledger.DROP_AFTER` after receipt): by the shard's next
invocations, or by the rollup schedule for a shard that went quiet. Parking is
rare: it costs a Put and a Delete per parked record and a Query per
invocation while the queue holds something.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .. import tables
from ..store import StoreConfig, with_retries
from .guards import seq_key

#: how long a fold waits for a young record's commit before parking it
PARK_AFTER = 2.0
INDEX_SK = "INDEX"


@dataclass(frozen=True)
class Parked:
    sequence: int
    data: bytes


def parked_pk(stream: str, shard: str) -> str:
    return f"PARKED#{stream}#{shard}"


def parked_index_pk(stream: str) -> str:
    return f"PARKED#{stream}"


class Parking:
    """The queue lives in its own partition; the shard's state item (read by every
    invocation anyway) holds `pm`, the highest parked sequence, so a fold knows
    without another read whether some of its records may be parked already (a
    retry after a crash) and whether the queue needs a look."""

    def __init__(self, client: Any, config: StoreConfig, state_key: Any, clock: Any = time.time) -> None:
        self.client = client
        self.config = config
        self.state_key = state_key  # (stream, shard) -> (pk, sk) of the shard's state item
        self.clock = clock

    def park(self, stream: str, shard: str, records: list[Parked]) -> None:
        for r in records:
            with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item={
                **tables.key(parked_pk(stream, shard), seq_key(r.sequence)), "data": {"B": r.data},
                "at": {"N": str(int(self.clock()))}}), self.config)
        highest = seq_key(max(r.sequence for r in records))
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(*self.state_key(stream, shard)),
                UpdateExpression="SET pm = :s", ConditionExpression="attribute_not_exists(pm) OR pm < :s",
                ExpressionAttributeValues={":s": {"S": highest}}), self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        with_retries(lambda: self.client.update_item(
            TableName=self.config.table_name, Key=tables.key(parked_index_pk(stream), INDEX_SK),
            UpdateExpression="ADD shards :s", ExpressionAttributeValues={":s": {"SS": [shard]}}), self.config)

    def queue(self, stream: str, shard: str) -> list[Parked]:
        out, kwargs = [], {
            "TableName": self.config.table_name, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": parked_pk(stream, shard)}}, "ConsistentRead": True}
        while True:
            page = with_retries(lambda: self.client.query(**kwargs), self.config)
            out.extend(Parked(int(i[tables.SK]["S"]), bytes(i["data"]["B"])) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(out, key=lambda p: p.sequence)

    def release(self, stream: str, shard: str, sequences: list[int], highest_seen: str | None) -> None:
        """Forget applied or dropped records (after their counts are written); when the queue
        is empty, clear the state's `pm` unless a fold parked more meanwhile."""
        for seq in sequences:
            with_retries(lambda: self.client.delete_item(
                TableName=self.config.table_name, Key=tables.key(parked_pk(stream, shard), seq_key(seq))),
                self.config)
        if highest_seen is None:
            return
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(*self.state_key(stream, shard)),
                UpdateExpression="REMOVE pm", ConditionExpression="pm = :s",
                ExpressionAttributeValues={":s": {"S": highest_seen}}), self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return
        with_retries(lambda: self.client.update_item(
            TableName=self.config.table_name, Key=tables.key(parked_index_pk(stream), INDEX_SK),
            UpdateExpression="DELETE shards :s", ExpressionAttributeValues={":s": {"SS": [shard]}}), self.config)

    def shards_with_parked(self, stream: str) -> list[str]:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(parked_index_pk(stream), INDEX_SK),
            ConsistentRead=True), self.config).get("Item") or {}
        return sorted(item.get("shards", {}).get("SS", []))

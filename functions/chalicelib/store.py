"""DynamoDB access shared by every module: retries with backoff, the ADD
expression of a counter delta, bounded range reads, and item sizes (cost).

Exactly-once application of deltas lives in `aggregator.py`.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from botocore.exceptions import ClientError

from . import tables

RETRYABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
}
RETRYABLE_REASONS = {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"}


class StoreUnavailable(Exception):
    """DynamoDB kept throttling or failing: the caller answers 503 + Retry-After."""


@dataclass(frozen=True)
class StoreConfig:
    table_name: str
    marker_ttl_seconds: int = 7 * 24 * 3600
    max_attempts: int = 6
    base_backoff_seconds: float = 0.05
    consistent_reads: bool = False


@dataclass
class ReadStats:
    queries: int = 0
    items: int = 0
    bytes: int = 0
    consumed_rcu: float = 0.0
    keys: list[str] = field(default_factory=list)


def is_retryable(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in RETRYABLE_CODES:
        return True
    if code == "TransactionCanceledException":
        reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
        return bool(reasons & RETRYABLE_REASONS)
    return False


def with_retries(call: Callable[[], Any], config: StoreConfig, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Retry throttling and transient errors with jittered exponential backoff."""
    for attempt in range(config.max_attempts):
        try:
            return call()
        except ClientError as exc:
            if not is_retryable(exc):
                raise
            if attempt == config.max_attempts - 1:
                raise StoreUnavailable(str(exc)) from exc
            sleep(config.base_backoff_seconds * (2 ** attempt) * (0.5 + random.random()))
    raise StoreUnavailable("no attempt made")  # pragma: no cover


def update_expression(deltas: Mapping[str, int], ttl: int | None) -> dict[str, Any]:
    """One ADD for every counter of an item (placeholders keep any value safe)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds = []
    for i, (attr, delta) in enumerate(sorted(deltas.items())):
        names[f"#a{i}"] = attr
        values[f":v{i}"] = {"N": str(delta)}
        adds.append(f"#a{i} :v{i}")
    expression = "ADD " + ", ".join(adds)
    if ttl is not None:
        names["#ttl"] = tables.TTL_ATTRIBUTE
        values[":ttl"] = {"N": str(ttl)}
        expression += " SET #ttl = :ttl"
    return {"UpdateExpression": expression, "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values}


def put_all(client: Any, config: StoreConfig, items: list[dict[str, Any]]) -> None:
    """Put items with BatchWriteItem (25 a request), resending what DynamoDB left unprocessed.
    For idempotent overwrites only: they are billed once, not twice as in a transaction."""
    for i in range(0, len(items), 25):
        request: dict[str, Any] | None = {config.table_name: [{"PutRequest": {"Item": it}}
                                                              for it in items[i:i + 25]]}
        while request:
            response = with_retries(lambda: client.batch_write_item(RequestItems=request), config)
            request = response.get("UnprocessedItems") or None


class CounterStore:
    """Reads of counter and sketch items of one table, through a low-level DynamoDB client.
    (Writes are the aggregator's and the rollup's: `aggregator.py`, `rollup/`.)"""

    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def query(self, pk: str, low_sk: str, high_sk: str, stats: ReadStats,
              limit: int | None = None) -> Iterator[dict[str, Any]]:
        """All items of pk with low_sk <= sk <= high_sk (or the first `limit`), numbers as ints."""
        kwargs: dict[str, Any] = {
            "TableName": self.config.table_name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": tables.PK, "#sk": tables.SK},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": low_sk}, ":hi": {"S": high_sk}},
            "ConsistentRead": self.config.consistent_reads,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if limit:
            kwargs["Limit"] = limit
        while True:
            page = with_retries(lambda: self.client.query(**kwargs), self.config)
            stats.queries += 1
            stats.consumed_rcu += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
            for raw in page.get("Items", []):
                stats.items += 1
                stats.bytes += item_size(raw)
                yield {k: _plain(v) for k, v in raw.items()}
            last = page.get("LastEvaluatedKey")
            if not last or limit:
                return
            kwargs["ExclusiveStartKey"] = last


def _plain(value: Mapping[str, Any]) -> Any:
    if "N" in value:
        n = value["N"]
        return int(n) if "." not in n else float(n)
    if "S" in value:
        return value["S"]
    if "B" in value:
        return value["B"]
    if "SS" in value:
        return set(value["SS"])
    if "BOOL" in value:
        return value["BOOL"]
    return value


def item_size(raw: Mapping[str, Mapping[str, Any]]) -> int:
    """DynamoDB's billed size of an item in low-level form (names + values)."""
    total = 0
    for name, value in raw.items():
        total += len(name.encode())
        if "S" in value:
            total += len(value["S"].encode())
        elif "N" in value:
            digits = value["N"].lstrip("-").replace(".", "").lstrip("0") or "0"
            total += (len(digits) + 1) // 2 + 1
        elif "B" in value:
            b = value["B"]
            total += len(b) if isinstance(b, (bytes, bytearray)) else len(str(b))
        elif "SS" in value:
            total += sum(len(s.encode()) for s in value["SS"])
        else:
            total += 1
    return total

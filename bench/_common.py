"""Shared by the benchmarks: paths, fake AWS, DynamoDB item sizes and a
request recorder that prices every call by DynamoDB's billing rules.

moto's ReturnConsumedCapacity is fixed (UpdateItem 0.5, transactions nothing),
so request units are computed here from the requests themselves:

* item size (AWS "Item sizes and formats"): per attribute, the UTF-8 length of
  its name plus its value: string = UTF-8 bytes; number = 1 byte per two
  significant digits (leading/trailing zeros trimmed) + 1; binary = bytes;
  bool/null = 1; sets = sum of members; list/map = 3 + 1 per element + members.
* writes: PutItem/UpdateItem/DeleteItem cost ceil(size / 1 KB) WRU (min 1) of
  the larger of the item before and after the write; inside
  TransactWriteItems twice that. A write whose condition fails is still billed
  (on the existing item's size).
* reads: GetItem/BatchGetItem ceil(size / 4 KB) per item (min 1), halved when
  eventually consistent; Query the sum of the returned items' sizes rounded up
  to 4 KB per page, halved when eventually consistent.

The "before" and "after" images are read with a second, unrecorded client,
outside the measured calls.
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "functions")):
    if p not in sys.path:
        sys.path.insert(0, p)

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1",
    "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
})
os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto only, never a real endpoint
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

REGION = "eu-west-1"
KB = 1024
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READ_OPS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


# --------------------------------------------------------------------------- sizes
def _number_size(text: str) -> int:
    digits = text.strip().lstrip("+-")
    mantissa = digits.split("e")[0].split("E")[0].replace(".", "")
    significant = mantissa.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(_number_size(n) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, dict[str, Any]] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def wru(size_before: int, size_after: int, transactional: bool) -> int:
    units = max(1, math.ceil(max(size_before, size_after) / KB))
    return units * (2 if transactional else 1)


def rru_item(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return units if consistent else units / 2


# --------------------------------------------------------------------------- kinds
def kind_of(pk: str, sk: str) -> str:
    """Which part of the system an item belongs to (tables.py's key layout, old and new)."""
    if pk.startswith("AGG#"):
        return "aggregator shard state"
    if pk.startswith("ROLLUP#LEASE"):
        return "rollup lease"
    if pk.startswith("ROLLUP#"):
        return "rollup work list"
    if pk == "DEADLETTER":
        return "dead letter"
    if "#BATCH#" in pk:
        return "batch marker (tx)" if sk.startswith("CHUNK#") else "request ledger"
    if pk.endswith("#DIMS"):
        return "cardinality guard"
    if pk.endswith("#CAMPAIGNS"):
        return "campaign directory"
    head = sk.split("#", 1)[0]
    return {
        "M": "counter minute", "H": "counter hour", "D": "counter day",
        "SX": "sketch delta (minute)", "SM": "sketch minute", "PM": "domain sketch minute",
        "SH": "sketch hour", "PH": "domain sketch hour", "SD": "sketch day", "PD": "domain sketch day",
    }.get(head, f"other ({head})")


# --------------------------------------------------------------------------- recorder
@dataclass
class Write:
    op: str
    kind: str
    key: tuple[str, str]
    before: int
    after: int
    transactional: bool
    failed: bool
    wru: int
    phase: str = ""


@dataclass
class Read:
    op: str
    kind: str
    items: int
    bytes: int
    rru: float
    phase: str = ""


@dataclass
class Recorder:
    """Hooks a boto3 DynamoDB client; prices every request it makes."""

    client: Any
    peek_client: Any
    writes: list[Write] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    call_seconds: float = 0.0
    enabled: bool = True
    #: label stamped on every priced request (ingest, fold, rollup...), so one run splits its costs
    phase: str = ""
    _pending: list[tuple[str, dict, list, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        events = self.client.meta.events
        events.register("before-parameter-build.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def reset(self) -> None:
        self.writes.clear()
        self.reads.clear()
        self.calls.clear()
        self.call_seconds = 0.0

    # -- helpers
    def _peek(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.peek_client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    @staticmethod
    def _targets(op: str, params: dict) -> list[tuple[str, dict, str]]:
        """(table, key, request kind) of every item a write request touches."""
        def key_of(item: dict) -> dict:
            return {"pk": item["pk"], "sk": item["sk"]}
        if op == "PutItem":
            return [(params["TableName"], key_of(params["Item"]), "Put")]
        if op in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], op)]
        if op == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                (name, body), = entry.items()
                key = key_of(body["Item"]) if name == "Put" else body["Key"]
                out.append((body["TableName"], key, name))
            return out
        if op == "BatchWriteItem":
            out = []
            for table, reqs in params["RequestItems"].items():
                for r in reqs:
                    if "PutRequest" in r:
                        out.append((table, key_of(r["PutRequest"]["Item"]), "Put"))
                    else:
                        out.append((table, r["DeleteRequest"]["Key"], "Delete"))
            return out
        return []

    # -- hooks
    def _before(self, params: dict, model: Any, **_: Any) -> None:
        op = model.name
        targets: list = []
        if self.enabled and op in WRITE_OPS:
            targets = [(t, k, n, item_size(self._peek(t, k))) for t, k, n in self._targets(op, params)]
        self._pending.append((op, params, targets, time.perf_counter()))

    def _after(self, parsed: dict, model: Any, **_: Any) -> None:
        nw, nr = len(self.writes), len(self.reads)
        try:
            self._price(parsed, model)
        finally:
            for w in self.writes[nw:]:
                w.phase = self.phase
            for r in self.reads[nr:]:
                r.phase = self.phase

    def _price(self, parsed: dict, model: Any) -> None:
        op, params, targets, started = self._pending.pop()
        self.call_seconds += time.perf_counter() - started
        if not self.enabled:
            return
        self.calls[op] += 1
        error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if op in WRITE_OPS:
            tx = op == "TransactWriteItems"
            if tx and error:
                # a cancelled transaction: DynamoDB bills the items it examined; count them as failed
                for table, key, name, before in targets:
                    self.writes.append(Write(op, kind_of(key["pk"]["S"], key["sk"]["S"]), (key["pk"]["S"], key["sk"]["S"]),
                                             before, before, tx, True, wru(before, 0, tx)))
                return
            for table, key, name, before in targets:
                after = item_size(self._peek(table, key))
                k = (key["pk"]["S"], key["sk"]["S"])
                self.writes.append(Write(op, kind_of(*k), k, before, after, tx, bool(error),
                                         wru(before, after if not error else 0, tx)))
            return
        if op in READ_OPS and not error:
            consistent = bool(params.get("ConsistentRead"))
            if op == "GetItem":
                item = parsed.get("Item")
                k = params["Key"]
                self.reads.append(Read(op, kind_of(k["pk"]["S"], k["sk"]["S"]), int(bool(item)),
                                       item_size(item), rru_item(item_size(item), consistent)))
            elif op == "BatchGetItem":
                for table, items in parsed.get("Responses", {}).items():
                    consistent = bool(params["RequestItems"][table].get("ConsistentRead"))
                    requested = len(params["RequestItems"][table]["Keys"])
                    for item in items:
                        self.reads.append(Read(op, kind_of(item["pk"]["S"], item.get("sk", {"S": ""})["S"]), 1, item_size(item),
                                               rru_item(item_size(item), consistent)))
                    missing = requested - len(items)
                    if missing > 0:  # keys not found still cost the minimum
                        self.reads.append(Read(op, "missing (batch get)", 0, 0,
                                               missing * rru_item(0, consistent)))
            elif op in ("Query", "Scan"):
                items = parsed.get("Items", [])
                size = sum(item_size(i) for i in items)
                units = max(1, math.ceil(size / (4 * KB)))
                kind = kind_of(items[0]["pk"]["S"], items[0]["sk"]["S"]) if items else "query (empty)"
                self.reads.append(Read(op, kind, len(items), size, units if consistent else units / 2))

    # -- summaries
    def total_wru(self, phase: str | None = None) -> int:
        return sum(w.wru for w in self.writes if phase is None or w.phase == phase)

    def total_rru(self, phase: str | None = None) -> float:
        return sum(r.rru for r in self.reads if phase is None or r.phase == phase)

    def by_kind(self, phase: str | None = None) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"writes": 0, "wru": 0, "max_size": 0, "sum_size": 0})
        for w in self.writes:
            if phase is not None and w.phase != phase:
                continue
            row = out[w.kind]
            row["writes"] += 1
            row["wru"] += w.wru
            row["max_size"] = max(row["max_size"], max(w.before, w.after))
            row["sum_size"] += max(w.before, w.after)
        return dict(out)

    def reads_by_kind(self, phase: str | None = None) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"items": 0, "bytes": 0, "rru": 0.0})
        for r in self.reads:
            if phase is not None and r.phase != phase:
                continue
            row = out[r.kind]
            row["items"] += r.items
            row["bytes"] += r.bytes
            row["rru"] += r.rru
        return dict(out)


def speed_up_moto() -> None:
    """moto copies a whole table per TransactWriteItems; local mode, the tests and the
    benchmarks snapshot the transaction's items instead (infra/local/moto_speedups.py)."""
    from infra.local import moto_speedups
    moto_speedups.apply()


def moto_clients(table_names: list[str]) -> tuple[Any, Any]:
    """(client, peek_client) on in-process moto with the product's tables. Call inside mock_aws()."""
    import boto3
    from chalicelib import tables
    client = boto3.client("dynamodb", region_name=REGION)
    peek = boto3.client("dynamodb", region_name=REGION)
    for name in table_names:
        tables.create_table(client, name)
    return client, peek


def fmt_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-markdown table (also readable in a terminal)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep] + [line(r) for r in cells])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out

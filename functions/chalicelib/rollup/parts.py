"""What every roll-up step shares: reading a partition's finer items and writing the
coarser ones (sums of counters, unions of sketches), only where they changed."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from .. import buckets, tables
from ..fold.guards import is_counter
from ..frontier import FRONTIER
from ..sketches import ATTR_PREFIX, Unions, delta_bounds, is_domain_attr, sketch_attrs
from ..store import CounterStore, ReadStats, StoreConfig, item_size, put_all

COUNTER_SKIP = {tables.PK, tables.SK, tables.TTL_ATTRIBUTE, FRONTIER}


@dataclass
class RollupStats:
    hours_rolled: int = 0
    days_rolled: int = 0
    minutes_compacted: int = 0
    open_hours_rolled: int = 0
    idle_skipped: int = 0  # open hours where nothing moved since their last roll: not read
    raced: int = 0
    items_written: int = 0
    bytes_written: int = 0
    skipped_lease: bool = False

    def merge(self, other: "RollupStats") -> None:
        for name, value in vars(other).items():
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, getattr(self, name) + value)


class Parts:
    """A partition's items as a roll-up step reads and writes them."""

    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config
        self.store = CounterStore(client, StoreConfig(config.table_name, consistent_reads=True))

    def counter_sums(self, pk: str, gran: str, bucket: str, finer: str, start: int, end: int,
                     read: ReadStats, frontier: int | None = None) -> list[dict[str, Any]]:
        """Counter items of one hour (day) per execution: the sums of its minute (hour)
        items in [start, end), marked with the frontier they cover up to (hours)."""
        sums = sum_per_execution(self.store.query(pk, *buckets.sk_bounds("", finer, start, end), read))
        mark = {FRONTIER: {"N": str(frontier)}} if frontier is not None else {}
        return [{tables.PK: {"S": pk}, tables.SK: {"S": tables.counter_sk(gran, bucket, e)},
                 **{a: {"N": str(n)} for a, n in attrs.items()}, **mark} for e, attrs in sums.items()]

    def delta_unions(self, pk: str, start: int, end: int, read: ReadStats,
                     minutes: set[str] | None = None) -> tuple[Unions, Unions]:
        """Fold deltas of [start, end) (only `minutes`, when given) unioned per
        (minute, execution, attribute) and per (execution, attribute)."""
        per_minute, per_span = Unions(), Unions()
        for item in self.store.query(pk, *delta_bounds(start, end), read):
            _, minute, execution = item[tables.SK].split("#")[:3]
            if minutes is not None and minute not in minutes:
                continue
            for attr, blob in sketch_attrs(item):
                domain = is_domain_attr(attr)
                per_minute.add((minute, execution, attr), blob, domain)
                per_span.add((execution, attr), blob, domain)
        return per_minute, per_span

    def changed(self, pk: str, gran: str, start: int, end: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Only the sketch items that differ from what is stored (most minutes don't change)."""
        stored: dict[str, dict[str, Any]] = {}
        for kind in ("S", "P"):
            for item in self.store.query(pk, *buckets.sk_bounds(kind, gran, start, end), ReadStats()):
                stored[item[tables.SK]] = {k: {"B": v} for k, v in item.items() if k.startswith(ATTR_PREFIX)}
        return [i for i in items if comparable(stored.get(i[tables.SK]["S"])) != comparable(i)]

    def write(self, items: list[dict[str, Any]], stats: RollupStats) -> None:
        put_all(self.client, self.config, items)
        stats.items_written += len(items)
        stats.bytes_written += sum(item_size(it) for it in items)


def sum_per_execution(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        execution = tables.parse_counter_sk(item[tables.SK])[2]
        target = sums[execution]
        for attr, n in item.items():
            if attr not in COUNTER_SKIP and is_counter(attr) and isinstance(n, int):
                target[attr] += n
    return sums


def numbers(item: dict[str, Any]) -> dict[str, int]:
    """The counters of an item, plain or low-level, without keys and frontier."""
    out = {}
    for name, value in item.items():
        if name not in COUNTER_SKIP and is_counter(name):
            out[name] = int(value["N"]) if isinstance(value, dict) else value
    return out


def sketch_items(pk: str, gran: str, blobs: dict[tuple[str, str, str], bytes],
                 frontier: int | None = None) -> list[dict[str, Any]]:
    """(bucket, execution, attr) -> blob, as S items (per metric) and P items (per domain)."""
    items: dict[str, dict[str, Any]] = {}
    for (bucket, execution, attr), blob in sorted(blobs.items()):
        kind = "P" if is_domain_attr(attr) else "S"
        sk = f"{kind}{gran}#{bucket}#{execution}"
        item = items.setdefault(sk, tables.key(pk, sk))
        if gran == tables.MINUTE:
            item[tables.TTL_ATTRIBUTE] = {"N": str(buckets.bucket_start(gran, bucket) + tables.MINUTE_TTL_SECONDS)}
        if frontier is not None:
            item[FRONTIER] = {"N": str(frontier)}
        item[ATTR_PREFIX + attr] = {"B": blob}
    return list(items.values())


def comparable(item: dict[str, Any] | None) -> dict[str, bytes] | None:
    if item is None:
        return None
    return {k: bytes(v["B"]) for k, v in item.items() if k.startswith(ATTR_PREFIX)}

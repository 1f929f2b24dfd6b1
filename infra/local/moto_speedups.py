"""moto, made to hold a day of traffic: same semantics, bounded cost per request.

Local mode, the tests and the benchmarks call `apply()`; it has nothing to do
with AWS. Each patch keeps what the service does (and the tests rely on) and
removes a cost that grows with everything stored so far:

- Every moto model instance ever created was kept in its class's
  `instances_tracked` list (for the /moto-api/data.json dashboard and S3's
  reset): each DynamoDB item written, each copy of one made by an update, a
  transaction or a Query's answer, each Kinesis record, for ever. That was
  most of local mode's memory (6 GB after 40 minutes of demo traffic). The
  lists now hold weak references: the dashboard and S3's reset still see
  every instance that exists, and the others are freed.
- DynamoDB TransactWriteItems: moto (5.x) deep-copies every table a
  transaction names, to restore it if the transaction is cancelled: a copy of
  the whole table per transaction (per operation before 5.2), so the cost of a
  fold grew with the table. Here the items the transaction names are
  snapshotted instead and put back if it is cancelled: all or nothing, as
  before. (A table with a DynamoDB stream keeps moto's copy: restoring items
  by hand would leave the cancelled writes' stream records.)
- DynamoDB Query walked every item of the table to find its partition's
  (`_patch_query`): a read's cost grew with the table, not the partition.
- DynamoDB GetItem of a missing partition left an empty partition behind
  (moto's items are a defaultdict): one per unknown key ever looked up.
- DynamoDB update validation was quadratic in an update's clauses
  (`_patch_update_validation`).
- DynamoDB TTL: moto stores the setting and never deletes an expired item;
  `sweep_expired` does what DynamoDB's TTL does (local mode runs it).
- Kinesis kept every record and slowed down with the stream's age
  (moto_kinesis.py).
"""
from __future__ import annotations

import copy as _copy
import threading
import weakref
from typing import Any

from . import moto_kinesis

_state = threading.local()


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table
        if getattr(_state, "item_backups", False) and isinstance(obj, Table):
            return obj  # moto's "backup" is the live table; the item snapshots below restore it
        return _copy.deepcopy(obj, memo)


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]] | None:
    """(table, hash key, range key) of each operation, or None when a table streams."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    named = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto rejects it before writing anything
        (op_type, op), = entry.items()
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        if table.stream_shard is not None:
            return None
        attrs = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
            continue  # moto rejects it (validation) and rolls back what ran before it
        try:
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, TypeError, AttributeError):
            continue
        named.append((table, hash_key, range_key))
    return named


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    partition = table.items.get(hash_key)
    if item is not None:
        table.items[hash_key][range_key] = item
    elif partition is not None:
        partition.pop(range_key, None)
        if not partition:
            del table.items[hash_key]


class _LiveInstances:
    """A model class's `instances_tracked`, holding weak references (by id, since
    moto models define __eq__ without __hash__). Instances that cannot be
    weakly referenced are kept, as before."""

    def __init__(self, existing: Any = ()) -> None:
        self._weak: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._strong: list[Any] = []
        for instance in existing:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            self._weak[id(instance)] = instance
        except TypeError:
            self._strong.append(instance)

    def __iter__(self) -> Any:
        return iter([*self._weak.values(), *self._strong])

    def __len__(self) -> int:
        return len(self._weak) + len(self._strong)


def _patch_instance_tracking() -> None:
    from moto.core.common_models import BaseModel

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - replaces BaseModel.__new__
        instance = object.__new__(cls)
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, _LiveInstances):  # first instance, or the list moto's reset put back
            tracked = _LiveInstances(tracked or ())
            cls.instances_tracked = tracked
        tracked.append(instance)
        return instance

    BaseModel.__new__ = __new__  # type: ignore[method-assign]


def _patch_transactions() -> None:
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        named = _named_items(self, transact_items) if len(transact_items) <= 100 else []
        if named is None:
            return original(self, transact_items)  # a streamed table: moto's own backup
        snapshots = [(table, h, r, _copy.deepcopy(table.get_item(h, r))) for table, h, r in named]
        _state.item_backups = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(snapshots):
                _restore(table, h, r, item)
            raise
        finally:
            _state.item_backups = False

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _NoTableCopy()  # type: ignore[attr-defined]


def _patch_query() -> None:
    """Query reads its partition, not the table: moto gathered the candidates of
    every Query by walking all the table's items, then sorted the partition, so
    each report, rollup and alert read slowed down with everything stored. The
    candidates are now the partition's items within the key condition (moto's
    own comparison); moto's query does the rest (order, pages, limits, filters,
    projections) as before."""
    from moto.dynamodb.comparisons import get_comparison_func
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items

    def all_items(self: Any) -> Any:
        candidates = getattr(_state, "candidates", None)
        if candidates is not None and candidates[0] is self:
            return candidates[1]
        return original_all_items(self)

    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[4] if len(args) > 4 else None)
        if index_name or not self.has_range_key or hash_key is None:
            return original_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        if range_comparison:
            compare = get_comparison_func(range_comparison)
            values = [o.cast_value for o in range_objs]
            if compare is not None:
                partition = [i for i in partition if compare(i.range_key.cast_value, *values)]
        _state.candidates = (self, partition)
        try:
            return original_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            _state.candidates = None

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _patch_update_validation() -> None:
    """moto checks an update expression's clauses (at most one ADD, SET or
    REMOVE; no two actions on overlapping paths) at every link of its chain of
    clauses, each time walking the rest of the chain: quadratic in the
    clauses, ~1 s for a fold's transaction of counter updates that ADD a
    hundred attributes each. The root's walk sees every clause, so only the
    root is checked: the same refusals, once."""
    from moto.dynamodb.parsing.ast_nodes import UpdateExpression
    from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator

    for validator, name in ((ActionCountValidator, "verify_action_counts"),
                            (OverlappingPathsValidator, "check_for_overlapping_paths")):
        original = getattr(validator, name)

        def at_root(self: Any, node: Any, _original: Any = original) -> Any:
            if isinstance(getattr(node, "parent", None), UpdateExpression):
                return node  # a link of the chain: its root checks all of it
            return _original(self, node)

        setattr(validator, name, at_root)

    # Each traverser rebuilt its tuple of node types to process at every node it visited.
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
    types_of = DepthFirstTraverser.nodes_to_be_processed

    def nodes_to_be_processed(self: Any) -> Any:
        cached = self.__dict__.get("_node_types")
        if cached is None:
            cached = self.__dict__["_node_types"] = types_of(self)
        return cached

    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed  # type: ignore[method-assign]


def _patch_get_item() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.get_item

    def get_item(self: Any, hash_key: Any, range_key: Any = None, projection_expression: Any = None) -> Any:
        if self.has_range_key and range_key and hash_key not in self.items:
            return None  # do not let the defaultdict create an empty partition
        return original(self, hash_key, range_key, projection_expression)

    Table.get_item = get_item  # type: ignore[method-assign]


def sweep_expired(now: float, lock: Any, partitions_per_lock: int = 500) -> int:
    """Delete the DynamoDB items whose TTL attribute is in the past, as DynamoDB's
    TTL does (moto never does). Holds `lock` (the server's request lock) for
    `partitions_per_lock` partitions at a time, so requests keep flowing.
    Returns how many items were deleted."""
    from moto.backends import get_backend
    from moto.dynamodb.models.dynamo_type import DynamoType
    deleted = 0
    for account in list(get_backend("dynamodb").values()):
        for backend in list(account.values()):
            for table in list(backend.tables.values()):
                ttl = table.ttl or {}
                attr = ttl.get("AttributeName")
                if ttl.get("TimeToLiveStatus") != "ENABLED" or not attr:
                    continue
                with lock:
                    partitions = list(table.items.keys())
                for i in range(0, len(partitions), partitions_per_lock):
                    with lock:
                        for hash_key in partitions[i:i + partitions_per_lock]:
                            held = table.items.get(hash_key)
                            if not held:
                                continue
                            items = list(held.items()) if table.has_range_key else [(None, held)]
                            for range_key, item in items:
                                value: DynamoType | None = item.attrs.get(attr)
                                if value is None or value.type != "N":
                                    continue
                                try:
                                    expired = float(value.value) < now
                                except ValueError:
                                    continue
                                if expired:
                                    table.delete_item(hash_key, range_key)
                                    deleted += 1
                            if table.has_range_key and hash_key in table.items and not table.items[hash_key]:
                                del table.items[hash_key]
    return deleted


_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Idempotent; safe to call from every entry point."""
    global _applied
    with _lock:
        if _applied:
            return
        _patch_instance_tracking()
        _patch_transactions()
        _patch_query()
        _patch_update_validation()
        _patch_get_item()
        moto_kinesis.apply()
        _applied = True

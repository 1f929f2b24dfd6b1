"""Benchmarks only: moto's TransactWriteItems without copying the whole table.

moto 5.x deep-copies every table a transaction touches before applying it, to
roll back on a cancelled transaction (infra/local/moto_speedups.py already
cuts that to one copy per transaction). The benchmarks fold thousands of
transactions into tables of tens of thousands of items, so even one copy
per transaction made a 1-minute simulation take many minutes. Here the
backup is per item instead: the items the transaction names are snapshotted
before it runs and put back if it is cancelled (moto then restores the
"backup", which is the live table itself: a no-op). Same outcome, committed or
cancelled; billing is computed from the requests (bench/_common.py), not moto.
"""
from __future__ import annotations

import copy as _copy
import threading
from typing import Any

_state = threading.local()


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table
        if getattr(_state, "active", False) and isinstance(obj, Table):
            return obj
        return _copy.deepcopy(obj, memo)


def apply() -> None:
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend, "_bench_item_backups", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = []
        for entry in transact_items:
            (op_type, op), = entry.items()
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            try:
                current = self.get_item(name, key)
            except Exception:  # noqa: BLE001 - a malformed key: moto rejects the transaction itself
                continue
            snapshots.append((name, key, _copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        _state.active = True
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, attrs in reversed(snapshots):
                if attrs is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, attrs)
            raise
        finally:
            _state.active = False

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    backend._bench_item_backups = True  # type: ignore[attr-defined]
    models.copy = _NoTableCopy()  # type: ignore[attr-defined]

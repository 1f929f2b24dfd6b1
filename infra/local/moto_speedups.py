"""Make moto's TransactWriteItems copy each table once instead of once per operation.

moto (5.x) backs up a table before a transaction by deep-copying it inside the
loop over the transaction's operations, so a 100-operation transaction copies
the whole table 100 times: loading a few thousand counter items takes
minutes and gigabytes. The backup is taken before any operation runs, so
every copy is the same state; copying once is equivalent. Only that backup
copy is cached, only for the duration of one transaction. Used by local
mode and the tests; it has nothing to do with AWS.
"""
from __future__ import annotations

import copy as _copy
import threading
from typing import Any

_state = threading.local()


class _CopyOncePerTransaction:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table
        backups = getattr(_state, "backups", None)
        if backups is None or not isinstance(obj, Table):
            return _copy.deepcopy(obj, memo)
        if id(obj) not in backups:
            backups[id(obj)] = _copy.deepcopy(obj, memo)
        return backups[id(obj)]


def apply() -> None:
    """Idempotent; safe to call from every entry point."""
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend, "_copy_once_per_transaction", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _state.backups = {}
        try:
            return original(self, transact_items)
        finally:
            _state.backups = None

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    backend._copy_once_per_transaction = True  # type: ignore[attr-defined]
    models.copy = _CopyOncePerTransaction()  # type: ignore[attr-defined]

"""Consent in tests: the recipients of a workspace's lists say yes, as if they had clicked the
confirmation link (tests of the link itself are in test_consent.py)."""
from __future__ import annotations

import time
from typing import Any

from chalicelib.consent.lists import ALERT, SUB
from chalicelib.consent.store import PENDING, ConsentStore


def confirm_all(wired: Any, workspace: str = "acme") -> int:
    """Every pending recipient of the workspace confirms; how many did."""
    store, n = ConsentStore(wired.client, wired.config.table_name), 0
    for kind in (SUB, ALERT):
        for list_ref, recipients in store.of_kind(workspace, kind).items():
            for r in recipients.values():
                if r.status == PENDING:
                    store.confirm(workspace, list_ref, r.address, time.time())
                    n += 1
    return n

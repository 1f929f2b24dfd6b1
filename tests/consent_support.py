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


def wire_senders(api: Any, monkeypatch: Any, secret: str, sender: str) -> Any:
    """What every email-sending test needs: the link secret, a verified sender and the app's SES
    client (moto's) for its schedules; returns that client."""
    import boto3

    import app as app_module
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", secret)
    monkeypatch.setenv("SENDER_EMAIL", sender)
    monkeypatch.setenv("PUBLIC_API_URL", "https://reports.test/api")
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity=sender)
    monkeypatch.setattr(app_module, "_ses_client", lambda: ses)
    return ses

"""The one check before a snapshot or alert email leaves: confirmed, and within the quota.

Both runners (snapshots/runner.py, alerts/runner.py) and any other sender
(a test send, say) ask `SendGate.admit` which addresses of a list may be sent
to now: those whose consent is `confirmed`, as many as the workspace's daily
quota still allows. What is held back is counted, so the sender can record
it where people look (the subscription's last delivery, the alert's history).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import quote

from ..snapshots.tokens import UNSUBSCRIBE, TokenSigner
from .quota import EmailQuota
from .store import ConsentStore


@dataclass(frozen=True)
class Admitted:
    send: list[str] = field(default_factory=list)
    unconfirmed: int = 0  # pending or unsubscribed: never sent to
    over_quota: int = 0  # confirmed, but the day's quota is used up

    def counts(self) -> dict[str, int]:
        return {"not_confirmed": self.unconfirmed, "over_quota": self.over_quota}


class SendGate:
    def __init__(self, client: Any, table_name: str, daily_quota: int) -> None:
        self.consent = ConsentStore(client, table_name)
        self.quota = EmailQuota(client, table_name, daily_quota)

    @classmethod
    def of(cls, services: Any) -> "SendGate":
        return cls(services.client, services.config.table_name, services.config.email_daily_quota)

    def confirmed(self, workspace: str, list_ref: str, addresses: Iterable[str]) -> list[str]:
        return self.consent.sendable(workspace, list_ref, addresses)

    def admit(self, workspace: str, list_ref: str, addresses: Iterable[str], now: float,
              confirmed: list[str] | None = None) -> Admitted:
        """Reserve quota for the confirmed addresses (in order); the caller sends to `send` and
        calls `release` for any send that then fails before SES took it."""
        addresses = list(addresses)
        ok = confirmed if confirmed is not None else self.confirmed(workspace, list_ref, addresses)
        granted = self.quota.reserve(workspace, len(ok), now) if ok else 0
        return Admitted(ok[:granted], len(addresses) - len(ok), len(ok) - granted)

    def release(self, workspace: str, n: int, now: float) -> None:
        self.quota.release(workspace, n, now)


def unsubscribe_url(signer: TokenSigner, public_api_url: str, workspace: str, list_ref: str, recipient: str,
                    now: float) -> str:
    """The link of one recipient's email, and its List-Unsubscribe header (GET shows, POST acts)."""
    token = signer.sign(UNSUBSCRIBE, workspace, list_ref, recipient, now)
    return f"{public_api_url}/v1/unsubscribe?token={quote(token)}"

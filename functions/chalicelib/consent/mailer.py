"""The scheduled mailer: sends what the API queued (consent/outbox.py), every minute.

- A confirmation request to each pending address (one per address and list;
  it counts against the workspace's daily quota, and waits for tomorrow when
  the quota is used up, saying so on the recipient's status).
- The invitation of a person who already has an account (the API reserved its
  quota when the admin invited; new accounts get theirs from Cognito).

It runs where the public URLs are known (PUBLIC_API_URL for the confirm link,
DASHBOARD_URL for the invitation's), paces SES one message at a time, and
retries a failed send on the next runs, MAX_ATTEMPTS times at most.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import quote

from aws_lambda_powertools import Logger

from ..accounts.invitation_email import invitation
from ..accounts.invitations import InvitationStore
from ..snapshots import mail
from ..snapshots.render import Rendered
from ..snapshots.runner import Settings
from ..snapshots.tokens import CONFIRM, LIFETIME, TokenSigner
from .outbox import CONSENT_REQUEST, INVITATION, MAX_ATTEMPTS, Outbox, Queued
from .quota import EmailQuota, resets_at
from .render import request_email
from .store import PENDING, ConsentStore

logger = Logger(service="livereport", child=True)
OnSent = Callable[[str, str, bytes], None]  # (kind, recipient, raw MIME): local mode's outbox


@dataclass
class MailerResult:
    sent: list[dict[str, str]] = field(default_factory=list)
    waiting: int = 0  # held back by the daily quota
    failed: int = 0
    dropped: int = 0  # answered or deleted meanwhile: nothing to send

    def summary(self) -> dict[str, int]:
        return {"sent": len(self.sent), "waiting": self.waiting, "failed": self.failed, "dropped": self.dropped}


class OutboxMailer:
    def __init__(self, services: Any, ses: Any, settings: Settings, signer: TokenSigner,
                 on_sent: Optional[OnSent] = None) -> None:
        client, table = services.client, services.config.table_name
        self.ses, self.settings, self.signer, self.on_sent = ses, settings, signer, on_sent
        self.outbox = Outbox(client, table)
        self.consent = ConsentStore(client, table)
        self.invitations = InvitationStore(client, table)
        self.quota = EmailQuota(client, table, services.config.email_daily_quota)

    def run(self, now: Optional[float] = None) -> MailerResult:
        now = time.time() if now is None else now
        result = MailerResult()
        exhausted: set[str] = set()  # workspaces whose quota ran out during this run
        for queued in list(self.outbox.pending()):
            try:
                if queued.kind == CONSENT_REQUEST:
                    self._request(queued, now, result, exhausted)
                elif queued.kind == INVITATION:
                    self._invitation(queued, now, result)
                else:
                    self.outbox.done(queued)
                    result.dropped += 1
            except Exception as exc:  # noqa: BLE001 - one email never stops the others
                result.failed += 1
                attempts = self.outbox.failed(queued, repr(exc))
                logger.warning("queued email failed", extra={"workspace": queued.workspace, "kind": queued.kind,
                                                             "attempts": attempts, "error": repr(exc)[:300]})
                if attempts >= MAX_ATTEMPTS:
                    self._give_up(queued, repr(exc))
        (logger.info if result.sent or result.failed else logger.debug)("mailer run", extra=result.summary())
        return result

    def _send(self, kind: str, recipient: str, subject: str, html: str, text: str, now: float) -> None:
        raw = mail.build_message(self.settings.sender, recipient, Rendered(subject, html, text), [], [], "", now)
        mail.send_raw(self.ses, self.settings.sender, recipient, raw)
        if self.on_sent:
            try:
                self.on_sent(kind, recipient, raw)
            except Exception:  # noqa: BLE001 - a local outbox problem is not a send failure
                logger.exception("on_sent hook failed")

    def _request(self, queued: Queued, now: float, result: MailerResult, exhausted: set[str]) -> None:
        list_ref, address = queued.key.split("#", 1)
        r = self.consent.get(queued.workspace, list_ref, address)
        if r is None or r.status != PENDING or r.requested_at:
            self.outbox.done(queued)
            result.dropped += 1
            return
        if queued.workspace in exhausted or not self.quota.reserve(queued.workspace, 1, now):
            exhausted.add(queued.workspace)
            result.waiting += 1
            if "quota" not in r.request_error:
                self.consent.note(queued.workspace, list_ref, address,
                                  f"waiting for the daily email quota ({self.quota.limit}); "
                                  f"the request goes out after {resets_at(now)}")
            return
        token = self.signer.sign(CONFIRM, queued.workspace, list_ref, r.address, now)
        link = f"{self.settings.public_api_url}/v1/consent?token={quote(token)}"
        subject, notice = request_email(r, link, int(now) + LIFETIME[CONFIRM])
        try:
            self._send("confirm", r.address, subject, notice.html(), notice.text(), now)
        except Exception:
            self.quota.release(queued.workspace, 1, now)
            raise
        self.consent.mark_requested(queued.workspace, list_ref, address, now)
        self.outbox.done(queued)
        result.sent.append({"kind": "confirm", "workspace": queued.workspace, "list": list_ref, "to": r.address})

    def _invitation(self, queued: Queued, now: float, result: MailerResult) -> None:
        inv = self.invitations.get(queued.workspace, queued.key, now)
        if inv is None:  # answered, cancelled or expired meanwhile
            self.outbox.done(queued)
            result.dropped += 1
            return
        metadata = {"inviter": inv.inviter, "workspace": inv.workspace, "role": inv.role, "language": inv.language,
                    "dashboard_url": self.settings.dashboard_url}
        subject, notice = invitation(metadata, inv.email, None)
        self._send("invitation", inv.email, subject, notice.html(), notice.text(), now)
        self.outbox.done(queued)
        result.sent.append({"kind": "invitation", "workspace": inv.workspace, "to": inv.email})

    def _give_up(self, queued: Queued, error: str) -> None:
        self.outbox.done(queued)
        if queued.kind == CONSENT_REQUEST:
            list_ref, address = queued.key.split("#", 1)
            self.consent.note(queued.workspace, list_ref, address,
                              f"the confirmation request could not be sent ({MAX_ATTEMPTS} attempts): {error[:150]}")

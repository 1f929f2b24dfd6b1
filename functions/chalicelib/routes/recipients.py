"""What the subscriptions and alert routes share about recipients: registering their consent
when a list is created, their statuses in answers, and the workspace's daily email quota."""
from __future__ import annotations

from typing import Any

from ..accounts.members import MembershipStore
from ..auth import Principal
from ..consent.lists import ListContext, inviter_of
from ..consent.quota import EmailQuota
from ..consent.store import ConsentStore, Recipient, pending_status
from .common import RouteDeps


def quota_of(deps: RouteDeps) -> EmailQuota:
    services = deps.services()
    return EmailQuota(services.client, services.config.table_name, services.config.email_daily_quota)


def register_recipients(deps: RouteDeps, caller: Principal, list_ref: str, addresses: list[str], lang: str,
                        what: str, now: float) -> dict[str, Recipient]:
    """Consent for a new list: members confirmed, others asked (the scheduled mailer sends the request)."""
    services = deps.services()
    members = MembershipStore(services.client, services.config.table_name)
    emails = {m.email for m in members.members(caller.workspace)}
    name = members.user(caller.key_id).display_name if caller.kind == "user" else ""
    context = ListContext(lang, what, inviter_of(caller, name))
    return ConsentStore(services.client, services.config.table_name).register(
        caller.workspace, list_ref, addresses, emails, context, now)


def statuses(recipients: list[str], known: dict[str, Recipient]) -> list[dict[str, Any]]:
    """Each address with its consent, in the list's order."""
    return [known[a.lower()].public() if a.lower() in known else pending_status(a) for a in recipients]

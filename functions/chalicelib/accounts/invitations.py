"""Invitations to a workspace: nobody becomes a member without saying yes.

  {workspace}#INVITES / {sub}     invitation_id, email, role, display_name (a suggestion), language,
                                  inviter, invited_by, invited_at, expires_at
  USER#{sub} / INVITE#{workspace} role, inviter, invited_at, expires_at   (what the user sees after sign-in)

Both items are written in one transaction with the audit entry, and removed
in one transaction when the user accepts (with the membership items),
declines, or an admin cancels. An invitation lasts 7 days (the temporary
password of a new account lasts as long); `expires_at` is also the table's
TTL attribute, and reads ignore expired ones before DynamoDB deletes them.
The admin who invites learns nothing about the person's account: the answer
and the audit entry are the same whether the email had one or not.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import ClientError

from .. import tables
from ..errors import ApiError
from .members import Member, MembershipError, MembershipStore, _cancelled

INVITATION_SECONDS = 7 * 86400
MAX_PENDING = 100


class InvitationError(ApiError):
    """An invitation refused or not found."""


def invites_pk(workspace: str) -> str:
    return f"{workspace}#INVITES"


@dataclass(frozen=True)
class Invitation:
    workspace: str
    user_id: str
    invitation_id: str
    email: str
    role: str
    display_name: str
    language: str
    inviter: str  # how the invitee sees who invited them ("Ann (ann@acme.com)")
    invited_by: str  # the actor id (sub or key id), as in the audit list
    invited_at: int
    expires_at: int

    def public(self) -> dict[str, Any]:
        """What admins see: never the user id (it would tell whether an account existed)."""
        return {"invitation_id": self.invitation_id, "email": self.email, "role": self.role,
                "display_name": self.display_name, "language": self.language, "status": "pending",
                "invited_by": self.invited_by, "invited_at": self.invited_at, "expires_at": self.expires_at}


def _s(item: dict[str, Any], name: str) -> str:
    return item.get(name, {}).get("S", "")


def _invitation(workspace: str, item: dict[str, Any]) -> Invitation:
    return Invitation(workspace, item[tables.SK]["S"], _s(item, "invitation_id"), _s(item, "email"), _s(item, "role"),
                      _s(item, "display_name"), _s(item, "language") or "en", _s(item, "inviter"),
                      _s(item, "invited_by"), int(item.get("invited_at", {}).get("N", "0")),
                      int(item.get(tables.TTL_ATTRIBUTE, {}).get("N", "0")))


class InvitationStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client, self.table = client, table_name
        self.members = MembershipStore(client, table_name)

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {tables.PK: {"S": pk}, tables.SK: {"S": sk}}

    def pending(self, workspace: str, now: float) -> list[Invitation]:
        """The workspace's invitations not yet answered nor expired, oldest first."""
        items = self.members._query(invites_pk(workspace))  # noqa: SLF001 - the same paginated Query
        found = [_invitation(workspace, i) for i in items]
        return sorted((i for i in found if i.expires_at >= now), key=lambda i: (i.invited_at, i.email))

    def get(self, workspace: str, user_id: str, now: float) -> Optional[Invitation]:
        item = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key=self._key(invites_pk(workspace), user_id)).get("Item")
        invitation = _invitation(workspace, item) if item else None
        return invitation if invitation and invitation.expires_at >= now else None

    def new(self, workspace: str, user_id: str, email: str, role: str, display_name: str, language: str,
            inviter: str, invited_by: str, now: float) -> Invitation:
        return Invitation(workspace, user_id, "inv_" + secrets.token_hex(8), email, role, display_name, language,
                          inviter, invited_by, int(now), int(now) + INVITATION_SECONDS)

    def create(self, inv: Invitation, audit: dict[str, Any]) -> None:
        """Both items and the audit entry; 409 when an unexpired invitation is already there."""
        attrs = {"invitation_id": {"S": inv.invitation_id}, "email": {"S": inv.email}, "role": {"S": inv.role},
                 "display_name": {"S": inv.display_name}, "language": {"S": inv.language},
                 "inviter": {"S": inv.inviter}, "invited_by": {"S": inv.invited_by},
                 "invited_at": {"N": str(inv.invited_at)}, tables.TTL_ATTRIBUTE: {"N": str(inv.expires_at)}}
        fresh = {"ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                 "ExpressionAttributeValues": {":now": {"N": str(inv.invited_at)}}}
        ops = [{"Put": {"TableName": self.table, "Item": {**self._key(invites_pk(inv.workspace), inv.user_id), **attrs},
                        **fresh}},
               {"Put": {"TableName": self.table,
                        "Item": {**self._key(tables.user_pk(inv.user_id), f"INVITE#{inv.workspace}"),
                                 "workspace": {"S": inv.workspace}, "role": {"S": inv.role},
                                 "inviter": {"S": inv.inviter}, "invited_at": {"N": str(inv.invited_at)},
                                 tables.TTL_ATTRIBUTE: {"N": str(inv.expires_at)}}}},
               audit]
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancelled(exc):
                raise InvitationError(409, "already_invited", "an invitation to this email is already pending") from exc
            raise

    def _removal(self, inv: Invitation, now: float) -> list[dict[str, Any]]:
        return [{"Delete": {"TableName": self.table, "Key": self._key(invites_pk(inv.workspace), inv.user_id),
                            "ConditionExpression": "invitation_id = :id AND expires_at >= :now",
                            "ExpressionAttributeValues": {":id": {"S": inv.invitation_id},
                                                          ":now": {"N": str(int(now))}}}},
                {"Delete": {"TableName": self.table,
                            "Key": self._key(tables.user_pk(inv.user_id), f"INVITE#{inv.workspace}")}}]

    def accept(self, inv: Invitation, email: str, audit: dict[str, Any], now: float) -> Member:
        """The user says yes: the invitation becomes a membership, in one transaction."""
        member = Member(inv.workspace, inv.user_id, email or inv.email,
                        self.members.joining_name(inv.user_id, inv.display_name), inv.role, int(now), inv.invited_by)
        ops = self._removal(inv, now) + self.members.add_ops(member) + [audit]
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            reasons = _cancelled(exc)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise InvitationError(404, "not_found", "this invitation was cancelled or has expired") from exc
            if "ConditionalCheckFailed" in reasons:
                raise MembershipError(409, "already_member", "you are already a member of this workspace") from exc
            raise
        return member

    def remove(self, inv: Invitation, audit: dict[str, Any], now: float) -> None:
        """Declined by the user or cancelled by an admin."""
        try:
            self.client.transact_write_items(TransactItems=self._removal(inv, now) + [audit])
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancelled(exc):
                raise InvitationError(404, "not_found", "this invitation was cancelled or has expired") from exc
            raise

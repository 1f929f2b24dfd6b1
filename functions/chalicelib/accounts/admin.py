"""Admin actions of a workspace: members and API keys, each one audited.

The route layer (app.py) checks the caller's `admin` scope; this module
validates the input, acts, and writes the audit entry.
"""
from __future__ import annotations

from typing import Any

from ..auth import KeyError_, KeyStore, Principal, check_scopes
from ..consent.outbox import INVITATION, Outbox, Queued
from ..consent.quota import EmailQuota, resets_at
from ..errors import ApiError
from . import validation
from .audit import Actor, AuditLog
from .directory import UserDirectory
from .invitation_email import client_metadata
from .invitations import MAX_PENDING, Invitation, InvitationError, InvitationStore
from .members import Member, MembershipError, MembershipStore
from .roles import check_role

MAX_ACTIVE_KEYS = 100


class AccountError(ApiError):
    """An admin action refused (bad input, unknown key or member)."""


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.kind, principal.key_id, principal.email)


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise AccountError(400, "invalid_request", "the body must be a JSON object")
    return payload


def _unknown(payload: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(payload) - allowed)
    if extra:
        raise AccountError(422, "invalid_request", f"unknown field(s): {', '.join(extra)[:200]}")


def inviter_name(principal: Principal, members: MembershipStore) -> str:
    """How the invitee sees who invited them: the admin's own name and email, or the key."""
    if principal.kind != "user":
        return f"API key {principal.key_id}"
    name = members.user(principal.key_id).display_name
    return f"{name} ({principal.email})" if name and principal.email else (name or principal.email)


class AccountAdmin:
    def __init__(self, members: MembershipStore, audit: AuditLog, keys: KeyStore,
                 directory: UserDirectory | None, invitations: InvitationStore | None = None,
                 quota: EmailQuota | None = None, dashboard_url: str = "") -> None:
        self.members, self.audit, self.keys, self.directory = members, audit, keys, directory
        self.invitations = invitations or InvitationStore(members.client, members.table_name)
        self.quota = quota or EmailQuota(members.client, members.table_name)
        self.outbox = Outbox(members.client, members.table_name)
        self.dashboard_url = dashboard_url

    # --- members -------------------------------------------------------------
    def invite(self, workspace: str, principal: Principal, payload: Any, now: float) -> Invitation:
        """Invite someone; they join only when they accept (after signing in). The answer, the
        audit entry and the effort are the same whether or not the email has an account."""
        body = _object(payload)
        _unknown(body, {"email", "role", "display_name", "language"})
        try:
            email = validation.email(body.get("email"))
            role = check_role(body.get("role", "viewer"))
            name = validation.text(body.get("display_name"), "display_name")
            language = body.get("language", "en")
            if language not in ("en", "fr"):
                raise ValueError("language: en or fr (the invitation email's language)")
        except ValueError as exc:
            raise AccountError(422, "invalid_member", str(exc)) from exc
        if self.directory is None:
            raise AccountError(503, "accounts_disabled", "no Cognito user pool is configured")
        if any(m.email == email for m in self.members.members(workspace)):
            raise MembershipError(409, "already_member", "this user is already a member of the workspace")
        pending = self.invitations.pending(workspace, now)
        if any(i.email == email for i in pending):
            raise InvitationError(409, "already_invited", "an invitation to this email is already pending")
        if len(pending) >= MAX_PENDING:
            raise AccountError(409, "limit_reached", f"a workspace has at most {MAX_PENDING} pending invitations")
        if not self.quota.reserve(workspace, 1, now):
            raise AccountError(429, "quota_exceeded", f"the workspace's daily email quota ({self.quota.limit}) "
                                                      f"is used up; it resets at {resets_at(now)}")
        inviter = inviter_name(principal, self.members)
        try:
            user = self.directory.invite(email, client_metadata(inviter, workspace, role, language,
                                                                self.dashboard_url))
        except Exception:
            self.quota.release(workspace, 1, now)
            raise
        invitation = self.invitations.new(workspace, user.user_id, email, role, name, language, inviter,
                                          actor_of(principal).id, now)
        entry = self.audit.put(workspace, actor_of(principal), "member.invited", invitation.invitation_id,
                               {"email": email, "role": role, "display_name": name, "language": language}, now)
        self.invitations.create(invitation, entry)
        if not user.emailed:  # an account already: the scheduled mailer sends the same invitation by SES
            self.outbox.add(Queued(workspace, INVITATION, user.user_id))
        return invitation

    def cancel_invitation(self, workspace: str, principal: Principal, invitation_id: str, now: float) -> None:
        found = next((i for i in self.invitations.pending(workspace, now) if i.invitation_id == invitation_id), None)
        if found is None:
            raise InvitationError(404, "not_found", "no such pending invitation in this workspace")
        entry = self.audit.put(workspace, actor_of(principal), "member.invitation_cancelled", invitation_id,
                               {"email": found.email, "role": found.role}, now)
        self.invitations.remove(found, entry, now)
        self.outbox.drop(workspace, INVITATION, found.user_id)

    # --- the invited person's answer ------------------------------------------------
    def answer_invitation(self, user_id: str, email: str, workspace: str, accept: bool, now: float) -> Member | None:
        """The signed-in user accepts (joins, with their own display name) or declines."""
        found = self.invitations.get(workspace, user_id, now)
        if found is None:
            raise InvitationError(404, "not_found", "you have no pending invitation to this workspace")
        actor = Actor("user", user_id, email or found.email)
        action = "member.joined" if accept else "member.invitation_declined"
        entry = self.audit.put(workspace, actor, action, user_id if accept else found.invitation_id,
                               {"email": email or found.email, "role": found.role,
                                "invitation_id": found.invitation_id}, now)
        self.outbox.drop(workspace, INVITATION, user_id)
        if accept:
            return self.invitations.accept(found, email, entry, now)
        self.invitations.remove(found, entry, now)
        return None

    def change_role(self, workspace: str, principal: Principal, user_id: str, payload: Any, now: float) -> Member:
        body = _object(payload)
        _unknown(body, {"role"})
        try:
            validation.user_id(user_id)
            role = check_role(body.get("role"))
        except ValueError as exc:
            raise AccountError(422, "invalid_member", str(exc)) from exc
        before = self.members.get(workspace, user_id)
        if before is None:
            raise MembershipError(404, "not_found", "no such member in this workspace")
        entry = self.audit.put(workspace, actor_of(principal), "member.role_changed", user_id,
                               {"email": before.email, "from": before.role, "to": role}, now)
        return self.members.set_role(workspace, user_id, role, entry)

    def remove(self, workspace: str, principal: Principal, user_id: str, now: float) -> Member:
        try:
            validation.user_id(user_id)
        except ValueError as exc:
            raise MembershipError(404, "not_found", "no such member in this workspace") from exc
        before = self.members.get(workspace, user_id)
        if before is None:
            raise MembershipError(404, "not_found", "no such member in this workspace")
        entry = self.audit.put(workspace, actor_of(principal), "member.removed", user_id,
                               {"email": before.email, "role": before.role}, now)
        return self.members.remove(workspace, user_id, entry)

    # --- API keys --------------------------------------------------------------
    def create_key(self, workspace: str, principal: Principal, payload: Any, now: float) -> dict[str, Any]:
        body = _object(payload)
        _unknown(body, {"scopes", "label"})
        scopes = body.get("scopes")
        try:
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise ValueError("scopes: a list of scope names")
            granted = sorted(check_scopes(scopes))
            label = validation.text(body.get("label"), "label")
        except (ValueError, KeyError_) as exc:
            raise AccountError(422, "invalid_key", str(exc)) from exc
        if sum(1 for k in self.keys.list(workspace) if not k["revoked"]) >= MAX_ACTIVE_KEYS:
            raise AccountError(409, "limit_reached", f"a workspace has at most {MAX_ACTIVE_KEYS} active keys")
        key_id, key = self.keys.create(workspace, granted, label)
        self.audit.record(workspace, actor_of(principal), "key.created", key_id,
                          {"scopes": granted, "label": label}, now)
        return {"key_id": key_id, "key": key, "scopes": granted, "label": label, "created_at": int(now),
                "revoked": False}

    def revoke_key(self, workspace: str, principal: Principal, key_id: str, now: float) -> bool:
        try:
            validation.key_id(key_id)
        except ValueError:
            return False
        if not self.keys.revoke(workspace, key_id):
            return False
        self.audit.record(workspace, actor_of(principal), "key.revoked", key_id, {}, now)
        return True

"""Admin actions of a workspace: members and API keys, each one audited.

The route layer (app.py) checks the caller's `admin` scope; this module
validates the input, acts, and writes the audit entry.
"""
from __future__ import annotations

from typing import Any

from ..auth import KeyError_, KeyStore, Principal, check_scopes
from ..errors import ApiError
from . import validation
from .audit import Actor, AuditLog
from .directory import UserDirectory
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


class AccountAdmin:
    def __init__(self, members: MembershipStore, audit: AuditLog, keys: KeyStore,
                 directory: UserDirectory | None) -> None:
        self.members, self.audit, self.keys, self.directory = members, audit, keys, directory

    # --- members -------------------------------------------------------------
    def invite(self, workspace: str, principal: Principal, payload: Any, now: float) -> tuple[Member, bool]:
        body = _object(payload)
        _unknown(body, {"email", "role", "display_name"})
        try:
            email = validation.email(body.get("email"))
            role = check_role(body.get("role", "viewer"))
            name = validation.text(body.get("display_name"), "display_name")
        except ValueError as exc:
            raise AccountError(422, "invalid_member", str(exc)) from exc
        if self.directory is None:
            raise AccountError(503, "accounts_disabled", "no Cognito user pool is configured")
        user = self.directory.invite(email)
        member = Member(workspace, user.user_id, email, name, role, int(now), actor_of(principal).id)
        entry = self.audit.put(workspace, actor_of(principal), "member.invited", user.user_id,
                               {"email": email, "role": role, "display_name": name, "new_user": user.invited}, now)
        self.members.add(member, entry)
        return member, user.invited

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

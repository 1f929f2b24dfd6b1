"""Workspace memberships, stored by the service (not Cognito groups).

Items (one table, docs/accounts.md):
  {workspace}#MEMBERS / {sub}   role, email, display_name, added_at, added_by   (the workspace's list)
  USER#{sub} / WS#{workspace}   role                                            (the user's index, same transaction)
  USER#{sub} / PROFILE          email, display_name                             (who the sub is)
  USER#{sub} / INVITE#{ws}      role, inviter, invited_at, expires_at           (pending invitations, invitations.py)

The authorizer reads a user's whole `USER#{sub}` partition in one Query.
Only the user sets their display name (PATCH /v1/me, `rename`): joining a
workspace copies it onto the member item, and an admin's suggestion only
names an account that has no name yet.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .. import tables
from ..errors import ApiError

MAX_MEMBERS = 500
MAX_WORKSPACES_PER_USER = 50


class MembershipError(ApiError):
    """A membership change refused (last admin, already a member, limits)."""


@dataclass(frozen=True)
class Member:
    workspace: str
    user_id: str
    email: str
    display_name: str
    role: str
    added_at: int
    added_by: str

    def public(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "email": self.email, "display_name": self.display_name,
                "role": self.role, "added_at": self.added_at, "added_by": self.added_by}


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    email: str
    display_name: str
    roles: dict[str, str]  # workspace -> role
    #: pending invitations, oldest first: {workspace, role, inviter, invited_at, expires_at}
    invitations: tuple[dict[str, Any], ...] = ()
    has_profile: bool = False


def _s(item: dict[str, Any], name: str) -> str:
    return item.get(name, {}).get("S", "")


def _member(workspace: str, item: dict[str, Any]) -> Member:
    return Member(workspace, item[tables.SK]["S"], _s(item, "email"), _s(item, "display_name"),
                  _s(item, "role"), int(item.get("added_at", {}).get("N", "0")), _s(item, "added_by"))


def _cancelled(exc: ClientError) -> list[str]:
    return [r.get("Code", "") for r in exc.response.get("CancellationReasons", [])]


def _raise_for(exc: ClientError, guarded: bool) -> None:
    """A cancelled change: the admin guard (first operation) or the member itself failed its condition."""
    reasons = _cancelled(exc)
    if guarded and reasons[:1] == ["ConditionalCheckFailed"]:
        raise MembershipError(409, "last_admin", "the workspace's last admin cannot be demoted or removed") from exc
    if "ConditionalCheckFailed" in reasons:
        raise MembershipError(404, "not_found", "no such member in this workspace") from exc


class MembershipStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client, self.table_name = client, table_name

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {tables.PK: {"S": pk}, tables.SK: {"S": sk}}

    # --- reads ---------------------------------------------------------------
    def user(self, user_id: str, now: float | None = None) -> UserRecord:
        """The user's profile, roles and pending invitations: one Query of their index partition."""
        items = self._query(tables.user_pk(user_id))
        profile = next((i for i in items if i[tables.SK]["S"] == "PROFILE"), {})
        roles = {i[tables.SK]["S"][3:]: _s(i, "role") for i in items if i[tables.SK]["S"].startswith("WS#")}
        moment = time.time() if now is None else now
        invitations = tuple(sorted((
            {"workspace": i[tables.SK]["S"][7:], "role": _s(i, "role"), "inviter": _s(i, "inviter"),
             "invited_at": int(i.get("invited_at", {}).get("N", "0")),
             "expires_at": int(i.get(tables.TTL_ATTRIBUTE, {}).get("N", "0"))}
            for i in items if i[tables.SK]["S"].startswith("INVITE#")
            and int(i.get(tables.TTL_ATTRIBUTE, {}).get("N", "0")) >= moment), key=lambda v: v["invited_at"]))
        return UserRecord(user_id, _s(profile, "email"), _s(profile, "display_name"), roles, invitations,
                          bool(profile))

    def members(self, workspace: str) -> list[Member]:
        return sorted((_member(workspace, i) for i in self._query(tables.members_pk(workspace))),
                      key=lambda m: (m.email, m.user_id))

    def get(self, workspace: str, user_id: str) -> Member | None:
        item = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                    Key=self._key(tables.members_pk(workspace), user_id)).get("Item")
        return _member(workspace, item) if item else None

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items, start = [], None
        while True:
            kwargs: dict[str, Any] = {"TableName": self.table_name, "KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self.client.query(**kwargs)
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    # --- writes (each with its audit entry in the same transaction) ----------
    def add_ops(self, member: Member) -> list[dict[str, Any]]:
        """The transaction items that make `member` one, after the limits are checked. The
        profile keeps the name the user already has: `member.display_name` only names a new
        account (and the member item shows the user's own name, see `joining_name`)."""
        if len(self.members(member.workspace)) >= MAX_MEMBERS:
            raise MembershipError(409, "limit_reached", f"a workspace has at most {MAX_MEMBERS} members")
        if len(self.user(member.user_id).roles) >= MAX_WORKSPACES_PER_USER:
            raise MembershipError(409, "limit_reached",
                                  f"a user belongs to at most {MAX_WORKSPACES_PER_USER} workspaces")
        attrs = {"role": {"S": member.role}, "email": {"S": member.email},
                 "display_name": {"S": member.display_name}, "added_at": {"N": str(member.added_at)},
                 "added_by": {"S": member.added_by}}
        return [
            {"Put": {"TableName": self.table_name,
                     "Item": {**self._key(tables.members_pk(member.workspace), member.user_id), **attrs},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table_name,
                     "Item": {**self._key(tables.user_pk(member.user_id), f"WS#{member.workspace}"),
                              "role": {"S": member.role}, "workspace": {"S": member.workspace}}}},
            {"Update": {"TableName": self.table_name, "Key": self._key(tables.user_pk(member.user_id), "PROFILE"),
                        "UpdateExpression": "SET email = :e, display_name = if_not_exists(display_name, :n)",
                        "ExpressionAttributeValues": {":e": {"S": member.email}, ":n": {"S": member.display_name}}}},
        ]

    def joining_name(self, user_id: str, suggested: str) -> str:
        """The name a joining user shows: their own when they have one, else the suggestion."""
        record = self.user(user_id)
        return record.display_name if record.has_profile else suggested

    def add(self, member: Member, audit: dict[str, Any] | None = None) -> None:
        """Add a member directly (local mode's admin, tests); people join through invitations."""
        member = Member(member.workspace, member.user_id, member.email,
                        self.joining_name(member.user_id, member.display_name), member.role, member.added_at,
                        member.added_by)
        try:
            self.client.transact_write_items(TransactItems=self.add_ops(member) + ([audit] if audit else []))
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancelled(exc):
                raise MembershipError(409, "already_member", "this user is already a member of the workspace") from exc
            raise

    def rename(self, user_id: str, display_name: str) -> UserRecord:
        """The user's own name, on their profile and on their member item in every workspace."""
        record = self.user(user_id)
        ops = [{"Update": {"TableName": self.table_name, "Key": self._key(tables.user_pk(user_id), "PROFILE"),
                           "UpdateExpression": "SET display_name = :n",
                           "ExpressionAttributeValues": {":n": {"S": display_name}}}}]
        ops += [{"Update": {"TableName": self.table_name, "Key": self._key(tables.members_pk(ws), user_id),
                            "UpdateExpression": "SET display_name = :n", "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":n": {"S": display_name}}}} for ws in sorted(record.roles)]
        self.client.transact_write_items(TransactItems=ops)
        return UserRecord(user_id, record.email, display_name, record.roles, record.invitations, True)

    def set_role(self, workspace: str, user_id: str, role: str, audit: dict[str, Any] | None = None) -> Member:
        current = self.get(workspace, user_id)
        if current is None:
            raise MembershipError(404, "not_found", "no such member in this workspace")
        guard = self._another_admin(workspace, user_id) if current.role == "admin" and role != "admin" else []
        ops = guard + [
            {"Update": {"TableName": self.table_name, "Key": self._key(tables.members_pk(workspace), user_id),
                        "UpdateExpression": "SET #r = :r", "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#r": "role"}, "ExpressionAttributeValues": {":r": {"S": role}}}},
            {"Update": {"TableName": self.table_name, "Key": self._key(tables.user_pk(user_id), f"WS#{workspace}"),
                        "UpdateExpression": "SET #r = :r, workspace = :w", "ExpressionAttributeNames": {"#r": "role"},
                        "ExpressionAttributeValues": {":r": {"S": role}, ":w": {"S": workspace}}}},
        ]
        try:
            self.client.transact_write_items(TransactItems=ops + ([audit] if audit else []))
        except ClientError as exc:
            _raise_for(exc, guarded=bool(guard))
            raise
        return Member(workspace, user_id, current.email, current.display_name, role, current.added_at,
                      current.added_by)

    def remove(self, workspace: str, user_id: str, audit: dict[str, Any] | None = None) -> Member:
        current = self.get(workspace, user_id)
        if current is None:
            raise MembershipError(404, "not_found", "no such member in this workspace")
        guard = self._another_admin(workspace, user_id) if current.role == "admin" else []
        ops = guard + [
            {"Delete": {"TableName": self.table_name, "Key": self._key(tables.members_pk(workspace), user_id),
                        "ConditionExpression": "attribute_exists(pk)"}},
            {"Delete": {"TableName": self.table_name, "Key": self._key(tables.user_pk(user_id), f"WS#{workspace}")}},
        ]
        try:
            self.client.transact_write_items(TransactItems=ops + ([audit] if audit else []))
        except ClientError as exc:
            _raise_for(exc, guarded=bool(guard))
            raise
        return current

    def _another_admin(self, workspace: str, user_id: str) -> list[dict[str, Any]]:
        """A workspace with members keeps at least one admin member (no lock-out
        by a slip). Returns a ConditionCheck that another admin still is one when
        the change commits, so two admins demoting each other at once cannot
        both succeed (transactions are serializable)."""
        other = next((m for m in self.members(workspace) if m.role == "admin" and m.user_id != user_id), None)
        if other is None:
            raise MembershipError(409, "last_admin", "the workspace's last admin cannot be demoted or removed")
        return [{"ConditionCheck": {
            "TableName": self.table_name, "Key": self._key(tables.members_pk(workspace), other.user_id),
            "ConditionExpression": "#r = :admin", "ExpressionAttributeNames": {"#r": "role"},
            "ExpressionAttributeValues": {":admin": {"S": "admin"}}}}]

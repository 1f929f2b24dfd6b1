"""Workspace memberships, stored by the service (not Cognito groups).

Items (one table, docs/accounts.md):
  {workspace}#MEMBERS / {sub}   role, email, display_name, added_at, added_by   (the workspace's list)
  USER#{sub} / WS#{workspace}   role                                            (the user's index, same transaction)
  USER#{sub} / PROFILE          email, display_name                             (who the sub is)

The authorizer reads a user's whole `USER#{sub}` partition in one Query.
"""
from __future__ import annotations

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
    def user(self, user_id: str) -> UserRecord:
        """The user's profile and roles: one Query of their index partition."""
        items = self._query(tables.user_pk(user_id))
        profile = next((i for i in items if i[tables.SK]["S"] == "PROFILE"), {})
        roles = {i[tables.SK]["S"][3:]: _s(i, "role") for i in items if i[tables.SK]["S"].startswith("WS#")}
        return UserRecord(user_id, _s(profile, "email"), _s(profile, "display_name"), roles)

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
    def add(self, member: Member, audit: dict[str, Any] | None = None) -> None:
        if len(self.members(member.workspace)) >= MAX_MEMBERS:
            raise MembershipError(409, "limit_reached", f"a workspace has at most {MAX_MEMBERS} members")
        if len(self.user(member.user_id).roles) >= MAX_WORKSPACES_PER_USER:
            raise MembershipError(409, "limit_reached",
                                  f"a user belongs to at most {MAX_WORKSPACES_PER_USER} workspaces")
        attrs = {"role": {"S": member.role}, "email": {"S": member.email},
                 "display_name": {"S": member.display_name}, "added_at": {"N": str(member.added_at)},
                 "added_by": {"S": member.added_by}}
        ops = [
            {"Put": {"TableName": self.table_name,
                     "Item": {**self._key(tables.members_pk(member.workspace), member.user_id), **attrs},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table_name,
                     "Item": {**self._key(tables.user_pk(member.user_id), f"WS#{member.workspace}"),
                              "role": {"S": member.role}, "workspace": {"S": member.workspace}}}},
            {"Put": {"TableName": self.table_name,
                     "Item": {**self._key(tables.user_pk(member.user_id), "PROFILE"),
                              "email": {"S": member.email}, "display_name": {"S": member.display_name}}}},
        ]
        try:
            self.client.transact_write_items(TransactItems=ops + ([audit] if audit else []))
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancelled(exc):
                raise MembershipError(409, "already_member", "this user is already a member of the workspace") from exc
            raise

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

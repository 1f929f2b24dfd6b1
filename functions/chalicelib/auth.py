"""Workspaces, API keys and scopes (DESIGN invariant 6).

Only a SHA-256 of a key is stored: keys are 256-bit random tokens, so a
plain hash is enough (no dictionary to attack) and lookup stays one GetItem.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from . import tables

#: Scopes a key is granted. ingest: POST events; read: reports, CSV, subscriptions;
#: manage: alert rules and webhook sources; admin: members, keys, the audit list
#: (and sources). Routes check the effective scopes these expand to:
#: chalicelib/accounts/roles.py, docs/accounts.md.
SCOPES = ("ingest", "read", "manage", "admin")
WORKSPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEY_PREFIX = "lr_"


class KeyError_(ValueError):
    """A key operation the caller asked for cannot be done (bad workspace, scope...)."""


@dataclass(frozen=True)
class Principal:
    workspace: str
    scopes: frozenset[str]
    #: the key id, or the user's Cognito sub for a signed-in user
    key_id: str
    kind: str = "key"  # "key" | "user"
    email: str = ""
    role: str = ""  # the user's role in `workspace`


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_workspace(workspace: str) -> str:
    if not WORKSPACE_PATTERN.match(workspace or ""):
        raise KeyError_("workspace: 1-63 lowercase letters, digits, '-' or '_'")
    return workspace


def check_scopes(scopes: list[str] | tuple[str, ...]) -> frozenset[str]:
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise KeyError_(f"scopes: choose from {', '.join(SCOPES)}")
    return frozenset(scopes)


class KeyStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def create(self, workspace: str, scopes: list[str] | tuple[str, ...], label: str = "",
               key: str | None = None) -> tuple[str, str]:
        """Create a key; returns (key_id, key). The key is shown once, never stored."""
        check_workspace(workspace)
        scope_set = check_scopes(scopes)
        key = key or KEY_PREFIX + secrets.token_urlsafe(32)
        digest = hash_key(key)
        key_id = "k_" + digest[:12]
        now = str(int(time.time()))
        common = {"workspace": {"S": workspace}, "scopes": {"SS": sorted(scope_set)},
                  "key_id": {"S": key_id}, "created_at": {"N": now}, "label": {"S": label[:100]}}
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table_name,
                     "Item": {tables.PK: {"S": tables.key_lookup_pk(digest)}, tables.SK: {"S": "KEY"}, **common},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table_name,
                     "Item": {tables.PK: {"S": tables.keys_pk(workspace)}, tables.SK: {"S": key_id},
                              "key_hash": {"S": digest}, **common}}},
        ])
        return key_id, key

    def lookup(self, key: str) -> Principal | None:
        if not key or len(key) > 200:
            return None
        item = self.client.get_item(
            TableName=self.table_name,
            Key={tables.PK: {"S": tables.key_lookup_pk(hash_key(key))}, tables.SK: {"S": "KEY"}},
        ).get("Item")
        if not item or item.get("revoked", {}).get("BOOL"):
            return None
        return Principal(item["workspace"]["S"], frozenset(item["scopes"]["SS"]), item["key_id"]["S"])

    def list(self, workspace: str) -> list[dict[str, Any]]:
        check_workspace(workspace)
        items = self.client.query(
            TableName=self.table_name, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": tables.keys_pk(workspace)}},
        )["Items"]
        return [{"key_id": i["key_id"]["S"], "scopes": sorted(i["scopes"]["SS"]),
                 "label": i.get("label", {}).get("S", ""), "created_at": int(i["created_at"]["N"]),
                 "revoked": i.get("revoked", {}).get("BOOL", False)} for i in items]

    def revoke(self, workspace: str, key_id: str) -> bool:
        check_workspace(workspace)
        item = self.client.get_item(
            TableName=self.table_name,
            Key={tables.PK: {"S": tables.keys_pk(workspace)}, tables.SK: {"S": key_id}}).get("Item")
        if not item:
            return False
        digest = item["key_hash"]["S"]
        for pk, sk in ((tables.keys_pk(workspace), key_id), (tables.key_lookup_pk(digest), "KEY")):
            self.client.update_item(
                TableName=self.table_name, Key={tables.PK: {"S": pk}, tables.SK: {"S": sk}},
                UpdateExpression="SET revoked = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
        return True

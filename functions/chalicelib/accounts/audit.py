"""The audit list of admin actions: who, what, when, per workspace.

Items `{workspace}#AUDIT / {ms:013d}#{random}`: newest first with one Query,
kept 400 days (TTL). Membership changes write their entry in the same
transaction as the change; key and source changes right after it.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from .. import tables

RETENTION_SECONDS = 400 * 86400
MAX_LIMIT = 200


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "key"
    id: str  # Cognito sub or key id
    email: str = ""

    def public(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "email": self.email}


class AuditLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client, self.table_name = client, table_name

    def item(self, workspace: str, actor: Actor, action: str, target: str, detail: dict[str, Any],
             now: float) -> dict[str, Any]:
        ms = int(now * 1000)
        return {tables.PK: {"S": tables.audit_pk(workspace)}, tables.SK: {"S": f"{ms:013d}#{secrets.token_hex(4)}"},
                "at": {"N": str(ms)}, "actor_kind": {"S": actor.kind}, "actor_id": {"S": actor.id},
                "actor_email": {"S": actor.email}, "action": {"S": action}, "target": {"S": target},
                "detail": {"S": json.dumps(detail, separators=(",", ":"), sort_keys=True)},
                tables.TTL_ATTRIBUTE: {"N": str(int(now) + RETENTION_SECONDS)}}

    def put(self, workspace: str, actor: Actor, action: str, target: str, detail: dict[str, Any],
            now: float) -> dict[str, Any]:
        """A TransactItems `Put` of the entry, to commit with the change itself."""
        return {"Put": {"TableName": self.table_name,
                        "Item": self.item(workspace, actor, action, target, detail, now)}}

    def record(self, workspace: str, actor: Actor, action: str, target: str, detail: dict[str, Any],
               now: float) -> None:
        self.client.put_item(TableName=self.table_name, Item=self.item(workspace, actor, action, target, detail, now))

    def list(self, workspace: str, limit: int = 50, before: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `before` is the `next` cursor of the previous page."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "pk = :pk", "ScanIndexForward": False,
            "ExpressionAttributeValues": {":pk": {"S": tables.audit_pk(workspace)}},
            "Limit": max(1, min(limit, MAX_LIMIT))}
        if before:
            kwargs["ExclusiveStartKey"] = {tables.PK: {"S": tables.audit_pk(workspace)}, tables.SK: {"S": before}}
        page = self.client.query(**kwargs)
        entries = [{"id": i[tables.SK]["S"], "at": int(i["at"]["N"]) / 1000,
                    "actor": {"kind": i["actor_kind"]["S"], "id": i["actor_id"]["S"],
                              "email": i.get("actor_email", {}).get("S", "")},
                    "action": i["action"]["S"], "target": i["target"]["S"],
                    "detail": json.loads(i.get("detail", {}).get("S", "{}"))} for i in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return entries, (last[tables.SK]["S"] if last else None)

"""The per-workspace daily email quota: one counter item per workspace and UTC day.

  pk `{workspace}#QUOTA`   sk `{YYYY-MM-DD}`   sent (N), expires_at (2 days later)

Every email the product sends on a workspace's behalf (snapshots, alerts,
confirmation requests, invitations) reserves its place first. A reservation
is one conditional write (`sent + n <= limit`), so concurrent senders never
overshoot; what does not fit is not sent and says so (a status on the
subscription, the alert's delivery record, the confirmation request), never
silently. The limit is `EMAIL_DAILY_QUOTA` (default 500, AppConfig).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

DEFAULT_DAILY_QUOTA = 500


def quota_pk(workspace: str) -> str:
    return f"{workspace}#QUOTA"


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


def resets_at(now: float) -> str:
    day = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).isoformat().replace("+00:00", "Z")


class EmailQuota:
    def __init__(self, client: Any, table_name: str, limit: int = DEFAULT_DAILY_QUOTA) -> None:
        self.client, self.table, self.limit = client, table_name, limit

    def _key(self, workspace: str, now: float) -> dict[str, Any]:
        return {"pk": {"S": quota_pk(workspace)}, "sk": {"S": day_of(now)}}

    def used(self, workspace: str, now: float) -> int:
        item = self.client.get_item(TableName=self.table, Key=self._key(workspace, now),
                                    ConsistentRead=True).get("Item") or {}
        return int(item.get("sent", {}).get("N", "0"))

    def reserve(self, workspace: str, n: int, now: float) -> int:
        """Reserve up to `n` sends today; returns how many were granted (0..n)."""
        want = min(n, self.limit)
        for _ in range(8):  # each retry follows a concurrent reservation that moved the count
            if want <= 0:
                return 0
            try:
                self.client.update_item(
                    TableName=self.table, Key=self._key(workspace, now),
                    UpdateExpression="ADD sent :n SET expires_at = if_not_exists(expires_at, :exp)",
                    ConditionExpression="attribute_not_exists(sent) OR sent <= :room",
                    ExpressionAttributeValues={":n": {"N": str(want)}, ":room": {"N": str(self.limit - want)},
                                               ":exp": {"N": str(int(now) + 2 * 86400)}})
                return want
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
            want = min(n, self.limit - self.used(workspace, now))
        return 0

    def release(self, workspace: str, n: int, now: float) -> None:
        """Give back reservations that were not used (a send that failed before SES took it)."""
        if n > 0:
            self.client.update_item(TableName=self.table, Key=self._key(workspace, now),
                                    UpdateExpression="ADD sent :n", ConditionExpression="attribute_exists(sent)",
                                    ExpressionAttributeValues={":n": {"N": str(-n)}})

    def status(self, workspace: str, now: float) -> dict[str, Any]:
        """What the API shows: today's use against the limit, and when it resets."""
        used = self.used(workspace, now)
        return {"limit": self.limit, "used": min(used, self.limit), "remaining": max(0, self.limit - used),
                "day": day_of(now), "resets_at": resets_at(now)}

"""Connection and subscription records of the live channel.

Three internal partitions (their keys start with ``LIVE#``, which no workspace
can: workspaces are lowercase), each item TTL'd so a connection API Gateway
never reported closed disappears on its own:

- ``LIVE#C#{connection}`` / ``C``: who the connection is (workspace, principal)
  and the campaigns it follows; read on every message and on $disconnect,
  which only know the connection id.
- ``LIVE#S#{workspace}#{campaign}`` / connection: one per subscription; the
  notifier queries this partition for a stamped campaign.
- ``LIVE#W#{workspace}`` / connection: the workspace's open connections, counted
  against the per-workspace bound.

The workspace is always the authorised principal's, never one a message names,
so a connection can only follow campaigns of its own workspace.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .. import tables
from ..store import StoreConfig, with_retries

PREFIX = "LIVE#"


def connection_pk(connection_id: str) -> str:
    return f"{PREFIX}C#{connection_id}"


def subscribers_pk(workspace: str, campaign: str) -> str:
    return f"{PREFIX}S#{workspace}#{campaign}"


def workspace_pk(workspace: str) -> str:
    return f"{PREFIX}W#{workspace}"


@dataclass(frozen=True)
class Limits:
    """Bounds of the live channel (docs/design.md)."""
    #: campaigns one connection may follow (a page shows one; a wall of screens a few)
    campaigns_per_connection: int = 10
    #: open, authorised connections of one workspace
    connections_per_workspace: int = 500
    #: an authorisation lasts this long; the page re-authorises every few minutes
    #: (its keepalive), so a revoked key or an expired token stops within this
    auth_seconds: int = 15 * 60


@dataclass(frozen=True)
class Connection:
    connection_id: str
    workspace: str
    principal: str
    campaigns: frozenset[str]
    expires_at: int


class LimitReached(Exception):
    """A bound of `Limits` would be exceeded (the message says which)."""


class ConnectionStore:
    def __init__(self, client: Any, config: StoreConfig, limits: Limits = Limits(),
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.config = config
        self.limits = limits
        self.clock = clock

    # --- reads ---

    def get(self, connection_id: str) -> Connection | None:
        """The connection's authorised record; None when unknown or expired."""
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(connection_pk(connection_id), "C")),
            self.config).get("Item")
        if not item or int(item[tables.TTL_ATTRIBUTE]["N"]) <= self.clock():
            return None
        return Connection(connection_id, item["workspace"]["S"], item.get("principal", {}).get("S", ""),
                          frozenset(item.get("campaigns", {}).get("SS", [])), int(item[tables.TTL_ATTRIBUTE]["N"]))

    def subscribers(self, workspace: str, campaign: str) -> list[str]:
        """Connections following a campaign now (expired ones filtered: TTL deletion lags)."""
        kwargs: dict[str, Any] = {
            "TableName": self.config.table_name, "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "#exp > :now", "ProjectionExpression": "sk",
            "ExpressionAttributeNames": {"#exp": tables.TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":pk": {"S": subscribers_pk(workspace, campaign)},
                                          ":now": {"N": str(int(self.clock()))}}}
        out: list[str] = []
        while True:
            page = with_retries(lambda: self.client.query(**kwargs), self.config)
            out.extend(item[tables.SK]["S"] for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def open_in_workspace(self, workspace: str) -> int:
        kwargs: dict[str, Any] = {
            "TableName": self.config.table_name, "KeyConditionExpression": "pk = :pk", "Select": "COUNT",
            "FilterExpression": "#exp > :now", "ExpressionAttributeNames": {"#exp": tables.TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":pk": {"S": workspace_pk(workspace)},
                                          ":now": {"N": str(int(self.clock()))}}}
        count = 0
        while True:
            page = with_retries(lambda: self.client.query(**kwargs), self.config)
            count += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                return count
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- writes ---

    def authorise(self, connection_id: str, workspace: str, principal: str) -> Connection:
        """Record (or renew) the connection as `principal` of `workspace`; its subscriptions are renewed
        too. A connection cannot change workspace: a page switching workspace opens a new one."""
        current = self.get(connection_id)
        if current is not None and current.workspace != workspace:
            raise LimitReached("this connection belongs to another workspace: open a new one")
        if current is None and self.open_in_workspace(workspace) >= self.limits.connections_per_workspace:
            raise LimitReached(f"the workspace has {self.limits.connections_per_workspace} live connections "
                               "open already (the page falls back to polling)")
        expires = int(self.clock()) + self.limits.auth_seconds
        campaigns = current.campaigns if current else frozenset()
        self._put_record(connection_id, workspace, principal, campaigns, expires)
        self._put(workspace_pk(workspace), connection_id, expires)
        for campaign in sorted(campaigns):
            self._put(subscribers_pk(workspace, campaign), connection_id, expires)
        return Connection(connection_id, workspace, principal, campaigns, expires)

    def subscribe(self, connection: Connection, campaigns: Iterable[str]) -> Connection:
        """Replace the campaigns the connection follows (at most `campaigns_per_connection`)."""
        wanted = frozenset(campaigns)
        if len(wanted) > self.limits.campaigns_per_connection:
            raise LimitReached(f"a connection follows at most {self.limits.campaigns_per_connection} campaigns")
        ws, cid = connection.workspace, connection.connection_id
        for campaign in sorted(wanted - connection.campaigns):
            self._put(subscribers_pk(ws, campaign), cid, connection.expires_at)
        self._put_record(cid, ws, connection.principal, wanted, connection.expires_at)
        for campaign in sorted(connection.campaigns - wanted):
            self._delete(subscribers_pk(ws, campaign), cid)
        return Connection(cid, ws, connection.principal, wanted, connection.expires_at)

    def remove(self, connection_id: str, known: Connection | None = None) -> bool:
        """Forget a closed (or gone) connection and its subscriptions; False when it was unknown."""
        record = known or self._raw(connection_id)
        if record is None:
            return False
        for campaign in sorted(record.campaigns):
            self._delete(subscribers_pk(record.workspace, campaign), connection_id)
        self._delete(workspace_pk(record.workspace), connection_id)
        self._delete(connection_pk(connection_id), "C")
        return True

    def forget_subscription(self, workspace: str, campaign: str, connection_id: str) -> None:
        """A subscription whose connection is gone and whose record is gone too (expired)."""
        self._delete(subscribers_pk(workspace, campaign), connection_id)

    # --- items ---

    def _raw(self, connection_id: str) -> Connection | None:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(connection_pk(connection_id), "C")),
            self.config).get("Item")
        if not item:
            return None
        return Connection(connection_id, item["workspace"]["S"], item.get("principal", {}).get("S", ""),
                          frozenset(item.get("campaigns", {}).get("SS", [])), int(item[tables.TTL_ATTRIBUTE]["N"]))

    def _put_record(self, connection_id: str, workspace: str, principal: str, campaigns: frozenset[str],
                    expires: int) -> None:
        item = {**tables.key(connection_pk(connection_id), "C"), "workspace": {"S": workspace},
                "principal": {"S": principal}, tables.TTL_ATTRIBUTE: {"N": str(expires)}}
        if campaigns:
            item["campaigns"] = {"SS": sorted(campaigns)}
        with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item=item), self.config)

    def _put(self, pk: str, connection_id: str, expires: int) -> None:
        with_retries(lambda: self.client.put_item(TableName=self.config.table_name, Item={
            **tables.key(pk, connection_id), tables.TTL_ATTRIBUTE: {"N": str(expires)}}), self.config)

    def _delete(self, pk: str, sk: str) -> None:
        with_retries(lambda: self.client.delete_item(TableName=self.config.table_name, Key=tables.key(pk, sk)),
                     self.config)

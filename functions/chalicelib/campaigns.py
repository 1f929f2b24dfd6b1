"""The workspace's campaign directory: channels seen and last event time.

Updated after a batch's counters with idempotent operations only (set ADD,
conditional max), so a retried batch cannot skew it.
"""
from __future__ import annotations

from typing import Any, Mapping

from botocore.exceptions import ClientError

from . import tables
from .store import StoreConfig, with_retries


class CampaignDirectory:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def record(self, workspace: str, seen: Mapping[str, tuple[set[str], int]]) -> int:
        """Note the channels and latest event of each campaign; returns writes made."""
        writes = 0
        for campaign, (channels, latest) in sorted(seen.items()):
            key = {tables.PK: {"S": tables.campaigns_pk(workspace)}, tables.SK: {"S": campaign}}
            try:
                writes += 1
                with_retries(lambda: self.client.update_item(
                    TableName=self.config.table_name, Key=key,
                    UpdateExpression="ADD channels :c SET last_event = :t",
                    ConditionExpression="attribute_not_exists(last_event) OR last_event < :t",
                    ExpressionAttributeValues={":c": {"SS": sorted(channels)}, ":t": {"N": str(latest)}},
                ), self.config)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                # An older batch: its channels may still be new to the campaign.
                with_retries(lambda: self.client.update_item(
                    TableName=self.config.table_name, Key=key, UpdateExpression="ADD channels :c",
                    ExpressionAttributeValues={":c": {"SS": sorted(channels)}}), self.config)
        return writes

    def list(self, workspace: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.config.table_name, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": tables.campaigns_pk(workspace)}},
        }
        out = []
        while True:
            page = with_retries(lambda: self.client.query(**kwargs), self.config)
            for item in page["Items"]:
                out.append({"campaign_id": item[tables.SK]["S"],
                            "channels": sorted(item.get("channels", {}).get("SS", [])),
                            "last_event": int(item["last_event"]["N"]) if "last_event" in item else None})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(out, key=lambda c: -(c["last_event"] or 0))

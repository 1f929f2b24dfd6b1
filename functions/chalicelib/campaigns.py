"""The workspace's campaign directory: channels seen, last event received, change stamp.

The aggregator updates it in the last transaction of each fold (see
`aggregator.py`), so a moved stamp always means the fold's counts are readable.
"""
from __future__ import annotations

from typing import Any

from . import tables
from .store import StoreConfig, with_retries


class CampaignDirectory:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def stamp(self, workspace: str, campaign: str) -> dict[str, Any] | None:
        """The campaign's change stamp: it moves with every fold that touches the
        campaign, so a page polls this small item and fetches a report only when it moved."""
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name,
            Key={tables.PK: {"S": tables.campaigns_pk(workspace)}, tables.SK: {"S": campaign}},
            ProjectionExpression="stamp, last_event"), self.config).get("Item")
        if not item:
            return None
        return {"stamp": item.get("stamp", {}).get("S", ""),
                "last_event": int(item["last_event"]["N"]) if "last_event" in item else None}

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
                            # channels whose events carried variants: the page's Experimentation tab
                            "experiments": sorted(item.get("experiments", {}).get("SS", [])),
                            "last_event": int(item["last_event"]["N"]) if "last_event" in item else None,
                            "stamp": item.get("stamp", {}).get("S", "")})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(out, key=lambda c: -(c["last_event"] or 0))

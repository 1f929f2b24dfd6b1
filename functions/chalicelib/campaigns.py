"""The workspace's campaign directory: channels seen, last event received, change stamp.

The aggregator writes it when a campaign or channel is new, for late events
and at most once a minute otherwise (`fold/marks.py`); the change stamp also
reads the campaign's recent minute items, which every fold stamps after its
counts are written, so a moved stamp always means the fold's counts are readable.
"""
from __future__ import annotations

from typing import Any

import time

from . import tables
from .buckets import bucket_of
from .fold.guards import RECEIVED, STAMP
from .fold.marks import STAMP_RECENT
from .store import StoreConfig, with_retries


class CampaignDirectory:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config

    def stamp(self, workspace: str, campaign: str, now: float | None = None) -> dict[str, Any] | None:
        """The campaign's change stamp: it moves with every fold that touches the campaign,
        so a page polls it and fetches a report only when it moved.

        A fold stamps the minute items it writes (`~st`, fold/guards.py) and writes the
        directory item only now and then (fold/marks.py), so the stamp is the newest of the
        directory's and of the campaign's minute items of the last few minutes: one small
        Query per channel, instead of a directory write per fold."""
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name,
            Key={tables.PK: {"S": tables.campaigns_pk(workspace)}, tables.SK: {"S": campaign}},
            ProjectionExpression="stamp, last_event, channels"), self.config).get("Item")
        if not item:
            return None
        stamp = item.get("stamp", {}).get("S", "")
        last_event = int(item["last_event"]["N"]) if "last_event" in item else None
        now = time.time() if now is None else now
        lo = f"{tables.MINUTE}#{bucket_of(tables.MINUTE, int(now) - STAMP_RECENT)}"
        hi = f"{tables.MINUTE}#{bucket_of(tables.MINUTE, int(now) + 360)}#\uffff"
        for channel in sorted(item.get("channels", {}).get("SS", [])):
            page = with_retries(lambda: self.client.query(
                TableName=self.config.table_name, KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                ProjectionExpression="#st, #le", ExpressionAttributeNames={"#st": STAMP, "#le": RECEIVED},
                ExpressionAttributeValues={":pk": {"S": tables.counter_pk(workspace, campaign, channel)},
                                           ":lo": {"S": lo}, ":hi": {"S": hi}}), self.config)
            for minute in page.get("Items", []):
                stamp = max(stamp, minute.get(STAMP, {}).get("S", ""))
                if RECEIVED in minute:
                    last_event = max(last_event or 0, int(minute[RECEIVED]["N"]))
        return {"stamp": stamp, "last_event": last_event}

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

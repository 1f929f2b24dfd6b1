"""One currency per campaign: the first conversion with a currency sets it, and a
conversion in another currency is rejected with a reason (revenue is a sum: two
currencies cannot add up).

Read on the ingest path only for requests that carry currencies, and cached per
container once known (a campaign's currency never changes).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable

from botocore.exceptions import ClientError

from . import tables
from .events import Event
from .store import StoreConfig, with_retries

CACHE_SIZE = 4096


class CurrencyBook:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config
        self._known: OrderedDict[tuple[str, str], str] = OrderedDict()

    def currency(self, workspace: str, campaign: str) -> str | None:
        """The campaign's currency, if a conversion set one."""
        key = (workspace, campaign)
        if key in self._known:
            return self._known[key]
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(tables.currency_pk(workspace), campaign),
            ConsistentRead=True), self.config).get("Item")
        value = item["currency"]["S"] if item else None
        if value:
            self._remember(key, value)
        return value

    def _claim(self, workspace: str, campaign: str, currency: str) -> str:
        """Set the campaign's currency unless one is set; the currency that holds."""
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name,
                Item={**tables.key(tables.currency_pk(workspace), campaign), "currency": {"S": currency}},
                ConditionExpression="attribute_not_exists(pk)"), self.config)
            self._remember((workspace, campaign), currency)
            return currency
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            self._known.pop((workspace, campaign), None)
            return self.currency(workspace, campaign) or currency

    def check(self, workspace: str, events: Iterable[tuple[int, Event]]) -> dict[int, str]:
        """index -> rejection reason, for conversions in a currency other than their campaign's."""
        out: dict[int, str] = {}
        decided: dict[str, str] = {}
        for index, event in events:
            if event.currency is None:
                continue
            campaign = event.campaign_id
            if campaign not in decided:
                decided[campaign] = self.currency(workspace, campaign) or \
                    self._claim(workspace, campaign, event.currency)
            if event.currency != decided[campaign]:
                out[index] = (f"currency: campaign '{campaign}' counts its revenue in {decided[campaign]}; "
                              f"a conversion in {event.currency} cannot be added to it")
        return out

    def _remember(self, key: tuple[str, str], value: str) -> None:
        self._known[key] = value
        self._known.move_to_end(key)
        while len(self._known) > CACHE_SIZE:
            self._known.popitem(last=False)

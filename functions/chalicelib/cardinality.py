"""Bounded cardinality of producer-controlled values (DESIGN invariant 4).

Each campaign keeps, per dimension, the set of values it has admitted (a
DynamoDB string set). A new value is admitted by a conditional ADD that only
succeeds while the set has room; beyond the cap values fold into "other".
The set only grows, so a warm Lambda caches it and reads nothing for values
it has seen, and a full set is final.
"""
from __future__ import annotations

from typing import Any, Mapping

from botocore.exceptions import ClientError

from . import catalogue, tables
from .store import StoreConfig, with_retries


def _bytes(values: set[str]) -> int:
    return sum(len(v.encode()) for v in values)


class CardinalityGuard:
    """Shared by all requests of a warm Lambda; the cache is keyed by workspace."""

    def __init__(self, client: Any, config: StoreConfig, max_rounds: int = 5) -> None:
        self.client = client
        self.config = config
        self.max_rounds = max_rounds
        self._known: dict[tuple[str, str, str], set[str]] = {}
        self.writes = 0
        self.reads = 0

    def _key(self, workspace: str, campaign: str, dimension: str) -> dict[str, Any]:
        return {tables.PK: {"S": tables.dims_pk(workspace, campaign)}, tables.SK: {"S": dimension}}

    def _load(self, workspace: str, campaign: str, dimension: str) -> set[str]:
        self.reads += 1
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, ConsistentRead=True,
            Key=self._key(workspace, campaign, dimension)), self.config).get("Item", {})
        known = set(item.get("vals", {}).get("SS", []))
        self._known[(workspace, campaign, dimension)] = known
        return known

    def admit(self, workspace: str, campaign: str, dimension: str, values: set[str],
              cap: int | None = None) -> Mapping[str, str]:
        """Map each value to itself if admitted, else to "other" (`cap`: the catalogue's
        for a dimension; given for other producer-named sets, such as variants). Both the
        number of values and their total length are capped (catalogue.DIMENSION_ITEM_BYTES)."""
        spec = catalogue.DIMENSIONS.get(dimension)
        cap = spec.cap if cap is None else cap
        budget = spec.value_budget if spec is not None else catalogue.DIMENSION_ITEM_BYTES
        known = self._known.get((workspace, campaign, dimension), set())
        if (values - known - {catalogue.OTHER}) and len(known) < cap and _bytes(known) < budget:
            known = self._load(workspace, campaign, dimension)
            for _ in range(self.max_rounds):
                new = sorted(values - known - {catalogue.OTHER})  # sorted: retries admit alike
                room, byte_room = cap - len(known), budget - _bytes(known)
                take: list[str] = []
                for value in new:
                    if len(take) >= room or len(value.encode()) > byte_room:
                        break
                    take.append(value)
                    byte_room -= len(value.encode())
                if not take:
                    break
                if self._try_add(workspace, campaign, dimension, take, cap, budget):
                    known.update(take)
                    break
                known = self._load(workspace, campaign, dimension)  # lost a race: look again
        return {v: (v if v in known or v == catalogue.OTHER else catalogue.OTHER) for v in values}

    def _try_add(self, workspace: str, campaign: str, dimension: str, take: list[str], cap: int,
                 budget: int) -> bool:
        self.writes += 1
        size = sum(len(v.encode()) for v in take)
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=self._key(workspace, campaign, dimension),
                UpdateExpression="ADD vals :v, nb :n",
                ConditionExpression="(attribute_not_exists(vals) OR size(vals) <= :limit) AND "
                                    "(attribute_not_exists(nb) OR nb <= :blimit)",
                ExpressionAttributeValues={":v": {"SS": take}, ":n": {"N": str(size)},
                                           ":limit": {"N": str(cap - len(take))},
                                           ":blimit": {"N": str(budget - size)}},
            ), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

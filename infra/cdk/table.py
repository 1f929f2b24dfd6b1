"""The DynamoDB table, translated from the CreateTable arguments that local
mode uses (functions/chalicelib/tables.py): one definition, two consumers.

Only the deployment-only properties (TTL, point-in-time recovery, deletion
protection, retention) are added here; keys, attribute types, indexes and
billing mode come from ``tables.table_definition``.
"""
from __future__ import annotations

import sys
from typing import Any

from aws_cdk import CfnDeletionPolicy, aws_dynamodb as dynamodb
from constructs import Construct

from infra.cdk.config import FUNCTIONS_DIR, StageSettings

if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))

from chalicelib import tables  # noqa: E402

#: CreateTable keys this translation understands; anything else fails the
#: synth instead of being silently dropped.
_SUPPORTED = {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode",
              "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput",
              "StreamSpecification", "TableClass"}


def _keys(schema: list[dict[str, str]]) -> list[dynamodb.CfnTable.KeySchemaProperty]:
    return [dynamodb.CfnTable.KeySchemaProperty(attribute_name=k["AttributeName"], key_type=k["KeyType"])
            for k in schema]


def _projection(p: dict[str, Any]) -> dynamodb.CfnTable.ProjectionProperty:
    return dynamodb.CfnTable.ProjectionProperty(projection_type=p.get("ProjectionType"),
                                                non_key_attributes=p.get("NonKeyAttributes"))


def _throughput(t: dict[str, int] | None) -> dynamodb.CfnTable.ProvisionedThroughputProperty | None:
    if not t:
        return None
    return dynamodb.CfnTable.ProvisionedThroughputProperty(read_capacity_units=t["ReadCapacityUnits"],
                                                           write_capacity_units=t["WriteCapacityUnits"])


def cfn_table_props(definition: dict[str, Any]) -> dict[str, Any]:
    """CreateTable kwargs → CfnTable kwargs (the key layout, untouched)."""
    unknown = set(definition) - _SUPPORTED
    if unknown:
        raise ValueError(f"tables.table_definition uses {sorted(unknown)}: teach infra/cdk/table.py to translate it")
    props: dict[str, Any] = {
        "table_name": definition["TableName"],
        "key_schema": _keys(definition["KeySchema"]),
        "attribute_definitions": [
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name=a["AttributeName"],
                                                          attribute_type=a["AttributeType"])
            for a in definition["AttributeDefinitions"]],
        "billing_mode": definition.get("BillingMode", "PROVISIONED"),
        "provisioned_throughput": _throughput(definition.get("ProvisionedThroughput")),
        "table_class": definition.get("TableClass"),
    }
    if definition.get("GlobalSecondaryIndexes"):
        props["global_secondary_indexes"] = [
            dynamodb.CfnTable.GlobalSecondaryIndexProperty(
                index_name=i["IndexName"], key_schema=_keys(i["KeySchema"]), projection=_projection(i["Projection"]),
                provisioned_throughput=_throughput(i.get("ProvisionedThroughput")))
            for i in definition["GlobalSecondaryIndexes"]]
    if definition.get("LocalSecondaryIndexes"):
        props["local_secondary_indexes"] = [
            dynamodb.CfnTable.LocalSecondaryIndexProperty(
                index_name=i["IndexName"], key_schema=_keys(i["KeySchema"]), projection=_projection(i["Projection"]))
            for i in definition["LocalSecondaryIndexes"]]
    if definition.get("StreamSpecification", {}).get("StreamEnabled"):
        props["stream_specification"] = dynamodb.CfnTable.StreamSpecificationProperty(
            stream_view_type=definition["StreamSpecification"]["StreamViewType"])
    return {k: v for k, v in props.items() if v is not None}


def index_names(definition: dict[str, Any]) -> list[str]:
    return [i["IndexName"] for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for i in definition.get(key, [])]


class LiveReportTable(Construct):
    """The one table of a stage: on-demand, TTL on ``tables.TTL_ATTRIBUTE``,
    point-in-time recovery, deletion protection and RETAIN where the stage
    keeps its data (prod)."""

    def __init__(self, scope: Construct, construct_id: str, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        self.definition = tables.table_definition(settings.table_name)
        self.ttl_attribute = tables.TTL_ATTRIBUTE
        self.index_names = index_names(self.definition)
        self.resource = dynamodb.CfnTable(
            self, "Resource",
            **cfn_table_props(self.definition),
            time_to_live_specification=dynamodb.CfnTable.TimeToLiveSpecificationProperty(
                enabled=True, attribute_name=self.ttl_attribute),
            point_in_time_recovery_specification=dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True),
            deletion_protection_enabled=settings.retain_data,
        )
        policy = CfnDeletionPolicy.RETAIN if settings.retain_data else CfnDeletionPolicy.DELETE
        self.resource.cfn_options.deletion_policy = policy
        self.resource.cfn_options.update_replace_policy = policy
        self.table_name = self.resource.ref
        self.table_arn = self.resource.attr_arn

    @property
    def index_arns(self) -> list[str]:
        return [f"{self.table_arn}/index/{name}" for name in self.index_names]

"""Snapshot subscriptions: the pydantic model and their DynamoDB store.

Layout in the single table (the workspace begins every subscription key):

  pk `{workspace}#SUBS`   sk `{subscription_id}`   the subscription (JSON in `doc`) + its schedule state
  pk `SNAPSHOTS#REGISTRY` sk `{workspace}#{id}`   a small pointer so the scheduled function finds every
                                                  subscription with one Query instead of a table Scan

Both items are written and deleted together in one transaction. Workspaces
are lower-case (auth.WORKSPACE_PATTERN), so the upper-case registry partition
can never collide with a workspace's keys.

Recipients' addresses are stored here (they are needed to send), and each
one's consent beside them (consent/store.py); these and the alert rules are
the places the product keeps addresses, never event data (DESIGN 7).
"""
from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..events import ID_PATTERN
from ..reports.global_ import CHANNELS as GLOBAL_CHANNELS
from ..reports.live import TABS as LIVE_TABS

MAX_RECIPIENTS = 50
MAX_PER_WORKSPACE = 100
REGISTRY_PK = "SNAPSHOTS#REGISTRY"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A deliberately strict address syntax: no quoted local parts, no comments, no
# display names, nothing that could smuggle a header (CR/LF, commas, <>).
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def subs_pk(workspace: str) -> str:
    return f"{workspace}#SUBS"


def registry_sk(workspace: str, subscription_id: str) -> str:
    return f"{workspace}#{subscription_id}"


def check_address(raw: str) -> str:
    """A normalised address (domain lower-cased) or ValueError."""
    address = raw.strip()
    if len(address) > 254 or address.count("@") != 1:
        raise ValueError(f"not a valid email address: {address[:80]!r}")
    local, domain = address.split("@")
    labels = domain.split(".")
    if (not local or len(local) > 64 or not _LOCAL.match(local) or len(labels) < 2
            or not all(_LABEL.match(label) for label in labels) or not labels[-1].isalpha()
            or len(labels[-1]) < 2):
        raise ValueError(f"not a valid email address: {address[:80]!r}")
    return f"{local}@{domain.lower()}"


def _check_tz(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name[:60]!r}") from None
    return name


class Hourly(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["hourly"]
    minute: int = Field(default=0, ge=0, le=59, description="minute past each hour (UTC)")
    tz: str = Field(default="UTC", description="IANA time zone the email's times are shown in")

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_tz(value)


class _AtTime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: str = Field(description="HH:MM, 24-hour clock, in tz")
    tz: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Paris")

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f"time must be HH:MM (00:00-23:59), got {value[:20]!r}")
        return value

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_tz(value)


class Daily(_AtTime):
    type: Literal["daily"]


class Weekly(_AtTime):
    type: Literal["weekly"]
    day: Literal[WEEKDAYS]  # type: ignore[valid-type]


Frequency = Annotated[Union[Hourly, Daily, Weekly], Field(discriminator="type")]


class SubscriptionRequest(BaseModel):
    """What a client POSTs to /v1/subscriptions."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    campaign_id: str = Field(pattern=ID_PATTERN)
    report: Literal["live", "global"]
    channel: str = "all"
    recipients: list[str] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    frequency: Frequency
    language: Literal["en", "fr"] = "en"

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        for raw in value:
            address = check_address(raw)
            if address.lower() not in seen:
                seen.add(address.lower())
                out.append(address)
        return out

    @model_validator(mode="after")
    def _channel(self) -> "SubscriptionRequest":
        allowed = LIVE_TABS if self.report == "live" else GLOBAL_CHANNELS
        if self.channel != "all" and self.channel not in allowed:
            raise ValueError(f"channel: 'all' or one of {', '.join(allowed)} for a {self.report} report")
        return self


class Subscription(SubscriptionRequest):
    subscription_id: str
    workspace: str
    created_at: int = Field(description="epoch seconds")

    def public(self) -> dict[str, Any]:
        body = self.model_dump(mode="json")
        body.pop("workspace")
        body["created_at"] = datetime.fromtimestamp(self.created_at, timezone.utc).isoformat().replace("+00:00", "Z")
        return body


class SubscriptionError(ValueError):
    """A request the caller must fix (422), or a limit reached (409)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def parse_request(payload: Any) -> SubscriptionRequest:
    try:
        return SubscriptionRequest.model_validate(payload)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "body"
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise SubscriptionError("; ".join(parts)) from None


def _from_item(item: dict[str, Any]) -> Subscription:
    return Subscription.model_validate_json(item["doc"]["S"])


class SubscriptionStore:
    """Create, list, get, delete subscriptions (who receives them: consent/store.py)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def _key(self, workspace: str, subscription_id: str) -> dict[str, Any]:
        return {"pk": {"S": subs_pk(workspace)}, "sk": {"S": subscription_id}}

    def create(self, workspace: str, payload: Any, now: float) -> Subscription:
        request = parse_request(payload)
        count = self.client.query(TableName=self.table, KeyConditionExpression="pk = :pk", Select="COUNT",
                                  ExpressionAttributeValues={":pk": {"S": subs_pk(workspace)}})["Count"]
        if count >= MAX_PER_WORKSPACE:
            raise SubscriptionError(f"a workspace holds at most {MAX_PER_WORKSPACE} subscriptions", 409)
        sub = Subscription(**request.model_dump(), subscription_id="sub_" + secrets.token_hex(8),
                           workspace=workspace, created_at=int(now))
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {**self._key(workspace, sub.subscription_id), "doc": {"S": sub.model_dump_json()},
                              "version": {"N": "1"}}}},
            {"Put": {"TableName": self.table,
                     "Item": {"pk": {"S": REGISTRY_PK}, "sk": {"S": registry_sk(workspace, sub.subscription_id)},
                              "workspace": {"S": workspace}, "subscription_id": {"S": sub.subscription_id}}}},
        ])
        return sub

    def list_items(self, workspace: str) -> list[tuple[Subscription, dict[str, Any]]]:
        """Every subscription with its item (schedule state, last delivery), oldest first."""
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": subs_pk(workspace)}}}
        out = []
        while True:
            page = self.client.query(**kwargs)
            out.extend((_from_item(i), i) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(out, key=lambda s: (s[0].created_at, s[0].subscription_id))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(self, workspace: str) -> list[Subscription]:
        return [sub for sub, _ in self.list_items(workspace)]

    def get_item(self, workspace: str, subscription_id: str) -> Optional[dict[str, Any]]:
        return self.client.get_item(TableName=self.table, Key=self._key(workspace, subscription_id),
                                    ConsistentRead=True).get("Item")

    def get(self, workspace: str, subscription_id: str) -> Optional[Subscription]:
        item = self.get_item(workspace, subscription_id)
        return _from_item(item) if item else None

    def delete(self, workspace: str, subscription_id: str) -> bool:
        """False when the workspace has no such subscription (another workspace's id included)."""
        try:
            self.client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self.table, "Key": self._key(workspace, subscription_id),
                            "ConditionExpression": "attribute_exists(pk)"}},
                {"Delete": {"TableName": self.table,
                            "Key": {"pk": {"S": REGISTRY_PK}, "sk": {"S": registry_sk(workspace, subscription_id)}}}},
            ])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise
        return True

    def claim_test(self, workspace: str, subscription_id: str, now: float, every: int = 60) -> bool:
        """At most one test email per subscription every `every` seconds (a stuck button or a
        script cannot flood anyone's inbox); False while the last one is that recent."""
        try:
            self.client.update_item(
                TableName=self.table, Key=self._key(workspace, subscription_id),
                UpdateExpression="SET test_at = :now", ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(test_at) OR test_at <= :before)",
                ExpressionAttributeValues={":now": {"N": str(int(now))}, ":before": {"N": str(int(now) - every)}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def last_delivery(item: dict[str, Any]) -> Optional[dict[str, Any]]:
    """What the latest send did (runner.py): period, at, sent, failed, not_confirmed, over_quota."""
    raw = item.get("last_delivery", {}).get("S")
    return json.loads(raw) if raw else None

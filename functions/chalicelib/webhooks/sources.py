"""Webhook sources: one per platform account of a workspace.

A source id is a random token that appears in the webhook URL; it resolves
to its workspace with one GetItem on a global lookup item (like API keys),
and the workspace's listing item holds only what GET /v1/sources shows.
Credentials (signing keys, auth tokens, passwords) live on the lookup item
only: they are never returned, logged or put in metrics.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import tables
from ..auth import check_workspace
from ..events import ID_PATTERN
from . import sendgrid
from .common import DEFAULT_CAMPAIGN, Defaults
from .ses import TOPIC_ARN

PLATFORMS = ("ses", "sendgrid", "mailgun", "twilio", "postmark")
CHANNELS = {"ses": ("email",), "sendgrid": ("email",), "mailgun": ("email",), "twilio": ("sms",),
            "postmark": ("email",)}
SOURCE_ID = re.compile(r"^src_[A-Za-z0-9_-]{16,40}$")
MAX_SOURCES = 50
_ID = re.compile(ID_PATTERN)


class SourceError(ValueError):
    """A source the caller described cannot be created: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Source:
    id: str
    workspace: str
    platform: str
    channel: str
    default_campaign: str
    created_at: int
    label: str = ""
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)  # never printed

    @property
    def defaults(self) -> Defaults:
        return Defaults(self.channel, self.default_campaign)

    def public(self, base_url: str | None = None) -> dict[str, Any]:
        """What the API shows: everything but the credentials."""
        out: dict[str, Any] = {"id": self.id, "platform": self.platform, "channel": self.channel,
                               "default_campaign": self.default_campaign, "label": self.label,
                               "created_at": self.created_at}
        if self.platform == "ses":  # not secret, and what an operator needs to check the allow-list
            out["topic_arns"] = list(self.credentials.get("topic_arns") or ())
        if base_url is not None:
            out["url"] = webhook_url(base_url, self.platform, self.id)
        return out


def webhook_url(base_url: str, platform: str, source_id: str) -> str:
    return f"{base_url.rstrip('/')}/v1/webhooks/{platform}/{source_id}"


def _text(value: Any, name: str, limit: int = 512) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise SourceError(422, f"credentials.{name}: a non-empty string of at most {limit} characters")
    return value.strip()


def check_credentials(platform: str, creds: Any) -> dict[str, Any]:
    """The credentials each platform needs, checked before they are stored."""
    if not isinstance(creds, dict):
        raise SourceError(422, "credentials: an object")
    if platform == "ses":
        arns = creds.get("topic_arns")
        if not isinstance(arns, list) or not arns or len(arns) > 20 \
                or not all(isinstance(a, str) and TOPIC_ARN.match(a) for a in arns):
            raise SourceError(422, "credentials.topic_arns: 1-20 SNS topic ARNs (arn:aws:sns:region:account:name)")
        return {"topic_arns": sorted(set(arns))}
    if platform == "sendgrid":
        key = _text(creds.get("public_key"), "public_key", 4096)
        try:
            sendgrid.load_public_key(key)
        except ValueError as exc:
            raise SourceError(422, f"credentials.{exc}") from None
        return {"public_key": key}
    if platform == "mailgun":
        return {"signing_key": _text(creds.get("signing_key"), "signing_key")}
    if platform == "twilio":
        return {"auth_token": _text(creds.get("auth_token"), "auth_token")}
    return {"username": _text(creds.get("username"), "username", 128),
            "password": _text(creds.get("password"), "password", 256)}


class SourceStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def create(self, workspace: str, payload: Any, now: float) -> Source:
        check_workspace(workspace)
        if not isinstance(payload, dict):
            raise SourceError(400, "the body must be a JSON object")
        platform = payload.get("platform")
        if platform not in PLATFORMS:
            raise SourceError(422, f"platform: one of {', '.join(PLATFORMS)}")
        channel = payload.get("channel") or CHANNELS[platform][0]
        if channel not in CHANNELS[platform]:
            raise SourceError(422, f"channel: {platform} sends {', '.join(CHANNELS[platform])}")
        default_campaign = payload.get("default_campaign") or DEFAULT_CAMPAIGN
        if not isinstance(default_campaign, str) or not _ID.match(default_campaign):
            raise SourceError(422, "default_campaign: 1-128 letters, digits or ._:@+-")
        label = payload.get("label") or ""
        if not isinstance(label, str) or len(label) > 100:
            raise SourceError(422, "label: at most 100 characters")
        credentials = check_credentials(platform, payload.get("credentials"))
        if len(self._listing(workspace)) >= MAX_SOURCES:
            raise SourceError(409, f"a workspace has at most {MAX_SOURCES} sources; delete one first")
        source = Source("src_" + secrets.token_urlsafe(18), workspace, platform, channel, default_campaign,
                        int(now), label, credentials)
        common = {"workspace": {"S": workspace}, "platform": {"S": platform}, "channel": {"S": channel},
                  "default_campaign": {"S": default_campaign}, "label": {"S": label},
                  "created_at": {"N": str(source.created_at)}}
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table_name, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {tables.PK: {"S": _lookup_pk(source.id)}, tables.SK: {"S": "SOURCE"}, **common,
                              "credentials": {"S": json.dumps(credentials)}}}},
            {"Put": {"TableName": self.table_name,
                     "Item": {tables.PK: {"S": _listing_pk(workspace)}, tables.SK: {"S": source.id}, **common}}},
        ])
        return source

    def get(self, source_id: str) -> Source | None:
        """The source behind a webhook URL, or None (unknown, deleted, malformed)."""
        if not SOURCE_ID.match(source_id or ""):
            return None
        item = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                    Key={tables.PK: {"S": _lookup_pk(source_id)}, tables.SK: {"S": "SOURCE"}}
                                    ).get("Item")
        if not item:
            return None
        return Source(source_id, item["workspace"]["S"], item["platform"]["S"], item["channel"]["S"],
                      item["default_campaign"]["S"], int(item["created_at"]["N"]), item.get("label", {}).get("S", ""),
                      json.loads(item["credentials"]["S"]))

    def _listing(self, workspace: str) -> list[dict[str, Any]]:
        return self.client.query(TableName=self.table_name, KeyConditionExpression="pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": _listing_pk(workspace)}})["Items"]

    def list(self, workspace: str) -> list[Source]:
        check_workspace(workspace)
        return sorted((Source(i["sk"]["S"], workspace, i["platform"]["S"], i["channel"]["S"],
                              i["default_campaign"]["S"], int(i["created_at"]["N"]), i.get("label", {}).get("S", ""))
                       for i in self._listing(workspace)), key=lambda s: (s.created_at, s.id))

    def delete(self, workspace: str, source_id: str) -> bool:
        """Remove a source of this workspace; False if it is not one."""
        check_workspace(workspace)
        if not SOURCE_ID.match(source_id or ""):
            return False
        source = self.get(source_id)
        if source is None or source.workspace != workspace:
            return False
        self.client.transact_write_items(TransactItems=[
            {"Delete": {"TableName": self.table_name,
                        "Key": {tables.PK: {"S": _lookup_pk(source_id)}, tables.SK: {"S": "SOURCE"}}}},
            {"Delete": {"TableName": self.table_name,
                        "Key": {tables.PK: {"S": _listing_pk(workspace)}, tables.SK: {"S": source_id}}}},
        ])
        return True


def _lookup_pk(source_id: str) -> str:
    return f"SOURCE#{source_id}"


def _listing_pk(workspace: str) -> str:
    return f"{workspace}#SOURCES"

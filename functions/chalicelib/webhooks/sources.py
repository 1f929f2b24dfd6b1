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
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import tables
from ..auth import check_workspace
from ..events import ID_PATTERN
from . import sendgrid
from .common import DEFAULT_CAMPAIGN, REFUSAL_REASONS, Defaults
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


#: Health counters on the listing item (one UpdateItem per request; attribute names below).
_H = "h_"
_UNMAPPED = "h_unmapped:"
MAX_UNMAPPED_TYPES = 30


@dataclass(frozen=True)
class Outcome:
    """What one request to a source came to, for its health counters."""

    accepted: int = 0           # events counted
    rejected: int = 0           # events refused by validation (the request itself was authentic)
    unmapped: tuple[str, ...] = ()  # platform event types acknowledged without counting
    replayed: bool = False      # a redelivery answered from the ledger
    refused: str = ""           # a REFUSAL_REASONS entry when the request was refused


def health_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The listing item's counters as the API shows them (zeros until the first request)."""
    def n(name: str) -> int:
        return int(item.get(_H + name, {}).get("N", "0"))

    def at(name: str) -> int | None:
        raw = item.get(_H + name, {}).get("N")
        return int(raw) if raw is not None else None
    unmapped = {k[len(_UNMAPPED):]: int(v["N"]) for k, v in item.items() if k.startswith(_UNMAPPED)}
    return {"requests": n("requests"), "last_received_at": at("last_received_at"),
            "last_accepted_at": at("last_accepted_at"), "accepted_requests": n("accepted_requests"),
            "events_accepted": n("events_accepted"), "events_rejected": n("events_rejected"),
            "redeliveries": n("redeliveries"),
            "refused": {reason: n(f"refused_{reason}") for reason in REFUSAL_REASONS},
            "last_refused_at": at("last_refused_at"), "last_refusal": item.get(_H + "last_refusal", {}).get("S"),
            # the last request's fate: "accepted" (authentic, whatever it carried) or a refusal reason
            "last_outcome": item.get(_H + "last_outcome", {}).get("S"),
            "unmapped": dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))),
            "tests_sent": n("tests_sent")}


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
    health: Mapping[str, Any] | None = None  # from the listing item (list() only)

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
        if self.health is not None:
            out["health"] = dict(self.health)
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
                              i["default_campaign"]["S"], int(i["created_at"]["N"]), i.get("label", {}).get("S", ""),
                              health=health_of(i))
                       for i in self._listing(workspace)), key=lambda s: (s.created_at, s.id))

    def record(self, source: Source, outcome: Outcome, now: float, test: bool = False) -> None:
        """Count one request on the source's listing item: a single UpdateItem of a
        small item (1 write unit), conditional on the source still existing. The
        unmapped event types are counters of their own (a platform has a handful)."""
        names: dict[str, str] = {"#requests": _H + "requests", "#last": _H + "last_received_at",
                                 "#outcome": _H + "last_outcome"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":now": {"N": str(int(now))},
                                  ":outcome": {"S": outcome.refused or "accepted"}}
        adds = ["#requests :one"]
        sets = ["#last = :now", "#outcome = :outcome"]

        def add(name: str, value: int) -> None:
            if value:
                key = f"#a{len(names)}"
                names[key] = name
                values[f":v{len(values)}"] = {"N": str(value)}
                adds.append(f"{key} :v{len(values) - 1}")
        if outcome.refused:
            add(_H + f"refused_{outcome.refused}", 1)
            names["#lr"], names["#lrr"] = _H + "last_refused_at", _H + "last_refusal"
            values[":reason"] = {"S": outcome.refused}
            sets += ["#lr = :now", "#lrr = :reason"]
        else:
            add(_H + "accepted_requests", 1)
            add(_H + "events_accepted", outcome.accepted)
            add(_H + "events_rejected", outcome.rejected)
            add(_H + "redeliveries", int(outcome.replayed))
            if outcome.accepted:
                names["#la"] = _H + "last_accepted_at"
                sets.append("#la = :now")
            for kind, count in sorted(Counter(outcome.unmapped).items())[:MAX_UNMAPPED_TYPES]:
                add(_UNMAPPED + kind[:60], count)
        add(_H + "tests_sent", int(test))
        self.client.update_item(
            TableName=self.table_name, Key={tables.PK: {"S": _listing_pk(source.workspace)}, tables.SK: {"S": source.id}},
            UpdateExpression="ADD " + ", ".join(adds) + " SET " + ", ".join(sets),
            ConditionExpression="attribute_exists(pk)", ExpressionAttributeNames=names,
            ExpressionAttributeValues=values)

    def find(self, workspace: str, source_id: str) -> Source | None:
        """A source of this workspace with its credentials (test sends), or None."""
        check_workspace(workspace)
        source = self.get(source_id)
        return source if source is not None and source.workspace == workspace else None

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

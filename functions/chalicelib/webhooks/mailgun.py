"""Mailgun webhooks: one event per POST, authenticated by an HMAC of timestamp + token.

The signature does not cover the body, so a captured request could carry
another event: the timestamp must be fresh and a token is bound to the first
event it came with (a DynamoDB item with a TTL, written conditionally).
A redelivery of that same event with that same token stays welcome.
"""
from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import parse_qsl

from botocore.exceptions import ClientError

from .. import tables
from .common import (META_KEYS, Defaults, Mapped, WebhookRequest, bad_request, base_event, epoch_seconds, forbidden,
                     iso_from_epoch, redact, stable_id)

#: Mailgun's own sample refuses 15 s of skew; queues and retries need more.
TOLERANCE_SECONDS = 300
#: "a randomly generated string with length 50" (Mailgun, Securing Webhooks): 50 hex characters.
TOKEN = re.compile(r"[0-9a-fA-F]{50}")
_PERMANENT_EXCLUDED = {"suppress-bounce", "suppress-unsubscribe", "suppress-complaint"}


def parse(request: WebhookRequest) -> dict[str, Any]:
    """JSON (current webhooks) or form/multipart (legacy webhooks, same three signature fields)."""
    ctype = request.header("content-type").lower()
    if ctype.startswith("application/json") or not ctype:
        try:
            doc = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("the body is not valid JSON") from None
    elif ctype.startswith("application/x-www-form-urlencoded"):
        doc = _legacy(dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)))
    elif ctype.startswith("multipart/form-data"):
        doc = _legacy(_multipart(request.body, request.header("content-type")))
    else:
        raise bad_request("Mailgun posts JSON, form or multipart bodies")
    if not isinstance(doc, dict) or not isinstance(doc.get("signature"), dict) \
            or not isinstance(doc.get("event-data"), dict):
        raise bad_request('a Mailgun body is {"signature": {...}, "event-data": {...}}')
    return doc


def _multipart(body: bytes, content_type: str) -> dict[str, str]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if name and not part.get_filename():
            fields[str(name)] = part.get_content() if part.get_content_maintype() == "text" else ""
    return fields


def _legacy(fields: Mapping[str, str]) -> dict[str, Any]:
    """Legacy form webhooks: event fields at the top level, variables as their own fields."""
    signature = {k: fields.get(k, "") for k in ("timestamp", "token", "signature")}
    data: dict[str, Any] = {k: v for k, v in fields.items() if k not in signature}
    if "event" in data:
        # legacy events carry no event id: the message id + event (+ the token for opens and
        # clicks, which may repeat for one message) identifies them
        message_id = data.get("Message-Id") or data.get("message-id")
        if message_id:
            repeatable = data["event"] in ("opened", "clicked")
            data.setdefault("id", f"{message_id}:{data['event']}" + (f":{signature['token']}" if repeatable else ""))
        data["user-variables"] = {k: fields[k] for k in META_KEYS if k in fields}
        if "timestamp" not in data:
            data["timestamp"] = signature["timestamp"]
    return {"signature": signature, "event-data": data}


def verify(doc: Mapping[str, Any], credentials: Mapping[str, Any], now: float,
           tolerance: float = TOLERANCE_SECONDS) -> None:
    """hex HMAC-SHA256(signing key, timestamp + token), timestamp fresh; else 401.

    The signed bytes join timestamp and token with no separator, so both must
    have one spelling only: whole epoch seconds, and a token of exactly 50 hex
    characters (Mailgun's documented form). Otherwise "1700000000" + "e0ab…"
    and "1700000000e0" + "ab…" sign the same bytes with the same number and
    a token never seen before."""
    sig = doc["signature"]
    timestamp, token, signature = (str(sig.get(k) or "") for k in ("timestamp", "token", "signature"))
    if not (timestamp and token and signature):
        raise forbidden("missing Mailgun signature fields", "malformed")
    sent_at = epoch_seconds(timestamp, "Mailgun")
    if not TOKEN.fullmatch(token):
        raise forbidden("Mailgun token is not 50 hexadecimal characters", "malformed")
    if abs(now - sent_at) > tolerance:
        raise forbidden("Mailgun timestamp outside the allowed window", "stale_timestamp")
    key = str(credentials.get("signing_key") or "").encode()
    expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not key or not hmac.compare_digest(expected, signature.lower()):
        raise forbidden("Mailgun signature does not match")


class TokenLedger:
    """Used Mailgun tokens, per workspace, kept a little longer than the timestamp tolerance."""

    def __init__(self, client: Any, table_name: str, ttl_seconds: int = 2 * TOLERANCE_SECONDS + 3600) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds

    def use(self, workspace: str, token: str, event_key: str, now: float) -> None:
        """Bind the token to this event; 401 if it already came with another one."""
        digest = hashlib.sha256(token.encode()).hexdigest()[:40]
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={tables.PK: {"S": f"{workspace}#MGTOKEN#{digest}"}, tables.SK: {"S": "TOKEN"},
                      "event": {"S": event_key}, tables.TTL_ATTRIBUTE: {"N": str(int(now) + self.ttl_seconds)}},
                ConditionExpression="attribute_not_exists(pk) OR #e = :e",
                ExpressionAttributeNames={"#e": "event"}, ExpressionAttributeValues={":e": {"S": event_key}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise forbidden("Mailgun token already used", "replay") from None
            raise


def event_key(data: Mapping[str, Any]) -> str:
    """event-data.id is unique only within a day: the day of its timestamp makes it unique."""
    try:
        day = datetime.fromtimestamp(float(data.get("timestamp")), tz=timezone.utc).strftime("%Y%m%d")  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        day = "nodate"
    raw_id = data.get("id")
    return f"{raw_id}:{day}" if isinstance(raw_id, str) and raw_id else stable_id("mg", data)


def _recipient(data: Mapping[str, Any]) -> dict[str, str]:
    """`recipient` (the address: hashed into a profile key, then reduced to its domain),
    else `recipient_domain` alone: a domain is no person, so it makes no profile key."""
    value = data.get("recipient")
    if isinstance(value, str) and value:
        return {"recipient": value}
    headers = (data.get("message") or {}).get("headers") or {}
    to = headers.get("to") if isinstance(headers, dict) else None
    if isinstance(to, str) and "@" in to:
        return {"recipient": to.split(",")[0].strip().strip("<>").rsplit("<", 1)[-1].strip(">")}
    domain = data.get("recipient-domain")
    return {"recipient_domain": domain} if isinstance(domain, str) and domain else {}


def _message_id(data: Mapping[str, Any]) -> str | None:
    headers = (data.get("message") or {}).get("headers") or {}
    value = headers.get("message-id") if isinstance(headers, dict) else None
    return value if isinstance(value, str) and value else None


def _error_type(status: Mapping[str, Any]) -> str | None:
    code = str(status.get("code") or "")
    text = f"{status.get('enhanced-code') or ''} {status.get('message') or ''} {status.get('description') or ''}".lower()
    if "5.1.1" in text or "does not exist" in text or "user unknown" in text:
        return "user_unknown"
    if code == "498" or "no mx" in text:
        return "invalid_domain"
    if "5.2.2" in text or "4.2.2" in text or "mailbox full" in text or "quota" in text:
        return "mailbox_full"
    if "5.7." in text or "4.7." in text:
        return "refused"
    return None


def map_events(doc: Mapping[str, Any], defaults: Defaults, now: float) -> Mapped:
    """user-variables carry campaign_id / profile_id / execution_id / variant."""
    data = doc["event-data"]
    kind = str(data.get("event") or "").lower()
    key = event_key(data)
    mapped = Mapped(ids=[key])
    meta = data.get("user-variables") if isinstance(data.get("user-variables"), dict) else {}
    try:
        timestamp = iso_from_epoch(float(data.get("timestamp")))
    except (TypeError, ValueError):
        timestamp = iso_from_epoch(now)
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    reason = redact(status.get("description") or status.get("message")) or data.get("reason")
    common = dict(event_id=key, timestamp=timestamp, meta=meta, defaults=defaults, message_id=_message_id(data),
                  **_recipient(data))
    if kind == "accepted":
        event = base_event(etype="sent", **common)
    elif kind == "delivered":
        event = base_event(etype="delivered", **common)
    elif kind == "failed" and data.get("severity") == "temporary":
        event = base_event(etype="retry", reason=reason, **common)
    elif kind == "failed" and data.get("reason") in _PERMANENT_EXCLUDED:
        event = base_event(etype="excluded", reason=reason or data.get("reason"), **common)
    elif kind == "failed":
        event = base_event(etype="bounce", bounce_type="hard", reason=reason, error_type=_error_type(status), **common)
    elif kind == "bounced":  # legacy webhooks
        text = redact(data.get("error") or data.get("notification")) or "bounced"
        event = base_event(etype="bounce", bounce_type="hard", reason=text,
                           error_type=_error_type({"code": data.get("code"), "message": text}), **common)
    elif kind == "dropped":  # legacy webhooks: suppressed or given up
        event = base_event(etype="excluded", reason=redact(data.get("description")) or data.get("reason"), **common)
    elif kind == "rejected":
        text = redact((data.get("reject") or {}).get("reason")) or "rejected"
        event = base_event(etype="error", reason=text, error_type="refused", **common)
    elif kind in ("opened", "clicked"):
        bot = (data.get("client-info") or {}).get("bot") if isinstance(data.get("client-info"), dict) else None
        if kind == "opened":
            event = base_event(etype="open", machine=bool(bot), **common)
        else:
            url = data.get("url") if isinstance(data.get("url"), str) else None
            event = base_event(etype="click", url=url, **common)
    elif kind == "unsubscribed":
        event = base_event(etype="unsubscribe", **common)
    elif kind == "complained":
        event = base_event(etype="spam_complaint", **common)
    else:  # stored (inbound), list events, anything new
        mapped.unmapped.append(f"mailgun:{kind or 'unknown'}"[:60])
        return mapped
    mapped.events.append(event)
    return mapped

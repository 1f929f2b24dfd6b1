"""Postmark webhooks: one JSON record per POST, no signature.

Postmark authenticates only with HTTP basic auth written into the webhook
URL (https://user:pass@host/...), so the source keeps a username/password
pair and compares both in constant time.
"""
from __future__ import annotations

import base64
import hmac
from typing import Any, Mapping

from .common import (Defaults, Mapped, WebhookRequest, bad_request, base_event, forbidden, iso_from_epoch, parse_json,
                     redact, stable_id)

_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Unsubscribe", "SpamNotification"}
_SOFT = {"SoftBounce", "Transient", "DnsError", "AutoResponder", "ChallengeVerification", "Blocked",
         "SMTPApiError", "InboundError", "DMARCPolicy", "TemplateRenderingFailed"}
_ERROR_TYPES = {"BadEmailAddress": "user_unknown", "HardBounce": "user_unknown", "DnsError": "invalid_domain",
                "Blocked": "refused", "DMARCPolicy": "refused", "SoftBounce": "mailbox_full"}


def verify(request: WebhookRequest, credentials: Mapping[str, Any]) -> None:
    """Basic auth equal to the source's username and password; else 401."""
    header = request.header("authorization")
    if not header.lower().startswith("basic "):
        raise forbidden("missing basic auth (put user:password in the Postmark webhook URL)")
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise forbidden("unreadable basic auth") from None
    ok_user = hmac.compare_digest(user.encode(), str(credentials.get("username") or "").encode())
    ok_pass = hmac.compare_digest(password.encode(), str(credentials.get("password") or "").encode())
    if not (ok_user and ok_pass and credentials.get("password")):
        raise forbidden("basic auth does not match")


def parse(request: WebhookRequest) -> dict[str, Any]:
    doc = parse_json(request.body)
    if not isinstance(doc, dict) or not isinstance(doc.get("RecordType"), str):
        raise bad_request("a Postmark webhook body is a JSON object with RecordType")
    return doc


def map_events(doc: Mapping[str, Any], defaults: Defaults, now: float) -> Mapped:
    """Metadata carries campaign_id / profile_id / execution_id; only bounces have an ID."""
    kind = doc["RecordType"]
    recipient = doc.get("Recipient") or doc.get("Email")
    time = doc.get("DeliveredAt") or doc.get("BouncedAt") or doc.get("ReceivedAt") or doc.get("ChangedAt")
    raw_id = doc.get("ID")
    event_id = (f"pm-{kind}-{raw_id}" if raw_id else
                stable_id("pm", kind, doc.get("MessageID"), recipient, time, doc.get("OriginalLink")))
    mapped = Mapped(ids=[event_id])
    meta = doc.get("Metadata") if isinstance(doc.get("Metadata"), dict) else {}
    common = dict(event_id=event_id, timestamp=str(time or "") or iso_from_epoch(now), meta=meta, defaults=defaults,
                  recipient=recipient if isinstance(recipient, str) else None,
                  message_id=doc.get("MessageID") if isinstance(doc.get("MessageID"), str) else None)
    if kind == "Delivery":
        event = base_event(etype="delivered", **common)
    elif kind == "Bounce":
        btype = str(doc.get("Type") or "")
        bounce_type = "hard" if btype in _HARD else "soft" if btype in _SOFT else "ignored"
        event = base_event(etype="bounce", bounce_type=bounce_type, reason=redact(doc.get("Description")) or btype,
                           error_type=_ERROR_TYPES.get(btype), **common)
    elif kind == "SpamComplaint":
        event = base_event(etype="spam_complaint", **common)
    elif kind == "Open":
        event = base_event(etype="open", machine=False, **common)
    elif kind == "Click":
        url = doc.get("OriginalLink") if isinstance(doc.get("OriginalLink"), str) else None
        event = base_event(etype="click", url=url, **common)
    elif kind == "SubscriptionChange" and doc.get("SuppressSending"):
        event = base_event(etype="unsubscribe", **common)
    else:  # SubscriptionChange back on, Inbound, anything new
        mapped.unmapped.append(f"postmark:{kind}"[:60])
        return mapped
    mapped.events.append(event)
    return mapped

"""SendGrid Event Webhook: signed batches of JSON events.

SendGrid signs ``timestamp header + raw body bytes`` with ECDSA P-256/SHA-256;
the raw bytes matter (real bodies use CRLF separators), so nothing here
re-serialises before verifying. Batches come every ~30 s, and any non-2xx is
retried for 24 h, so authentic events we cannot map are acknowledged.
"""
from __future__ import annotations

import base64
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .common import (Defaults, Mapped, WebhookRequest, bad_request, base_event, epoch_seconds, forbidden,
                     iso_from_epoch, parse_json, redact, stable_id)

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
#: No tolerance is documented; ten minutes covers clock skew and slow queues.
TOLERANCE_SECONDS = 600
MAX_EVENTS = 5000


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The key as SendGrid shows it (base64 DER SubjectPublicKeyInfo) or as PEM."""
    text = (text or "").strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, TypeError):
        raise ValueError("public_key: base64 DER or PEM of SendGrid's ECDSA verification key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("public_key: not an ECDSA key")
    return key


def verify(request: WebhookRequest, credentials: Mapping[str, Any],
           tolerance: float = TOLERANCE_SECONDS) -> None:
    """ECDSA over timestamp + raw body, timestamp within the tolerance; else 401."""
    signature, timestamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise forbidden("missing SendGrid signature headers", "malformed")
    # whole seconds only: the signed bytes are timestamp + body with no separator
    sent_at = epoch_seconds(timestamp, "SendGrid")
    if abs(request.now - sent_at) > tolerance:
        raise forbidden("SendGrid timestamp outside the allowed window", "stale_timestamp")
    try:
        key = load_public_key(str(credentials.get("public_key") or ""))
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + request.body,
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise forbidden("SendGrid signature does not match") from None


def parse(request: WebhookRequest) -> list[dict[str, Any]]:
    doc = parse_json(request.body)
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
        raise bad_request("a SendGrid body is a JSON array of event objects")
    if len(doc) > MAX_EVENTS:
        raise bad_request(f"{len(doc)} events is over the {MAX_EVENTS}-event limit per request")
    return doc


_BOUNCE_ERROR = {"invalid address": "user_unknown", "reputation": "refused", "content": "refused",
                 "frequency or volume too high": "refused", "technical failure": "unreachable"}


def _error_type(event: Mapping[str, Any]) -> str | None:
    status = str(event.get("status") or "")
    if status.startswith("5.1.1"):
        return "user_unknown"
    if status.startswith(("5.2.2", "4.2.2")):
        return "mailbox_full"
    if status.startswith("5.2.1"):
        return "account_disabled"
    return _BOUNCE_ERROR.get(str(event.get("bounce_classification") or "").lower())


def _timestamp(event: Mapping[str, Any], now: float) -> str:
    try:
        return iso_from_epoch(float(event.get("timestamp")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return iso_from_epoch(now)


def _message_id(event: dict[str, Any]) -> str | None:
    """sg_message_id is `<x-message-id>.<filter>.<recipient part>`: per recipient already."""
    value = event.get("sg_message_id") or event.get("smtp-id")
    return value if isinstance(value, str) and value else None


def map_events(events: list[dict[str, Any]], defaults: Defaults, now: float) -> Mapped:
    """custom_args arrive as top-level keys of each event (campaign_id, profile_id, execution_id)."""
    mapped = Mapped()
    for event in events:
        kind = str(event.get("event") or "").lower()
        event_id = str(event.get("sg_event_id") or "") or stable_id("sg", event)
        mapped.ids.append(event_id)
        common = dict(event_id=event_id, timestamp=_timestamp(event, now), meta=event, defaults=defaults,
                      message_id=_message_id(event))
        recipient = event.get("email") if isinstance(event.get("email"), str) else None
        if kind == "processed":
            out = base_event(etype="sent", recipient=recipient, **common)
        elif kind == "delivered":
            out = base_event(etype="delivered", recipient=recipient, **common)
        elif kind == "deferred":
            out = base_event(etype="retry", recipient=recipient, reason=redact(event.get("response")), **common)
        elif kind == "bounce":
            bounce_type = "soft" if str(event.get("type") or "").lower() == "blocked" else "hard"
            out = base_event(etype="bounce", recipient=recipient, bounce_type=bounce_type,
                             reason=redact(event.get("reason")) or event.get("bounce_classification"),
                             error_type=_error_type(event), **common)
        elif kind == "dropped":
            out = base_event(etype="excluded", recipient=recipient, reason=redact(event.get("reason")), **common)
        elif kind == "open":
            out = base_event(etype="open", recipient=recipient, machine=bool(event.get("sg_machine_open")), **common)
        elif kind == "click":
            url = event.get("url") if isinstance(event.get("url"), str) else None
            out = base_event(etype="click", recipient=recipient, url=url, **common)
        elif kind == "spamreport":
            out = base_event(etype="spam_complaint", recipient=recipient, **common)
        elif kind in ("unsubscribe", "group_unsubscribe"):
            out = base_event(etype="unsubscribe", recipient=recipient, **common)
        else:  # group_resubscribe and anything SendGrid adds later
            mapped.unmapped.append(f"sendgrid:{kind or 'unknown'}"[:60])
            continue
        mapped.events.append(out)
    return mapped

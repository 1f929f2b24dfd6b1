"""Amazon SES events delivered by SNS over HTTPS.

SNS signs its JSON envelope (SignatureVersion 1 = SHA1withRSA, 2 =
SHA256withRSA) with a certificate it serves from an ``sns.<region>.amazonaws.com``
host. A valid signature alone proves only that *some* topic sent it, so the
topic must also be one the source allows. Certificates are cached per URL;
the fetcher is injected so tests (and this network-less machine) never fetch.
"""
from __future__ import annotations

import base64
import json
import re
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .common import Defaults, Mapped, WebhookError, WebhookRequest, bad_request, base_event, forbidden, redact

#: AWS's own validators accept exactly these hosts (aws-php-sns-message-validator).
SNS_HOST = re.compile(r"^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERT_BYTES = 64 * 1024

#: url -> bytes; raises OSError (or anything) on failure. urllib by default, a fake in tests.
Fetcher = Callable[[str], bytes]


def urllib_fetch(url: str) -> bytes:
    """GET a certificate or a SubscribeURL (the only outbound calls webhooks make)."""
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - scheme/host checked by the caller
        return response.read(MAX_CERT_BYTES + 1)[:MAX_CERT_BYTES + 1]


def sns_url_allowed(url: str, allow_loopback: bool = False, pem: bool = True) -> bool:
    """https on an SNS host under amazonaws.com (a .pem path for certificates).
    ``allow_loopback`` admits http://127.0.0.1 for local mode's replay script only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if pem and not parts.path.endswith(".pem"):
        return False
    if parts.scheme == "https" and parts.hostname and SNS_HOST.match(parts.hostname) and parts.port in (None, 443):
        return not parts.username and not parts.password
    return allow_loopback and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


class CertificateCache:
    """SNS signing certificates by URL: fetched once per process, bounded."""

    def __init__(self, fetch: Fetcher = urllib_fetch, size: int = 32) -> None:
        self.fetch = fetch
        self.size = size
        self._keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self._lock = threading.Lock()

    def public_key(self, url: str, now: float) -> rsa.RSAPublicKey:
        with self._lock:
            if url in self._keys:
                self._keys.move_to_end(url)
                return self._keys[url]
        try:
            pem = self.fetch(url)
        except Exception as exc:  # noqa: BLE001 - any fetch failure is transient for SNS
            raise WebhookError(503, "unavailable", "could not fetch the SNS signing certificate; retry") from exc
        if len(pem) > MAX_CERT_BYTES:
            raise forbidden("SNS signing certificate too large")
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise forbidden("SNS signing certificate unreadable") from None
        moment = datetime.fromtimestamp(now, tz=timezone.utc)
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            raise forbidden("SNS signing certificate expired or not yet valid")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise forbidden("SNS signing certificate is not RSA")
        with self._lock:
            self._keys[url] = key
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)
        return key


def string_to_sign(envelope: Mapping[str, Any]) -> bytes:
    """name\\nvalue\\n for the signed keys of this message type, in byte order."""
    keys = NOTIFICATION_KEYS if envelope.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    out = []
    for key in keys:
        if key in envelope and envelope[key] is not None:
            out.append(f"{key}\n{envelope[key]}\n")
        elif key != "Subject":
            raise forbidden(f"SNS message lacks the signed field {key}")
    return "".join(out).encode()


def parse(request: WebhookRequest) -> dict[str, Any]:
    if request.header("x-amz-sns-rawdelivery").lower() == "true":
        raise bad_request("SNS raw message delivery carries no signature: turn it off on the subscription")
    try:
        envelope = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the body is not an SNS JSON message") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("Type"), str):
        raise bad_request("the body is not an SNS message (no Type)")
    return envelope


def verify(envelope: Mapping[str, Any], credentials: Mapping[str, Any], certificates: CertificateCache,
           now: float, allow_loopback: bool = False) -> None:
    """Topic allow-listed, certificate from SNS, signature v1 or v2 valid; else 401."""
    if envelope.get("TopicArn") not in set(credentials.get("topic_arns") or ()):
        raise forbidden("SNS topic not allowed for this source")
    cert_url = envelope.get("SigningCertURL") or envelope.get("SigningCertUrl") or ""
    if not isinstance(cert_url, str) or not sns_url_allowed(cert_url, allow_loopback):
        raise forbidden("SNS certificate URL is not an https URL on an sns.<region>.amazonaws.com host")
    algorithm = HASHES.get(str(envelope.get("SignatureVersion")))
    if algorithm is None:
        raise forbidden("SNS SignatureVersion must be 1 or 2")
    try:
        signature = base64.b64decode(str(envelope.get("Signature") or ""), validate=True)
    except ValueError:
        raise forbidden("SNS signature is not base64") from None
    key = certificates.public_key(cert_url, now)
    try:
        key.verify(signature, string_to_sign(envelope), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise forbidden("SNS signature does not match") from None


def confirm_subscription(envelope: Mapping[str, Any], fetch: Fetcher, allow_loopback: bool = False) -> None:
    """Confirm an allowed topic's subscription by GETting its SubscribeURL (host checked: no SSRF)."""
    url = envelope.get("SubscribeURL") or ""
    if not isinstance(url, str) or not sns_url_allowed(url, allow_loopback, pem=False):
        raise forbidden("SubscribeURL is not an https URL on an sns.<region>.amazonaws.com host")
    try:
        fetch(url)
    except Exception as exc:  # noqa: BLE001 - SNS retries the confirmation on a 5xx
        raise WebhookError(503, "unavailable", "could not confirm the SNS subscription; retry") from exc


# --- mapping ------------------------------------------------------------------

_SUPPRESSED = {"Suppressed", "OnAccountSuppressionList", "OnTenantSuppressionList"}
_DELAY_UNREACHABLE = {"IPFailure", "RecipientServerError", "TransientCommunicationFailure"}


def _tags(mail: Mapping[str, Any]) -> dict[str, Any]:
    """Message tags (event publishing), else the X-SES-MESSAGE-TAGS header (classic notifications)."""
    tags = dict(mail.get("tags") or {})
    for header in mail.get("headers") or ():
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "x-ses-message-tags":
            for pair in str(header.get("value", "")).split(","):
                name, eq, value = pair.strip().partition("=")
                if eq and name.strip() not in tags:
                    tags[name.strip()] = value.strip()
    return tags


def _error_type(status: str | None, diagnostic: str | None, subtype: str | None) -> str | None:
    text = f"{status or ''} {diagnostic or ''}".lower()
    if subtype == "NoEmail" or "5.1.1" in text:
        return "user_unknown"
    if "5.1.2" in text or "no mx" in text or "host not found" in text:
        return "invalid_domain"
    if subtype == "MailboxFull" or "5.2.2" in text or "4.2.2" in text:
        return "mailbox_full"
    if subtype in ("ContentRejected", "AttachmentRejected"):
        return "refused"
    return None


def map_events(envelope: Mapping[str, Any], defaults: Defaults) -> Mapped:
    """One SNS Notification → our events: several recipients count once each."""
    message_id = str(envelope.get("MessageId") or "")
    mapped = Mapped(ids=[message_id])
    try:
        record = json.loads(envelope.get("Message") or "")
    except (ValueError, TypeError):
        record = None  # e.g. "Successfully validated SNS topic for Amazon SES event publishing."
    if not isinstance(record, dict) or not isinstance(record.get("mail"), dict):
        mapped.unmapped.append("sns:text-message")
        return mapped
    kind = str(record.get("eventType") or record.get("notificationType") or "")
    mail = record["mail"]
    meta = _tags(mail)
    destination = [d for d in mail.get("destination") or () if isinstance(d, str)]
    n = 0

    def add(etype: str, timestamp: Any, recipient: str | None = None, **fields: Any) -> None:
        nonlocal n
        when = timestamp or mail.get("timestamp") or envelope.get("Timestamp")  # some records carry no time
        mapped.events.append(base_event(f"{message_id}:{n}", str(when or ""), etype, meta, defaults,
                                        recipient=recipient, message_id=mail.get("messageId"), **fields))
        n += 1

    if kind == "Send":
        for r in destination:
            add("sent", mail.get("timestamp"), r)
    elif kind == "Delivery":
        d = record.get("delivery") or {}
        for r in d.get("recipients") or destination:
            add("delivered", d.get("timestamp"), r)
    elif kind == "Bounce":
        b = record.get("bounce") or {}
        btype, subtype = b.get("bounceType"), b.get("bounceSubType")
        for r in b.get("bouncedRecipients") or ():
            diagnostic = redact(r.get("diagnosticCode"))
            if btype == "Permanent" and subtype in _SUPPRESSED:
                add("excluded", b.get("timestamp"), r.get("emailAddress"), reason="suppressed")
                continue
            bounce_type = {"Permanent": "hard", "Transient": "soft"}.get(btype, "ignored")
            add("bounce", b.get("timestamp"), r.get("emailAddress"), bounce_type=bounce_type,
                reason=diagnostic or f"{btype}/{subtype}",
                error_type=_error_type(r.get("status"), diagnostic, subtype))
    elif kind == "Complaint":
        c = record.get("complaint") or {}
        for r in c.get("complainedRecipients") or ():
            add("spam_complaint", c.get("timestamp"), r.get("emailAddress"))
    elif kind == "DeliveryDelay":
        d = record.get("deliveryDelay") or {}
        for r in d.get("delayedRecipients") or ():
            add("retry", d.get("timestamp"), r.get("emailAddress"),
                reason=redact(r.get("diagnosticCode")) or d.get("delayType"))
    elif kind == "Reject":
        reason = (record.get("reject") or {}).get("reason") or "rejected"
        for r in destination:
            add("error", mail.get("timestamp"), r, reason=f"Rejected: {reason}", error_type="refused")
    elif kind == "Rendering Failure":
        message = redact((record.get("failure") or {}).get("errorMessage")) or "rendering failure"
        for r in destination:
            add("error", mail.get("timestamp"), r, reason=f"Rendering failure: {message}")
    elif kind in ("Open", "Click"):
        # per message, not per recipient: counted once, with the domain when there is one recipient
        data = record.get(kind.lower()) or {}
        recipient = destination[0] if len(destination) == 1 else None
        if kind == "Open":
            add("open", data.get("timestamp"), recipient)
        else:
            add("click", data.get("timestamp"), recipient, url=data.get("link"))
    elif kind == "Subscription":
        s = record.get("subscription") or {}
        prefs = s.get("newTopicPreferences") or {}
        opted_out = prefs.get("unsubscribeAll") or any(
            str(t.get("subscriptionStatus", "")).lower() == "optout" for t in prefs.get("topicSubscriptionStatus") or ())
        if opted_out:
            recipient = destination[0] if len(destination) == 1 else None
            add("unsubscribe", s.get("timestamp"), recipient)
        else:
            mapped.unmapped.append("ses:Subscription(opt-in)")
    else:
        mapped.unmapped.append(f"ses:{kind or 'unknown'}"[:60])
    if not mapped.events and not mapped.unmapped:
        mapped.unmapped.append(f"ses:{kind}(no recipients)")
    return mapped

"""A signed sample request for a source, sent through the real verification path.

The Admin page's "Send a test event" builds what the platform would send —
signed with the source's own credentials — and hands it to
WebhookService.handle like any POST: a wrong credential fails here exactly
as it would for the platform, and the event is counted (campaign
TEST_CAMPAIGN, so real campaigns stay exact) and shows in the source's health.

SES (AWS's SNS key) and SendGrid (SendGrid's private key) sign with keys we
never hold: for those the platform's own test is the way (docs/webhooks.md).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timezone
from urllib.parse import urlencode

from .common import WebhookRequest
from .sources import Source, webhook_url
from .twilio import signature_of

TEST_CAMPAIGN = "webhook-test"
TEST_RECIPIENT = "test@example.com"
SIGNED_BY_PLATFORM = {"ses": "send to success@simulator.amazonses.com through the configuration set",
                      "sendgrid": "use \u201cTest Your Integration\u201d in SendGrid's Event Webhook settings"}


class NotTestable(ValueError):
    """The platform signs with a key only it holds."""


def sample_request(source: Source, base_url: str, now: float) -> WebhookRequest:
    """One "delivered" event for TEST_CAMPAIGN, signed as the platform signs it."""
    if source.platform in SIGNED_BY_PLATFORM:
        raise NotTestable(f"{source.platform} signs with its own key: {SIGNED_BY_PLATFORM[source.platform]}")
    creds, event_id = source.credentials, "test-" + secrets.token_hex(8)
    iso = datetime.fromtimestamp(now, timezone.utc).isoformat()
    if source.platform == "mailgun":
        timestamp, token = str(int(now)), secrets.token_hex(25)
        signature = hmac.new(str(creds.get("signing_key", "")).encode(), (timestamp + token).encode(),
                             hashlib.sha256).hexdigest()
        doc = {"signature": {"timestamp": timestamp, "token": token, "signature": signature},
               "event-data": {"event": "delivered", "id": event_id, "timestamp": now, "recipient": TEST_RECIPIENT,
                              "user-variables": {"campaign_id": TEST_CAMPAIGN}}}
        return WebhookRequest(json.dumps(doc).encode(), {"content-type": "application/json"}, now=now)
    if source.platform == "twilio":
        query = {"campaign_id": [TEST_CAMPAIGN]}
        url = webhook_url(base_url, "twilio", source.id)
        params = [("MessageSid", "SM" + secrets.token_hex(16)), ("MessageStatus", "delivered"),
                  ("To", "+15005550006"), ("AccountSid", "AC" + "0" * 32)]
        signed_url = f"{url}?{urlencode({'campaign_id': TEST_CAMPAIGN})}"
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-twilio-signature": signature_of(signed_url, params, str(creds.get("auth_token", "")))}
        return WebhookRequest(urlencode(params).encode(), headers, query, (url,), now)
    # postmark: basic auth with the source's pair
    auth = base64.b64encode(f"{creds.get('username', '')}:{creds.get('password', '')}".encode()).decode()
    record = {"RecordType": "Delivery", "MessageID": event_id, "Recipient": TEST_RECIPIENT, "DeliveredAt": iso,
              "Metadata": {"campaign_id": TEST_CAMPAIGN}}
    return WebhookRequest(json.dumps(record).encode(), {"content-type": "application/json",
                                                        "authorization": f"Basic {auth}"}, now=now)

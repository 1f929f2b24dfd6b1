"""Shared by the tests_webhooks_* modules: sources created through the API,
platform requests signed with test keys, and a fake network for SNS."""
from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.webhooks.signing import SendGridSigner, SnsSigner, basic_auth, form_body, mailgun_signature, twilio_signature

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"
HOST = "hooks.example.test"


class FakeNetwork:
    """What SNS would serve: certificates by URL; records every GET."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []
        self.fail = False

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        if self.fail:
            raise OSError("network down")
        return self.files.get(url, b"<ConfirmSubscriptionResponse/>")


class Hooks:
    """Create sources and post signed platform requests through the Chalice test client."""

    def __init__(self, api: Any, network: FakeNetwork) -> None:
        self.api = api
        self.network = network
        self.sns = SnsSigner()
        network.files[self.sns.cert_url] = self.sns.pem
        self.sendgrid = SendGridSigner()
        self.mailgun_key = "key-" + secrets.token_hex(16)
        self.twilio_token = secrets.token_hex(16)
        self.postmark = ("pm-user", secrets.token_urlsafe(12))

    def manage_key(self, workspace: str = "acme") -> str:
        return self.api.key(workspace, ("manage",))

    def credentials(self, platform: str) -> dict[str, Any]:
        return {"ses": {"topic_arns": [TOPIC]}, "sendgrid": {"public_key": self.sendgrid.public_key},
                "mailgun": {"signing_key": self.mailgun_key}, "twilio": {"auth_token": self.twilio_token},
                "postmark": {"username": self.postmark[0], "password": self.postmark[1]}}[platform]

    def create_source(self, platform: str, workspace: str = "acme", **extra: Any) -> dict[str, Any]:
        body = {"platform": platform, "credentials": self.credentials(platform), **extra}
        r = self.api.client.http.post("/v1/sources", body=json.dumps(body), headers={
            "Authorization": f"Bearer {self.manage_key(workspace)}", "Content-Type": "application/json",
            "Host": HOST, "X-Forwarded-Proto": "https"})
        assert r.status_code == 201, r.body
        return json.loads(r.body)

    def post(self, platform: str, source_id: str, body: bytes, headers: dict[str, str], query: str = "") -> Any:
        path = f"/v1/webhooks/{platform}/{source_id}" + (f"?{query}" if query else "")
        r = self.api.client.http.post(path, body=body, headers={"Host": HOST, "X-Forwarded-Proto": "https", **headers})
        self.api.wired.pump()
        return r

    # --- one request per platform, signed -------------------------------------
    def post_sns(self, source_id: str, envelope: dict[str, Any]) -> Any:
        return self.post("ses", source_id, json.dumps(envelope).encode(),
                         {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": envelope["Type"]})

    def post_ses_record(self, source_id: str, record: dict[str, Any], version: str = "1",
                        message_id: str | None = None) -> Any:
        return self.post_sns(source_id, self.sns.notification(TOPIC, record, message_id, version))

    def post_sendgrid(self, source_id: str, events: list[dict[str, Any]], timestamp: int | None = None) -> Any:
        body = SendGridSigner.body(events)
        return self.post("sendgrid", source_id, body, self.sendgrid.headers(body, timestamp))

    def post_mailgun(self, source_id: str, event_data: dict[str, Any], signature: dict[str, str] | None = None) -> Any:
        doc = {"signature": signature or mailgun_signature(self.mailgun_key), "event-data": event_data}
        return self.post("mailgun", source_id, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def twilio_url(self, source_id: str, query: str = "") -> str:
        return f"https://{HOST}/v1/webhooks/twilio/{source_id}" + (f"?{query}" if query else "")

    def post_twilio(self, source_id: str, params: list[tuple[str, str]], query: str = "",
                    signature: str | None = None) -> Any:
        signature = signature or twilio_signature(self.twilio_token, self.twilio_url(source_id, query), params)
        return self.post("twilio", source_id, form_body(params),
                         {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}, query)

    def post_postmark(self, source_id: str, record: dict[str, Any], auth: tuple[str, str] | None = None) -> Any:
        return self.post("postmark", source_id, json.dumps(record).encode(),
                         {"Content-Type": "application/json", "Authorization": basic_auth(*(auth or self.postmark))})


@pytest.fixture
def network(monkeypatch):
    import app as app_module
    from chalicelib.webhooks.ses import CertificateCache
    net = FakeNetwork()
    monkeypatch.setattr(app_module, "sns_certificates", CertificateCache(net))
    return net


@pytest.fixture
def hooks(api, network):
    return Hooks(api, network)


def query(**params: str) -> str:
    return urlencode(params)

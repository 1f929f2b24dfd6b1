"""Sign requests the way each platform does, with local test keys.

Used by the tests and by the replay script (``python -m infra.webhooks``):
one implementation of "what SNS/SendGrid/Mailgun/Twilio/Postmark send", so
the replay a newcomer watches is exactly what the tests check.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

SNS_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SNS_SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def iso_now(now: float | None = None) -> str:
    moment = dt.datetime.now(dt.timezone.utc) if now is None else dt.datetime.fromtimestamp(now, dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SnsSigner:
    """A test SNS signing key and its self-signed certificate (CN sns.amazonaws.com)."""

    cert_url: str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    days: int = 30

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = dt.datetime.now(dt.timezone.utc)
        self.certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=self.days))
                            .sign(self.key, hashes.SHA256()))
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, envelope: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """Set SignatureVersion, SigningCertURL and Signature of an SNS message."""
        envelope = {**envelope, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        keys = SNS_NOTIFICATION_KEYS if envelope["Type"] == "Notification" else SNS_SUBSCRIPTION_KEYS
        text = "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        envelope["Signature"] = base64.b64encode(self.key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
        return envelope

    def notification(self, topic_arn: str, message: Any, message_id: str | None = None,
                     version: str = "1", now: float | None = None) -> dict[str, Any]:
        region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "eu-west-1"
        return self.sign({"Type": "Notification", "MessageId": message_id or str(uuid.uuid4()), "TopicArn": topic_arn,
                          "Message": message if isinstance(message, str) else json.dumps(message),
                          "Timestamp": iso_now(now),
                          "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"}, version)

    def subscription(self, topic_arn: str, subscribe_url: str | None = None, kind: str = "SubscriptionConfirmation",
                     version: str = "1") -> dict[str, Any]:
        region = topic_arn.split(":")[3]
        token = secrets.token_hex(32)
        return self.sign({"Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": topic_arn, "Token": token,
                          "Message": f"You have chosen to subscribe to the topic {topic_arn}.",
                          "SubscribeURL": subscribe_url or (f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription"
                                                            f"&TopicArn={topic_arn}&Token={token}"),
                          "Timestamp": iso_now()}, version)


@dataclass
class SendGridSigner:
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> str:
        """As SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(dt.datetime.now(dt.timezone.utc).timestamp()) if timestamp is None else timestamp)
        signature = self.key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": ts}

    @staticmethod
    def body(events: list[dict[str, Any]]) -> bytes:
        """Like SendGrid: one event per line, CRLF separated and terminated."""
        return ("[" + ",\r\n".join(json.dumps(e) for e in events) + "]\r\n").encode()


def mailgun_signature(signing_key: str, timestamp: int | None = None, token: str | None = None) -> dict[str, str]:
    ts = str(int(dt.datetime.now(dt.timezone.utc).timestamp()) if timestamp is None else timestamp)
    token = token or secrets.token_hex(25)
    digest = hmac.new(signing_key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": ts, "token": token, "signature": digest}


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def form_body(params: Iterable[tuple[str, str]]) -> bytes:
    return urlencode(list(params)).encode()


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

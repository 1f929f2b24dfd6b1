"""Replay the published platform samples at a running stack, signed like the platforms sign.

    python -m infra.webhooks replay --platform all --url http://127.0.0.1:8000 --key $LIVEREPORT_DEV_KEY

With a manage key (the dev key of `make run` has it) the script uses one
source per platform, prints its webhook URL, and posts every sample with
fresh times and ids to that URL. The sources are reused from run to run:
each is found by its label ("replay <platform> <key fingerprint> <campaign>")
and its credentials are derived from the key, so a second run adds no source. For SES it serves
its test SNS certificate itself on 127.0.0.1, which the API accepts only in
local mode (AWS_ENDPOINT_URL on this machine). The events land in the key's
workspace under --campaign (default: webhook-replay), so they show on the
dashboard within seconds.

Existing sources (e.g. created with your own Mailgun key) can be driven with
--source ID --secret SECRET (mailgun: signing key; twilio: auth token;
postmark: user:password).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from . import samples
from .signing import SendGridSigner, SnsSigner, basic_auth, form_body, mailgun_signature, twilio_signature

PLATFORMS = ("ses", "sendgrid", "mailgun", "twilio", "postmark")


def http_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


class CertServer:
    """Serves the test SNS certificate and answers SubscribeURL GETs, on 127.0.0.1."""

    def __init__(self, signer_factory: Any) -> None:
        owner = self
        self.confirmed = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = owner.signer.pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                if not self.path.endswith(".pem"):
                    owner.confirmed += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{port}"
        self.signer: SnsSigner = signer_factory(f"{self.base}/SimpleNotificationService-local.pem")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def http_get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, method="GET", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


#: The order of P-256: a derived private scalar must lie in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class Replay:
    def __init__(self, api: str, key: str | None, campaign: str) -> None:
        self.api = api.rstrip("/")
        self.key = key
        self.campaign = campaign
        self.run = secrets.token_hex(3)

    def secret(self, platform: str) -> str:
        """A stable test secret per (key, platform): what lets a later run reuse the source."""
        if not self.key:
            raise SystemExit("--key (a manage key, e.g. LIVEREPORT_DEV_KEY) is needed to create sources")
        return hmac.new(self.key.encode(), f"livereport-replay:{platform}".encode(), hashlib.sha256).hexdigest()

    def label(self, platform: str) -> str:
        fingerprint = hashlib.sha256((self.key or "").encode()).hexdigest()[:8]
        return f"replay {platform} {fingerprint} {self.campaign}"[:100]

    def sendgrid_signer(self) -> SendGridSigner:
        scalar = int(self.secret("sendgrid"), 16) % (_P256_ORDER - 1) + 1
        return SendGridSigner(ec.derive_private_key(scalar, ec.SECP256R1()))

    def create_source(self, platform: str, credentials: dict[str, Any]) -> dict[str, Any]:
        """This run's source of the platform: the one an earlier run made (same label), else a new one."""
        if not self.key:
            raise SystemExit("--key (a manage key, e.g. LIVEREPORT_DEV_KEY) is needed to create sources")
        auth = {"Authorization": f"Bearer {self.key}"}
        status, listing = http_get(f"{self.api}/v1/sources", auth)
        if status != 200:
            raise SystemExit(f"listing the sources failed: {status} {listing}")
        label = self.label(platform)
        for source in listing.get("sources", []):
            if source.get("platform") == platform and source.get("label") == label:
                print(f"{platform:9} source {source['id']} (reused)  webhook URL: {source['url']}")
                return source
        status, body = http_post(f"{self.api}/v1/sources", json.dumps({
            "platform": platform, "default_campaign": self.campaign, "label": label,
            "credentials": credentials}).encode(), {**auth, "Content-Type": "application/json"})
        if status != 201:
            raise SystemExit(f"creating the {platform} source failed: {status} {body}")
        print(f"{platform:9} source {body['id']} (new)  webhook URL: {body['url']}")
        return body

    def tally(self, outcome: Counter, status: int, body: dict[str, Any]) -> None:
        outcome[f"HTTP {status}"] += 1
        outcome["accepted"] += int(body.get("accepted", 0))
        outcome["rejected"] += len(body.get("rejected", []))
        outcome["unmapped"] += int(body.get("unmapped", 0))

    def ses(self, topic: str = "arn:aws:sns:eu-west-1:123456789012:ses-events") -> Counter:
        certs = CertServer(lambda url: SnsSigner(cert_url=url))
        try:
            url = self.create_source("ses", {"topic_arns": [topic]})["url"]
            out: Counter = Counter()
            confirm = certs.signer.subscription(topic, subscribe_url=f"{certs.base}/confirm?Token=x")
            status, body = http_post(url, json.dumps(confirm).encode(), {"Content-Type": "text/plain; charset=UTF-8"})
            print(f"          SubscriptionConfirmation → {status} {body} (SubscribeURL fetched: {certs.confirmed})")
            now = time.time()
            messages = [m for _, m in samples.ses_records(now)] + [m for _, m in samples.ses_envelope_messages(now)]
            for message in messages:
                envelope = certs.signer.notification(topic, message)
                self.tally(out, *http_post(url, json.dumps(envelope).encode(),
                                           {"Content-Type": "text/plain; charset=UTF-8"}))
            return out
        finally:
            certs.stop()

    def sendgrid(self) -> Counter:
        signer = self.sendgrid_signer()
        url = self.create_source("sendgrid", {"public_key": signer.public_key})["url"]
        body = SendGridSigner.body(samples.sendgrid_events(time.time(), self.run))
        out: Counter = Counter()
        self.tally(out, *http_post(url, body, signer.headers(body)))
        return out

    def mailgun(self, source: dict[str, Any] | None = None, secret: str | None = None) -> Counter:
        key = secret or "key-" + self.secret("mailgun")[:32]
        url = source["url"] if source else self.create_source("mailgun", {"signing_key": key})["url"]
        out: Counter = Counter()
        for data in samples.mailgun_event_data(time.time(), self.run):
            doc = {"signature": mailgun_signature(key), "event-data": data}
            self.tally(out, *http_post(url, json.dumps(doc).encode(), {"Content-Type": "application/json"}))
        return out

    def twilio(self, source: dict[str, Any] | None = None, secret: str | None = None) -> Counter:
        token = secret or self.secret("twilio")[:32]
        url = source["url"] if source else self.create_source("twilio", {"auth_token": token})["url"]
        out: Counter = Counter()
        for params in samples.twilio_params(self.run):
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": twilio_signature(token, url, params)}
            self.tally(out, *http_post(url, form_body(params), headers))
        return out

    def postmark(self, source: dict[str, Any] | None = None, secret: str | None = None) -> Counter:
        user, _, password = (secret or f"replay:{self.secret('postmark')[:24]}").partition(":")
        url = source["url"] if source else self.create_source(
            "postmark", {"username": user, "password": password})["url"]
        out: Counter = Counter()
        for record in samples.postmark_records(time.time(), self.run):
            headers = {"Content-Type": "application/json", "Authorization": basic_auth(user, password)}
            self.tally(out, *http_post(url, json.dumps(record).encode(), headers))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.webhooks", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    replay = sub.add_parser("replay", help="post the ESP samples, signed, at a running stack")
    replay.add_argument("--platform", choices=(*PLATFORMS, "all"), default="all")
    replay.add_argument("--url", default=os.environ.get("LIVEREPORT_API", "http://127.0.0.1:8000"),
                        help="the API's base URL (default http://127.0.0.1:8000, as `make run` starts it)")
    replay.add_argument("--key", default=os.environ.get("LIVEREPORT_DEV_KEY"),
                        help="a key with the manage scope (default: $LIVEREPORT_DEV_KEY)")
    replay.add_argument("--campaign", default="webhook-replay", help="default campaign of the created sources")
    replay.add_argument("--source", help="an existing source id (mailgun, twilio or postmark) instead of a new one")
    replay.add_argument("--secret", help="its secret: mailgun signing key, twilio auth token, postmark user:password")
    args = parser.parse_args(argv)
    runner = Replay(args.url, args.key, args.campaign)
    platforms = PLATFORMS if args.platform == "all" else (args.platform,)
    if args.source:
        if len(platforms) != 1 or platforms[0] not in ("mailgun", "twilio", "postmark") or not args.secret:
            parser.error("--source needs one --platform of mailgun, twilio, postmark and its --secret")
        existing = {"url": f"{runner.api}/v1/webhooks/{platforms[0]}/{args.source}"}
        results = {platforms[0]: getattr(runner, platforms[0])(existing, args.secret)}
    else:
        results = {p: getattr(runner, p)() for p in platforms}
    for platform, outcome in results.items():
        print(f"{platform:9} " + ", ".join(f"{k}: {v}" for k, v in sorted(outcome.items())))
    print(f"Open the dashboard on campaign '{args.campaign}' (the key's workspace); SMS events are on the SMS tab.")
    return 0 if all(not any(k.startswith("HTTP") and not k.startswith("HTTP 2") for k in o) for o in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

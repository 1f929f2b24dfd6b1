"""One platform POST → verified → mapped → IngestService.accept → the status the platform needs.

Status rules (ESP_NOTES §0): 2xx once the events are durable, and for
authentic events we cannot map (SendGrid retries any non-2xx for 24 h);
401 for anything not authentic (nothing stored); 400 for a body we cannot
parse; 404 for an unknown source or one of another platform; 5xx for
transient failures (SNS drops a message on a 4xx, retries a 5xx).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from ..ingest import IngestError, IngestService
from . import mailgun, postmark, sendgrid, ses, twilio
from .common import Mapped, WebhookError, WebhookRequest, bad_request, request_identity
from .sources import PLATFORMS, Outcome, Source, SourceStore

logger = Logger(service="livereport", child=True)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Twilio signs no time: a captured callback stays valid for as long as the auth token.
#: Its (MessageSid, status) marker is kept this long (the ledger's default is 7 days),
#: far past Twilio's own redeliveries (seconds), so a replay is answered, not counted.
TWILIO_MARKER_TTL_SECONDS = 400 * 86400


@dataclass
class WebhookResult:
    status: int
    body: dict[str, Any]
    workspace: str = ""
    accepted: int = 0
    rejected: int = 0
    unmapped: list[str] = field(default_factory=list)
    replayed: bool = False


def is_local(env: Mapping[str, str]) -> bool:
    """Local mode (AWS_ENDPOINT_URL on this machine): the replay script may serve its
    own SNS test certificate over http://127.0.0.1. Never true in AWS."""
    return urlsplit(env.get("AWS_ENDPOINT_URL") or "").hostname in LOOPBACK


#: A bare host as a Host / X-Forwarded-Host value: a DNS name or an IP, an optional port,
#: nothing else. A path, query, fragment, user-info or a second host could bind a signature
#: made for one source's URL (src_A) to another's ("host/v1/webhooks/twilio/src_A#").
_BARE_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                        r"[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


def bare_host(value: str) -> str | None:
    """The first Host / X-Forwarded-Host value if it is a bare host[:port], else None."""
    host = value.split(",")[0].strip()
    return host if host and len(host) <= 260 and _BARE_HOST.fullmatch(host) else None


def public_urls(headers: Mapping[str, str], request_path: str, public_api_url: str | None,
                route_path: str) -> tuple[str, ...]:
    """The URLs a platform may have been given for this request: the configured
    public API URL + the route, and the Host the request came to + its full path
    (API Gateway's context path carries the stage, or a custom domain's base path).

    The path is always this request's own (it names the source); from the headers
    only a bare host and an http/https scheme are taken, so a header cannot move
    the signed URL to another source."""
    urls: list[str] = []
    if public_api_url:
        urls.append(public_api_url.rstrip("/") + route_path)
    path = request_path or route_path
    if not path.startswith("/") or any(c in path for c in "?#\\") or not path.endswith(route_path):
        path = route_path
    forwarded = headers.get("x-forwarded-host")
    host = bare_host(forwarded) if forwarded else bare_host(headers.get("host") or "")
    if host:
        loopback = urlsplit(f"//{host}").hostname in LOOPBACK
        proto = (headers.get("x-forwarded-proto") or ("http" if loopback else "https")).split(",")[0].strip().lower()
        if proto in ("http", "https"):
            url = f"{proto}://{host}{path}"
            if url not in urls:
                urls.append(url)
    return tuple(urls)


class WebhookService:
    def __init__(self, sources: SourceStore, ingest: IngestService, tokens: mailgun.TokenLedger,
                 certificates: ses.CertificateCache, allow_loopback: bool = False) -> None:
        self.sources = sources
        self.ingest = ingest
        self.tokens = tokens
        self.certificates = certificates
        self.allow_loopback = allow_loopback

    def source_for(self, platform: str, source_id: str) -> Source:
        if platform not in PLATFORMS:
            raise bad_request(f"unknown platform: one of {', '.join(PLATFORMS)}")
        source = self.sources.get(source_id)
        if source is None or source.platform != platform:
            raise WebhookError(404, "not_found", "no such webhook source")
        return source

    def handle(self, platform: str, source_id: str, request: WebhookRequest, test: bool = False) -> WebhookResult:
        """Verify, map and accept one request, and count it on the source's health
        (an unknown source counts nowhere; a store failure is the platform's to retry)."""
        source = self.source_for(platform, source_id)
        try:
            result = self._handle(platform, source, request)
        except WebhookError as exc:
            if exc.status < 500:
                self._count(source, Outcome(refused=exc.reason), request.now, test)
            raise
        fresh = not result.replayed  # a redelivery's answer repeats counts already made
        self._count(source, Outcome(result.accepted * fresh, result.rejected * fresh, tuple(result.unmapped),
                                    result.replayed), request.now, test)
        return result

    def _count(self, source: Source, outcome: Outcome, now: float, test: bool) -> None:
        try:
            self.sources.record(source, outcome, now, test)
        except Exception:  # noqa: BLE001 - health is best effort: the request's answer stands
            logger.warning("webhook source health not recorded", extra={"source_id": source.id}, exc_info=True)

    def _handle(self, platform: str, source: Source, request: WebhookRequest) -> WebhookResult:
        now, creds, defaults = request.now, source.credentials, source.defaults
        if platform == "ses":
            envelope = ses.parse(request)
            ses.verify(envelope, creds, self.certificates, now, self.allow_loopback)
            kind = envelope["Type"]
            if kind == "SubscriptionConfirmation":
                ses.confirm_subscription(envelope, self.certificates.fetch, self.allow_loopback)
                return WebhookResult(200, {"confirmed": True}, source.workspace)
            if kind == "UnsubscribeConfirmation":
                return WebhookResult(200, {"acknowledged": True}, source.workspace)
            if kind != "Notification":
                raise bad_request(f"unknown SNS message Type {kind[:40]!r}")
            mapped = ses.map_events(envelope, defaults)
        elif platform == "sendgrid":
            sendgrid.verify(request, creds)
            mapped = sendgrid.map_events(sendgrid.parse(request), defaults, now)
        elif platform == "mailgun":
            doc = mailgun.parse(request)
            mailgun.verify(doc, creds, now)
            mapped = mailgun.map_events(doc, defaults, now)
            self.tokens.use(source.workspace, str(doc["signature"]["token"]), mapped.ids[0], now)
        elif platform == "twilio":
            params = twilio.parse(request)
            twilio.verify(request, params, creds)
            mapped = twilio.map_events(params, request.query, defaults, now)
        else:
            postmark.verify(request, creds)
            mapped = postmark.map_events(postmark.parse(request), defaults, now)
        return self._accept(platform, source, mapped)

    def _accept(self, platform: str, source: Source, mapped: Mapped) -> WebhookResult:
        ttl = TWILIO_MARKER_TTL_SECONDS if platform == "twilio" else None
        if not mapped.events:
            return WebhookResult(200, {"accepted": 0, "rejected": [], "unmapped": len(mapped.unmapped)},
                                 source.workspace, unmapped=mapped.unmapped)
        batch_id, body_hash = request_identity(platform, mapped.ids)
        try:
            outcome = self.ingest.accept(source.workspace, mapped.events, batch_id, body_hash, ttl)
        except IngestError as exc:
            raise WebhookError(exc.status, "invalid_request", exc.message) from None
        body = {**outcome.body, "unmapped": len(mapped.unmapped)}
        return WebhookResult(200, body, source.workspace, accepted=int(outcome.body.get("accepted", 0)),
                             rejected=len(outcome.body.get("rejected", [])), unmapped=mapped.unmapped,
                             replayed=outcome.replayed)

"""Outgoing alert webhooks: SSRF guard, HMAC-SHA256 signature, retries with backoff.

SSRF: the host is resolved first and every address it resolves to must pass
netguard (no private, loopback, link-local, CGNAT, multicast or reserved
address; IPv4 addresses inside IPv6 forms — mapped, compatible, NAT64,
6to4 — unwrapped and checked; Teredo and local-use NAT64 refused). The connection is then made to the
checked address itself, with the host name kept for TLS (SNI, certificate)
and the Host header, so a DNS answer that changes between check and connect
(rebinding) cannot redirect the request. Redirects are not followed.
`allow_local` (LIVEREPORT_ALLOW_LOCAL_WEBHOOKS=1, local mode only) admits
loopback addresses and nothing else.

Signature: header `X-LiveReport-Signature: t=<unix seconds>,v1=<hex>` where
hex = HMAC-SHA256(secret, f"{t}.{body}"); receivers recompute it and reject
old timestamps (replays).
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from . import netguard
from .rules import check_webhook_url

SIGNATURE_HEADER = "X-LiveReport-Signature"
DELIVERY_HEADER = "X-LiveReport-Delivery"
Resolver = Callable[[str, int], list[str]]  # (host, port) -> IP addresses
Sender = Callable[["Target", bytes, dict[str, str], float], int]  # -> HTTP status
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookRefused(ValueError):
    """The URL points somewhere the product must not call (SSRF guard)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP the connection goes to


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def resolve_target(url: str, resolver: Resolver, allow_local: bool) -> Target:
    """Check the URL and every address its host resolves to; the address to connect to."""
    try:
        check_webhook_url(url, allow_local)
    except ValueError as exc:
        raise WebhookRefused(str(exc)) from None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(f"webhook host does not resolve: {exc}") from None
    if not addresses:
        raise WebhookRefused("webhook host does not resolve")
    for address in addresses:  # every answer: one private address among public ones is refused too
        why = netguard.refusal(address, allow_local)
        if why:
            raise WebhookRefused(f"webhook host resolves to a refused address ({address}: {why})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate of the host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class DeadlineExceeded(OSError):
    """The receiver did not answer in full within the delivery's wall-clock deadline."""


def http_sender(target: Target, body: bytes, headers: dict[str, str], deadline: float) -> int:
    """POST and read the status within ``deadline`` seconds in total.

    A socket timeout bounds each read, not the exchange: a receiver that
    drips a byte every few seconds never trips it. A timer closes the socket
    when the deadline passes, which ends whatever read or write is blocked."""
    conn = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, deadline)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(deadline, cut)
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        if expired.is_set():
            raise DeadlineExceeded(f"no complete answer within {deadline:g}s")
        return response.status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):  # a silent socket hits its timeout first
            raise DeadlineExceeded(f"no complete answer within {deadline:g}s") from None
        if isinstance(exc, ValueError):  # a read on the socket the timer closed
            raise OSError(str(exc)) from None
        raise
    finally:
        timer.cancel()
        conn.close()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = 300) -> bool:
    """What a receiver does (tests and docs use it)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass
class Delivery:
    ok: bool
    attempts: int
    status: Optional[int] = None
    error: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def retryable(self) -> bool:
        """Worth another try later: no answer, or a status the receiver may get over."""
        return not self.ok and self.attempts > 0 and (self.status is None or self.status in RETRY_STATUSES)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "attempts": self.attempts, "status": self.status, "error": self.error}


@dataclass
class WebhookClient:
    resolver: Resolver = system_resolver
    sender: Sender = http_sender
    allow_local: bool = False
    attempts: int = 4
    backoff_seconds: float = 1.0
    #: wall-clock limit of one attempt: connect, send, and the whole answer
    timeout_seconds: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def post(self, url: str, secret: str, payload: dict[str, Any], delivery_id: str = "") -> Delivery:
        """POST the signed JSON; retry network errors, 408/425/429 and 5xx with doubling backoff.
        ``delivery_id`` (X-LiveReport-Delivery) lets a receiver drop a repeated delivery."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            target = resolve_target(url, self.resolver, self.allow_local)
        except WebhookRefused as exc:
            return Delivery(False, 0, error=str(exc))
        result = Delivery(False, 0)
        for attempt in range(1, self.attempts + 1):
            headers = {"Content-Type": "application/json", "User-Agent": "livereport-alerts/1",
                       SIGNATURE_HEADER: sign(secret, int(self.clock()), body)}
            if delivery_id:
                headers[DELIVERY_HEADER] = delivery_id
            result.attempts = attempt
            try:
                status = self.sender(target, body, headers, self.timeout_seconds)
            except (OSError, http.client.HTTPException) as exc:
                result.status, result.error = None, f"{type(exc).__name__}: {exc}"[:200]
            else:
                result.status, result.error = status, ""
                if 200 <= status < 300:
                    result.ok = True
                    return result
                if status not in RETRY_STATUSES:
                    result.error = f"HTTP {status}"
                    return result
                result.error = f"HTTP {status}"
            if attempt < self.attempts:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        return result

"""POST /v1/events (and every webhook): validate, make durable, answer.

The request path writes no counter, sketch or directory item: it puts the
accepted events on the stream and commits the request ledger (one small
write), and the aggregator folds them exactly once (`aggregator.py`).
The HTTP layer (app.py) only maps an IngestOutcome onto a response.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from .currencies import CurrencyBook
from .events import Limits, Rejection, validate_batch
from .hot_flags import SALTS, HotFlags
from .ledger import BatchLedger, CommitTooLate
from .profile_keys import ProfileKeys
from .store import StoreUnavailable
from .stream import EventStream, compact, encode

MAX_EVENTS = 5000
MAX_BODY_BYTES = 5 * 1024 * 1024
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class HotCampaigns:
    """Which shard a campaign's records go to: partition key = workspace + campaign, so
    one shard (and one aggregator) writes each campaign's items and no item has two
    writers; a campaign this container sees arriving faster than `threshold` events/s
    is *hot*, and so is one the aggregator flagged (`hot_flags.py`: one-event requests, whose
    rate no container sees); a hot campaign's records are spread over `salts` keys (each salt
    its own minute items, `tables.counter_sk`), so a big send is not capped by one shard."""

    def __init__(self, threshold: float = 500.0, salts: int = SALTS, window: float = 10.0,
                 clock: Callable[[], float] = time.time, flags: HotFlags | None = None) -> None:
        self.threshold, self.salts, self.window, self.clock = threshold, salts, window, clock
        #: campaigns the aggregator found hot (one-event requests: no container sees their rate)
        self.flags = flags
        self._seen: dict[tuple[str, str], list[float]] = {}  # (ws, campaign) -> [window start, events]

    def salt(self, workspace: str, campaign: str, events: int) -> int:
        now = self.clock()
        entry = self._seen.get((workspace, campaign))
        if entry is None or now - entry[0] > self.window:
            if len(self._seen) > 10_000:
                self._seen.clear()  # bounded memory: forget, the rate is re-learnt in a window
            entry = self._seen[(workspace, campaign)] = [now, 0.0]
        entry[1] += events
        rate = entry[1] / max(1.0, now - entry[0])
        if self.salts <= 1:
            return 0
        hot = rate > self.threshold or (self.flags is not None and self.flags.is_hot(workspace, campaign))
        return secrets.randbelow(self.salts) if hot else 0


def partition_key(workspace: str, campaign: str, salt: int) -> str:
    return f"{workspace}#{campaign}" + (f"#{salt}" if salt else "")


class IngestError(Exception):
    """Bad input for the whole request: status and a message the producer can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class IngestOutcome:
    body: dict[str, Any]
    replayed: bool = False
    rejected_by_reason: Counter = field(default_factory=Counter)
    records_put: int = 0


def parse_body(body: bytes | None) -> list[Any]:
    if body is None or not body.strip():
        raise IngestError(400, 'empty body: expected {"events": [...]}')
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(413, f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestError(400, f"body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise IngestError(400, 'body must be a JSON object {"events": [...]}')
    events = doc["events"]
    if len(events) > MAX_EVENTS:
        raise IngestError(413, f"{len(events)} events is over the {MAX_EVENTS}-event limit per request")
    return events


def batch_identity(body: bytes, idempotency_key: str | None) -> tuple[str, str]:
    """(batch_id, body_hash): the key when given, else the body itself."""
    body_hash = hashlib.sha256(body).hexdigest()
    if idempotency_key is None:
        return "h:" + body_hash, body_hash
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise IngestError(400, "Idempotency-Key: 1-255 printable ASCII characters")
    return "k:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40], body_hash


class IngestService:
    def __init__(self, ledger: BatchLedger, stream: EventStream, limits: Limits = Limits(),
                 clock: Callable[[], float] = time.time, profiles: ProfileKeys | None = None,
                 currencies: CurrencyBook | None = None, hot: HotCampaigns | None = None) -> None:
        self.ledger = ledger
        self.stream = stream
        self.limits = limits
        self.clock = clock
        self.profiles = profiles if profiles is not None else ProfileKeys()
        self.currencies = currencies
        self.hot = hot if hot is not None else HotCampaigns(clock=clock)

    def ingest(self, workspace: str, body: bytes | None, idempotency_key: str | None) -> IngestOutcome:
        """POST /v1/events: the body's events, identified by the key or the body itself."""
        raw_events = parse_body(body)
        assert body is not None
        batch_id, body_hash = batch_identity(body, idempotency_key)
        return self.accept(workspace, raw_events, batch_id, body_hash)

    def accept(self, workspace: str, raw_events: list[Any], batch_id: str, body_hash: str,
               marker_ttl_seconds: int | None = None) -> IngestOutcome:
        """Validate a request's events and make them durable, exactly once per batch_id.

        Every input path (POST /v1/events, platform webhooks) ends here: the
        caller chooses the request's identity (an Idempotency-Key, a body hash,
        a platform's event id) so that a redelivery replays the first answer.
        ``marker_ttl_seconds`` keeps that memory longer than the default for
        requests whose signature carries no time (Twilio)."""
        first = self.ledger.get(workspace, batch_id)
        if first is not None:
            return self._replay(first, body_hash)
        received_at = self.clock()
        attempt = secrets.token_hex(8)
        received = datetime.fromtimestamp(received_at, tz=timezone.utc)
        accepted, rejected = validate_batch(raw_events, received, self.limits,
                                            self.profiles.for_workspace(workspace))
        if self.currencies is not None and any(e.currency for _, e in accepted):
            refused = self.currencies.check(workspace, accepted)
            if refused:
                accepted = [(i, e) for i, e in accepted if i not in refused]
                rejected = sorted(rejected + [Rejection(i, reason) for i, reason in refused.items()],
                                  key=lambda r: r.index)
        by_campaign: dict[str, list[dict[str, Any]]] = {}
        for _, event in accepted:
            by_campaign.setdefault(event.campaign_id, []).append(compact(event))
        records: list[tuple[str, bytes]] = []
        for campaign, events in sorted(by_campaign.items()):
            salt = self.hot.salt(workspace, campaign, len(events))
            key = partition_key(workspace, campaign, salt)
            records.extend((key, r) for r in encode(workspace, batch_id, attempt, received_at, events, salt))
        if records:
            self.stream.put_keyed(records)  # durable first: the commit below makes them count
        body_out = {"accepted": len(accepted), "rejected": [r.as_dict() for r in rejected]}
        try:
            winner = self.ledger.commit(workspace, batch_id, body_hash, received_at, attempt, body_out,
                                        self.clock(), marker_ttl_seconds)
        except CommitTooLate as exc:
            raise StoreUnavailable(str(exc)) from exc
        if winner is not None:  # a concurrent attempt of the same request committed first
            return self._replay(winner, body_hash)
        reasons = Counter(r.reason.split(":", 1)[0] for r in rejected)
        return IngestOutcome(body_out, rejected_by_reason=reasons, records_put=len(records))

    @staticmethod
    def _replay(first: Any, body_hash: str) -> IngestOutcome:
        if first.body_hash != body_hash:
            raise IngestError(422, "Idempotency-Key was already used with a different body")
        return IngestOutcome(first.response, replayed=True)

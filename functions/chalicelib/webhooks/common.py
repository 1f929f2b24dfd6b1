"""What every platform module shares: the request as the platform sent it,
errors that carry an HTTP status, and helpers that turn a platform's
per-message metadata into our event fields.

Platform modules expose ``verify(...)`` (authenticity, before anything is
stored) and ``map_events(...) -> Mapped`` (our event dicts, the schema of
POST /v1/events); the HTTP status rules live in ``service.py``.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from ..errors import ApiError

#: The per-message metadata keys a sender attaches (tags, custom args, variables...).
#: `variant` names the experiment's treatment the message belongs to (docs/experiments.md).
META_KEYS = ("campaign_id", "profile_id", "execution_id", "variant")
DEFAULT_CAMPAIGN = "unattributed"
MAX_URL = 2000
_DIGITS = re.compile(r"[0-9]{1,12}")
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)")


class WebhookError(ApiError):
    """A request we refuse: 400 unparseable, 401/403 not authentic, 404 no such source,
    5xx transient (the platform retries). ``code`` is the error code of the JSON body;
    ``reason`` one of REFUSAL_REASONS for the source's health counters."""

    def __init__(self, status: int, code: str, message: str, reason: str = "malformed") -> None:
        super().__init__(status, code, message)
        self.reason = reason


def bad_request(message: str) -> WebhookError:
    return WebhookError(400, "invalid_request", message)


#: Why a request was refused, as the source's health counters show it.
REFUSAL_REASONS = ("bad_signature", "stale_timestamp", "replay", "malformed")


def forbidden(message: str, reason: str = "bad_signature") -> WebhookError:
    """Not authentic: nothing is stored, and no detail beyond which check failed."""
    return WebhookError(401, "invalid_signature", message, reason)


def epoch_seconds(text: str, what: str) -> int:
    """A signed timestamp: decimal digits only. float() would take "1e3", "nan",
    "inf" or "1_700_000_000", and a parser that reads the same number from
    several spellings lets an attacker move characters between the signed
    timestamp and whatever follows it in the signed bytes."""
    if not _DIGITS.fullmatch(text):
        raise forbidden(f"{what} timestamp is not whole epoch seconds", "malformed")
    return int(text)


@dataclass(frozen=True)
class WebhookRequest:
    """A platform's POST as received, with what verification needs."""

    body: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, list[str]] = field(default_factory=dict)
    #: the public URLs this request may have been addressed to (Twilio signs the URL)
    urls: tuple[str, ...] = ()
    now: float = 0.0

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "") or ""


@dataclass(frozen=True)
class Defaults:
    """What a source adds to every event it maps."""

    channel: str = "email"
    default_campaign: str = DEFAULT_CAMPAIGN


@dataclass
class Mapped:
    """A request's events in our schema, plus what was acknowledged but not mapped."""

    events: list[dict[str, Any]] = field(default_factory=list)
    #: platform event types we acknowledge without counting (one entry per platform event)
    unmapped: list[str] = field(default_factory=list)
    #: the platform's own ids of the request's events: the request's identity
    ids: list[str] = field(default_factory=list)


def request_identity(platform: str, ids: Iterable[str]) -> tuple[str, str]:
    """(batch_id, body_hash) for IngestService.accept from the platform's event ids.

    One event: its id is the request's identity, so a redelivery replays the
    first answer. A batch: the hash of its sorted ids. The hash of the same
    ids is the "body hash", so a redelivery never looks like a conflicting
    reuse even when the platform re-serialises or re-signs the body."""
    unique = sorted(set(ids))
    if len(unique) == 1 and len(unique[0]) <= 160:
        batch_id = f"w:{platform}:{unique[0]}"
    else:
        batch_id = f"w:{platform}:b:" + hashlib.sha256("\n".join(unique).encode()).hexdigest()
    return batch_id, hashlib.sha256(batch_id.encode()).hexdigest()


def stable_id(platform: str, *parts: Any) -> str:
    """A deterministic id for platform events that carry none of their own."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"{platform}-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def first_str(value: Any) -> str | None:
    """A metadata value as a string: SES tags are lists, others plain values."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def base_event(event_id: str, timestamp: str, etype: str, meta: Mapping[str, Any] | None,
               defaults: Defaults, **fields: Any) -> dict[str, Any]:
    """One event of our schema; campaign/profile/execution/variant from the message's metadata,
    the source's default campaign when the message carries none (never dropped)."""
    meta = meta or {}
    event: dict[str, Any] = {"event_id": event_id, "timestamp": timestamp, "type": etype,
                             "channel": defaults.channel,
                             "campaign_id": first_str(meta.get("campaign_id")) or defaults.default_campaign}
    for key in META_KEYS[1:]:
        value = first_str(meta.get(key))
        if value:
            event[key] = value
    event.update({k: v for k, v in fields.items() if v is not None and v != ""})
    if isinstance(event.get("url"), str):  # a platform's long tracking URL is still a click
        event["url"] = event["url"][:MAX_URL]
    return event


def iso_from_epoch(seconds: float) -> str:
    """Epoch seconds (or milliseconds, which some SendGrid samples carry) as ISO 8601 UTC.
    ValueError for what is no instant (nan, inf, out of range), like an unparseable one."""
    if not math.isfinite(seconds):
        raise ValueError("not a finite number of seconds")
    if seconds > 1e11:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
    except (OverflowError, OSError):
        raise ValueError("seconds out of range") from None


def redact(text: Any, limit: int = 500) -> str | None:
    """A platform's reason text with any address reduced to its domain: bounce
    diagnostics often quote the recipient, and addresses are never stored."""
    if text is None:
        return None
    text = str(text)[:limit * 4]
    return _ADDRESS.sub(lambda m: "…@" + m.group(1), text)[:limit] or None


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the body is not valid JSON") from None

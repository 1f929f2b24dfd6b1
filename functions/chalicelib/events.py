"""Event schema, validation and normalisation.

The whole batch is validated by pydantic-core in one call (fast path); only a
batch with errors is re-validated event by event to give each its reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Literal, Optional

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import catalogue

ID_PATTERN = r"^[A-Za-z0-9._:@+\-]{1,128}$"
MAX_VALUE_LENGTH = 200
MAX_URL_LENGTH = 400
MAX_CONVERSION_VALUE = 1e9
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Channel = Literal["email", "push", "sms", "inapp", "web", "directmail"]
EventTypeName = Literal[tuple(catalogue.EVENT_TYPES)]  # type: ignore[valid-type]


class Event(BaseModel):
    """One producer event as SPEC.md defines it. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=256)
    timestamp: AwareDatetime  # checked in pydantic-core: no Python call per event
    campaign_id: str = Field(pattern=ID_PATTERN)
    channel: Channel
    type: EventTypeName
    profile_id: Optional[str] = Field(default=None, max_length=256)
    execution_id: Optional[str] = Field(default=None, pattern=ID_PATTERN)
    #: the treatment of an experiment the profile received (needs a profile)
    variant: Optional[str] = Field(default=None, pattern=ID_PATTERN)
    #: a conversion's value (revenue) in `currency`, ISO 4217
    value: Optional[float] = Field(default=None, ge=0, le=MAX_CONVERSION_VALUE, allow_inf_nan=False)
    currency: Optional[str] = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    platform: Optional[str] = Field(default=None, max_length=2000)
    recipient_domain: Optional[str] = Field(default=None, max_length=2000)
    recipient: Optional[str] = Field(default=None, max_length=2000)
    reason: Optional[str] = Field(default=None, max_length=10000)
    bounce_type: Optional[str] = Field(default=None, max_length=100)
    error_type: Optional[str] = Field(default=None, max_length=100)
    url: Optional[str] = Field(default=None, max_length=10000)
    action: Optional[str] = Field(default=None, max_length=2000)
    interaction_type: Optional[str] = Field(default=None, max_length=100)
    element: Optional[str] = Field(default=None, max_length=2000)
    offer_id: Optional[str] = Field(default=None, max_length=2000)
    #: the sending platform's message id: the identity of a message whose recipient is unknown
    message_id: Optional[str] = Field(default=None, max_length=998)
    machine: bool = False


_BATCH = TypeAdapter(list[Event])


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


@dataclass(frozen=True)
class Limits:
    max_past: timedelta = timedelta(hours=48)
    max_future: timedelta = timedelta(minutes=5)


def clean_value(value: str, limit: int = MAX_VALUE_LENGTH) -> str:
    """Trim, drop control characters, collapse spaces, cap the length.
    Values stay inert data: escaping is the renderer's job, never ours."""
    if not (value.isprintable() and "  " not in value):  # the common clean value skips both regexes
        value = _SPACES.sub(" ", _CONTROL.sub(" ", value))
    return value.strip()[:limit]


def domain_of(recipient: str) -> str | None:
    """Keep only the domain of an address; the address itself is never stored."""
    _, at, domain = recipient.rpartition("@")
    domain = domain.strip().strip(".").lower()
    return domain[:253] if at and domain else None


#: What an id may hold, in words (the same rule as ID_PATTERN): what a producer reads in a rejection.
ID_RULE = "1–128 letters, digits or . _ : @ + -"
#: Closed vocabularies, listed in full from the catalogue in a rejection.
_VOCABULARIES: dict[str, tuple[str, ...]] = {"channel": catalogue.CHANNELS, "type": tuple(catalogue.EVENT_TYPES)}
_WORDS: dict[str, str] = {
    "missing": "required",
    "string_type": "must be a string",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "model_type": "each event must be a JSON object", "dict_type": "each event must be a JSON object",
}


def _describe(err: dict[str, Any]) -> str:
    """One pydantic error in words a producer can act on (never a regex or a truncated list)."""
    loc = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int)) or "event"
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "timezone_aware":
        msg = "needs a UTC offset or Z"
    elif kind.startswith(("datetime_", "date_")):
        msg = "an ISO 8601 time with a UTC offset, e.g. 2026-11-22T10:00:00Z"
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        msg = ID_RULE
    elif kind == "literal_error" and loc in _VOCABULARIES:
        value = err.get("input")
        shown = f"'{value}' " if isinstance(value, str) and 0 < len(value) <= 40 and value.isprintable() else ""
        msg = f"unknown value {shown}(expected one of {', '.join(_VOCABULARIES[loc])})"
    elif kind == "string_too_short":
        msg = "must not be empty"
    elif kind == "string_too_long":
        msg = f"at most {ctx.get('max_length')} characters"
    else:
        msg = _WORDS.get(kind, str(err.get("msg", "invalid")))
    return f"{loc}: {msg}"


_CHANNELS_OF: dict[str, frozenset[str]] = {name: frozenset(t.channels) for name, t in catalogue.EVENT_TYPES.items()}


def _check(event: Event, earliest: datetime, latest: datetime) -> str | None:
    """Rules pydantic cannot express: type/channel pairs, time window, vocabularies.
    Reads the model's field storage (once per event, on ingest's hot path)."""
    d = event.__dict__
    etype, channel, at = d["type"], d["channel"], d["timestamp"]
    if channel not in _CHANNELS_OF[etype]:
        return f"type: '{etype}' is not an event of channel '{channel}'"
    if at < earliest:
        return "timestamp: older than 48 hours"
    if at > latest:
        return "timestamp: more than 5 minutes in the future"
    if etype == "bounce":
        if (d["bounce_type"] or "").lower() not in catalogue.BOUNCE_TYPES:
            return "bounce_type: required for a bounce, one of hard, soft, ignored"
    error_type = d["error_type"]
    if error_type and error_type.lower() not in catalogue.ERROR_TYPES:
        return "error_type: unknown value (expected one of " + ", ".join(catalogue.ERROR_TYPES) + ")"
    if etype != "conversion" and (d["value"] is not None or d["currency"] is not None):
        return "value: only a conversion carries a value and a currency"
    if etype == "interaction" and channel == "inapp" and d["interaction_type"]:
        if d["interaction_type"].lower() not in catalogue.INTERACTION_TYPES:
            return "interaction_type: one of click, dismiss, other"
    return None


#: identify(kind, value) -> a profile key: "r" for a recipient address, "m" for a message id
Identify = Callable[[str, str], str]


def normalise(event: Event, identify: Identify | None = None) -> Event:
    """Reduce producer strings to bounded, privacy-safe dimension values.

    An event without a `profile_id` gets one from `identify`: a keyed hash of the
    recipient address, else of the platform's message id, so that distinct
    counts still mean people (or messages) for platform traffic."""
    d = event.__dict__  # the model's field storage: skips BaseModel.__setattr__ on the hot path
    if not d["profile_id"] and identify is not None:
        if d["recipient"] and d["recipient"].strip():
            d["profile_id"] = identify("r", d["recipient"])
        elif d["message_id"] and d["message_id"].strip():
            d["profile_id"] = identify("m", d["message_id"])
    d["message_id"] = None  # only ever an identity, never stored
    if d["recipient"] is not None:
        if d["recipient_domain"] is None:
            d["recipient_domain"] = domain_of(d["recipient"])
        d["recipient"] = None  # never kept, never logged
    if d["recipient_domain"] is not None:
        d["recipient_domain"] = clean_value(d["recipient_domain"].lower().lstrip("@"), 253) or None
    if d["reason"] is not None:
        d["reason"] = clean_value(d["reason"]) or None
    for name in ("bounce_type", "error_type", "interaction_type"):
        if d[name] is not None:
            d[name] = d[name].lower()
    if d["currency"] is not None:
        d["currency"] = d["currency"].upper()
    if d["platform"] is not None:
        d["platform"] = clean_value(d["platform"].lower(), 40) or None
    if d["url"] is not None:
        d["url"] = clean_value(d["url"].split("#", 1)[0], MAX_URL_LENGTH) or None
    for name in ("action", "element", "offer_id"):
        if d[name] is not None:
            d[name] = clean_value(d[name]) or None
    return event


def validate_batch(
    raw_events: list[Any], now: datetime, limits: Limits = Limits(), identify: Identify | None = None
) -> tuple[list[tuple[int, Event]], list[Rejection]]:
    """Split a batch into (index, event) accepted and per-index rejections.

    Duplicate event_ids count once: later copies are reported, not counted.
    `identify` gives events without a profile_id a profile key (see `normalise`).
    """
    now = now.astimezone(timezone.utc)
    try:
        parsed: list[Event | None] = list(_BATCH.validate_python(raw_events))
        errors: dict[int, str] = {}
    except ValidationError:
        parsed, errors = [], {}
        for index, raw in enumerate(raw_events):
            try:
                parsed.append(Event.model_validate(raw))
            except ValidationError as exc:
                parsed.append(None)
                errors[index] = "; ".join(_describe(e) for e in exc.errors()[:3])
    accepted: list[tuple[int, Event]] = []
    rejected: list[Rejection] = []
    seen: dict[str, int] = {}
    earliest, latest = now - limits.max_past, now + limits.max_future  # once per batch, not per event
    for index, event in enumerate(parsed):
        if event is None:
            rejected.append(Rejection(index, errors[index]))
            continue
        problem = _check(event, earliest, latest)
        if problem:
            rejected.append(Rejection(index, problem))
            continue
        event = normalise(event, identify)
        if event.variant and not event.profile_id:
            rejected.append(Rejection(index, "variant: an event with a variant needs a profile_id (or a recipient, "
                                             "from which the profile key is derived)"))
            continue
        first = seen.setdefault(event.event_id, index)
        if first != index:
            rejected.append(Rejection(index, f"event_id: duplicate of index {first} in this batch (counted once)"))
            continue
        accepted.append((index, event))
    return accepted, rejected

"""Alert rules: what a client may ask for, validated against the catalogue.

A rule watches one metric of one channel of a campaign (or of every campaign,
`"*"`) over a sliding window of whole minutes. Metrics are the catalogue's
rates (plus the complaint and unsubscribe rates marketers alert on), any
count metric of the channel, or `silence`. Every refusal names the field so
the 422 tells the caller what to fix.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import catalogue
from . import netguard
from ..events import ID_PATTERN
from ..snapshots.subscriptions import check_address

MAX_RULES_PER_WORKSPACE = 100
MAX_EMAILS = 20
MAX_COUNT_THRESHOLD = 1_000_000_000
SILENCE = "silence"
ALL_CAMPAIGNS = "*"
_ID = re.compile(ID_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")

#: Rates alerts may watch: the catalogue's, plus two that are alert staples.
#: Minute counters hold no distinct sketches, so "distinct.x" numerators are
#: evaluated on event counts (opens / delivered), which is what a spike shows.
RATES: dict[str, catalogue.Rate] = {r.name: r for r in catalogue.RATES}
for _extra in (
    catalogue.Rate("spam_complaint_rate", "spam_complaint", "delivered", "Spam complaint rate",
                   "Taux de plaintes", frozenset({"email"})),
    catalogue.Rate("unsubscribe_rate", "unsubscribe", "delivered", "Unsubscribe rate",
                   "Taux de désabonnement", frozenset({"email", "sms"})),
):
    RATES.setdefault(_extra.name, _extra)


def counted(ref: str) -> str:
    """The counter behind a rate term ("distinct.open" → "open")."""
    return ref.split(".", 1)[1] if ref.startswith("distinct.") else ref


def count_metrics(channel: str) -> list[str]:
    return list(catalogue.metrics_for(channel))


def metric_kind(metric: str) -> str:
    if metric == SILENCE:
        return "silence"
    return "rate" if metric in RATES else "count"


def metric_label(metric: str, lang: str) -> str:
    if metric == SILENCE:
        return "Silence (no events)" if lang == "en" else "Silence (aucun événement)"
    if metric in RATES:
        r = RATES[metric]
        return r.fr if lang == "fr" else r.en
    return catalogue.labels(lang).get(metric, metric)


def allow_local_webhooks(env: Any) -> bool:
    return str(env.get("LIVEREPORT_ALLOW_LOCAL_WEBHOOKS", "")) == "1"


def check_webhook_url(url: str, allow_local: bool) -> str:
    """Syntax-level SSRF checks at creation (the sender re-checks after DNS resolution)."""
    if len(url) > 2048 or _CONTROL.search(url):
        raise ValueError("webhook_url: at most 2048 characters, no control characters")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise ValueError("webhook_url: credentials in the URL are not allowed")
    if not host:
        raise ValueError("webhook_url: an absolute https:// URL is required")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    local = ip is not None and ip.is_loopback
    if parts.scheme != "https" and not (allow_local and local and parts.scheme == "http"):
        raise ValueError("webhook_url: https:// only")
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        raise ValueError("webhook_url: local host names are refused")
    if ip is not None and netguard.refusal(ip, allow_local) is not None:
        raise ValueError("webhook_url: private, loopback, link-local and reserved addresses "
                         "(also inside IPv6 forms such as NAT64 or 6to4) are refused")
    return url


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    emails: list[str] = Field(default_factory=list, max_length=MAX_EMAILS)
    webhook_url: Optional[str] = None

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for raw in value:
            address = check_address(raw)
            if address.lower() not in {a.lower() for a in out}:
                out.append(address)
        return out


class AlertRequest(BaseModel):
    """What a client POSTs to /v1/alerts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=120)
    campaign_id: str
    channel: str
    metric: str
    op: Optional[Literal[">", "<"]] = None
    threshold: Optional[float] = None
    window_minutes: int = Field(ge=5, le=60)
    min_volume: int = Field(default=0, ge=0, le=MAX_COUNT_THRESHOLD)
    language: Literal["en", "fr"] = "en"
    notify: Notify = Field(default_factory=Notify)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("name: no control characters (line breaks, tabs...)")
        return value

    @field_validator("campaign_id")
    @classmethod
    def _campaign(cls, value: str) -> str:
        if value != ALL_CAMPAIGNS and not _ID.match(value):
            raise ValueError("campaign_id: '*' or 1-128 letters, digits or ._:@+-")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in catalogue.CHANNELS:
            raise ValueError(f"unknown channel {value[:40]!r}: one of {', '.join(catalogue.CHANNELS)}")
        return value

    @model_validator(mode="after")
    def _metric(self) -> "AlertRequest":
        kind = metric_kind(self.metric)
        if kind == "rate" and self.channel not in RATES[self.metric].channels:
            raise ValueError(f"metric: {self.metric} does not apply to the {self.channel} channel")
        if kind == "count" and self.metric not in count_metrics(self.channel):
            choices = sorted([r for r, rate in RATES.items() if self.channel in rate.channels]
                             + count_metrics(self.channel) + [SILENCE])
            raise ValueError(f"unknown metric {self.metric[:40]!r} for {self.channel}: one of {', '.join(choices)}")
        if kind == "silence":
            if self.op is not None or self.threshold is not None:
                raise ValueError("silence takes no op or threshold: it fires after window_minutes without events")
            return self
        if self.op is None or self.threshold is None:
            raise ValueError("op ('>' or '<') and threshold are required")
        if kind == "rate" and not 0 <= self.threshold <= 1:
            raise ValueError("threshold: a rate is a fraction from 0 to 1 (0.05 = 5%)")
        if kind == "count" and not 0 <= self.threshold <= MAX_COUNT_THRESHOLD:
            raise ValueError(f"threshold: a count from 0 to {MAX_COUNT_THRESHOLD}")
        return self


class Rule(AlertRequest):
    rule_id: str
    workspace: str
    created_at: int
    webhook_secret: Optional[str] = None

    @property
    def kind(self) -> str:
        return metric_kind(self.metric)

    def public(self, full: bool) -> dict[str, Any]:
        """The rule as the API shows it. The webhook secret is never shown again;
        without `full` (read keys) no address or URL is shown either."""
        body = self.model_dump(mode="json", exclude={"workspace", "webhook_secret"})
        body["id"] = body.pop("rule_id")
        if not full:
            body["notify"] = {"emails": len(self.notify.emails), "webhook": bool(self.notify.webhook_url)}
        return body


class RuleError(ValueError):
    """A request the caller must fix (422), or a limit reached (409)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def parse_request(payload: Any, allow_local: bool) -> AlertRequest:
    try:
        request = AlertRequest.model_validate(payload)
        if request.notify.webhook_url:
            check_webhook_url(request.notify.webhook_url, allow_local)
        return request
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "body"
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise RuleError("; ".join(parts)) from None
    except ValueError as exc:
        raise RuleError(str(exc)) from None

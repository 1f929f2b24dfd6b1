"""An experiment's settings (PUT/GET /v1/campaigns/{id}/experiments/{channel}):
baseline, success metric, confidence level, planned shares, attribution
window, ended. Every field is optional; what is not set has a documented
default, so an experiment works with no settings at all.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import catalogue, tables
from ..events import ID_PATTERN
from ..http import ApiError
from ..store import StoreConfig, with_retries
from . import stats
from .profiles import MAX_VARIANTS

DEFAULT_WINDOW_DAYS = 7.0
MAX_WINDOW_DAYS = 90.0
CACHE_SECONDS = 60.0


class SettingsBody(BaseModel):
    """The PUT body: each field replaces the stored one; null clears it (back to the default)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    baseline: Optional[str] = Field(default=None, pattern=ID_PATTERN)
    metric: Optional[str] = None
    confidence_level: Optional[float] = None
    planned_shares: Optional[dict[str, float]] = None
    attribution_window_days: Optional[float] = Field(default=None, gt=0, le=MAX_WINDOW_DAYS)
    ended: Optional[bool] = None

    @field_validator("confidence_level")
    @classmethod
    def _level(cls, value: float | None) -> float | None:
        if value is not None and value not in stats.LEVELS:
            raise ValueError("one of 0.9, 0.95, 0.99")
        return value

    @field_validator("planned_shares")
    @classmethod
    def _shares(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        import re
        if not 2 <= len(value) <= MAX_VARIANTS:
            raise ValueError(f"between 2 and {MAX_VARIANTS} variants")
        for variant, share in value.items():
            if not re.match(ID_PATTERN, variant):
                raise ValueError(f"variant {variant[:40]!r}: 1–128 letters, digits or . _ : @ + -")
            if not (isinstance(share, (int, float)) and 0 < share <= 100):
                raise ValueError(f"share of {variant}: a number above 0 (percentages or fractions)")
        total = sum(value.values())
        return {v: round(s / total, 6) for v, s in sorted(value.items())}


@dataclass(frozen=True)
class Settings:
    campaign_id: str
    channel: str
    baseline: str | None = None
    metric: str | None = None
    confidence_level: float | None = None
    planned_shares: dict[str, float] | None = None
    attribution_window_days: float | None = None
    ended: bool = False
    ended_at: int | None = None
    updated_at: int | None = None
    updated_by: str | None = None

    @property
    def level(self) -> float:
        return self.confidence_level or 0.95

    @property
    def window_seconds(self) -> int:
        return int((self.attribution_window_days or DEFAULT_WINDOW_DAYS) * 86400)

    def effective_metric(self) -> str:
        return self.metric or catalogue.DEFAULT_EXPERIMENT_METRIC[self.channel]

    def document(self) -> dict[str, Any]:
        """What GET answers: the stored values and the defaults that apply."""
        return {"campaign_id": self.campaign_id, "channel": self.channel,
                "baseline": self.baseline, "metric": self.metric, "confidence_level": self.confidence_level,
                "planned_shares": self.planned_shares, "attribution_window_days": self.attribution_window_days,
                "ended": self.ended, "ended_at": _iso(self.ended_at), "updated_at": _iso(self.updated_at),
                "updated_by": self.updated_by,
                "effective": {"baseline": self.baseline or "default: control, else A, else the first variant",
                              "metric": self.effective_metric(), "confidence_level": self.level,
                              "attribution_window_days": self.attribution_window_days or DEFAULT_WINDOW_DAYS},
                "metrics": catalogue.experiment_metrics_for(self.channel)}


def _iso(epoch: int | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch else None


FIELDS = ("baseline", "metric", "confidence_level", "planned_shares", "attribution_window_days", "ended")


class SettingsStore:
    def __init__(self, client: Any, config: StoreConfig, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.config = config
        self.clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, Settings]] = {}

    def get(self, workspace: str, campaign: str, channel: str, consistent: bool = True) -> Settings:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, ConsistentRead=consistent,
            Key=tables.key(tables.experiments_pk(workspace), f"{campaign}#{channel}")), self.config).get("Item")
        if not item:
            return Settings(campaign, channel)
        doc = json.loads(item["s"]["S"])
        return Settings(campaign, channel, **{k: doc.get(k) for k in FIELDS if k != "ended"},
                        ended=bool(doc.get("ended")), ended_at=doc.get("ended_at"),
                        updated_at=doc.get("updated_at"), updated_by=doc.get("updated_by"))

    def cached(self, workspace: str, campaign: str, channel: str) -> Settings:
        """For the aggregator: settings at most CACHE_SECONDS old (the attribution window)."""
        key = (workspace, campaign, channel)
        hit = self._cache.get(key)
        now = self.clock()
        if hit is None or now - hit[0] > CACHE_SECONDS:
            hit = self._cache[key] = (now, self.get(workspace, campaign, channel, consistent=False))
        return hit[1]

    def window_seconds(self, workspace: str, campaign: str, channel: str) -> int:
        return self.cached(workspace, campaign, channel).window_seconds

    def put(self, workspace: str, campaign: str, channel: str, body: Any, who: str) -> Settings:
        if channel not in catalogue.CHANNELS:
            raise ApiError(404, "not_found", f"channel: one of {', '.join(catalogue.CHANNELS)}")
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "the body must be a JSON object")
        try:
            parsed = SettingsBody.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise ApiError(422, "invalid_settings", f"{where}: {first.get('msg', 'invalid')}"[:300]) from None
        if parsed.metric is not None and parsed.metric not in catalogue.experiment_metrics_for(channel):
            raise ApiError(422, "invalid_settings", f"metric: one of {', '.join(catalogue.experiment_metrics_for(channel))}"
                                                    f" on the {channel} channel")
        current = self.get(workspace, campaign, channel)
        doc = {k: getattr(current, k) for k in FIELDS}
        for name in body:
            doc[name] = getattr(parsed, name)
        now = int(self.clock())
        doc["ended"] = bool(doc.get("ended"))
        doc["ended_at"] = (current.ended_at or now) if doc["ended"] else None
        doc["updated_at"], doc["updated_by"] = now, who[:200]
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name,
                Item={**tables.key(tables.experiments_pk(workspace), f"{campaign}#{channel}"),
                      "s": {"S": json.dumps(doc, separators=(",", ":"))}}), self.config)
        except ClientError as exc:  # pragma: no cover - with_retries turns throttling into StoreUnavailable
            raise ApiError(503, "unavailable", str(exc)) from exc
        return self.get(workspace, campaign, channel)

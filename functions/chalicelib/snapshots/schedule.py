"""When a subscription is due, and claiming a period so it is sent at most once.

A period is identified by its scheduled instant in UTC (`2026-11-25T08:00Z`):
ids sort in time order whatever the frequency, so the claim is one
conditional UpdateItem — `last_sent_period < :p` — and of two overlapping runs
exactly one wins. A subscription is due for the most recent scheduled
instant that is not before its creation (the first snapshot goes out at the
first occurrence after subscribing; missed occurrences collapse into one).

Failures: recipients whose send failed are written back as `retry_recipients`
for the same period; the next run claims them (conditional on the `claims`
counter, so again one winner) and tries again, at most MAX_ATTEMPTS times.
A run that dies between claim and send loses that period for those
recipients: we prefer a missed snapshot to a duplicate one.

Deltas: after the first successful send of a period the totals it showed
become `snapshot_totals`; the ones before are kept as `prev_totals`, so a
retry within the period still compares with the previous period.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Optional
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from .subscriptions import REGISTRY_PK, WEEKDAYS, Daily, Hourly, Subscription, Weekly, subs_pk

MAX_ATTEMPTS = 5


def period_id(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def latest_occurrence(freq: Hourly | Daily | Weekly, now: datetime) -> datetime:
    """The most recent scheduled instant at or before `now` (UTC-aware result)."""
    now = now.astimezone(timezone.utc)
    if isinstance(freq, Hourly):
        at = now.replace(minute=freq.minute, second=0, microsecond=0)
        return at if at <= now else at - timedelta(hours=1)
    tz = ZoneInfo(freq.tz)
    hour, minute = (int(x) for x in freq.time.split(":"))
    local_day = now.astimezone(tz).date()
    if isinstance(freq, Weekly):
        local_day -= timedelta(days=(local_day.weekday() - WEEKDAYS.index(freq.day)) % 7)
    step = timedelta(days=7 if isinstance(freq, Weekly) else 1)
    for _ in range(3):  # DST shifts can push today's instant past `now`: step back
        at = datetime(local_day.year, local_day.month, local_day.day, hour, minute, tzinfo=tz).astimezone(timezone.utc)
        if at <= now:
            return at
        local_day -= step
    return at  # pragma: no cover


@dataclass
class SubState:
    """A subscription with its schedule state, as read from its item."""

    sub: Subscription
    last_sent_period: Optional[str] = None
    claims: int = 0
    attempts: int = 0
    retry_recipients: list[str] = field(default_factory=list)
    snapshot_period: Optional[str] = None
    snapshot_totals: dict[str, Any] = field(default_factory=dict)
    prev_totals: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "SubState":
        s = lambda name: item[name]["S"] if name in item else None  # noqa: E731
        return cls(
            sub=Subscription.model_validate_json(item["doc"]["S"]),
            last_sent_period=s("last_sent_period"),
            claims=int(item.get("claims", {}).get("N", "0")),
            attempts=int(item.get("attempts", {}).get("N", "0")),
            retry_recipients=[v["S"] for v in item.get("retry_recipients", {}).get("L", [])],
            snapshot_period=s("snapshot_period"),
            snapshot_totals=json.loads(s("snapshot_totals") or "{}"),
            prev_totals=json.loads(s("prev_totals") or "{}"),
        )

    def baseline(self, period: str) -> dict[str, Any]:
        """The totals of the previous period's snapshot (what deltas compare with)."""
        return self.prev_totals if self.snapshot_period == period else self.snapshot_totals


@dataclass(frozen=True)
class Plan:
    """What to do for one subscription now: send `period` to `recipients`."""

    state: SubState
    period: str
    recipients: tuple[str, ...]
    retry: bool


def plan(state: SubState, now: datetime) -> Optional[Plan]:
    sub = state.sub
    occurrence = latest_occurrence(sub.frequency, now)
    if sub.created_at - sub.created_at % 60 > occurrence.timestamp():
        return None  # the first occurrence after subscribing has not come yet
    period = period_id(occurrence)
    if state.last_sent_period is None or state.last_sent_period < period:
        return Plan(state, period, tuple(sub.recipients), retry=False)
    if state.last_sent_period == period and state.retry_recipients and state.attempts < MAX_ATTEMPTS:
        still = [r for r in state.retry_recipients if r in sub.recipients]  # unsubscribed meanwhile: skip
        return Plan(state, period, tuple(still), retry=True) if still else None
    return None


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class ScheduleStore:
    """Reads every subscription through the registry; claims and settles periods."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def _key(self, sub: Subscription) -> dict[str, Any]:
        return {"pk": {"S": subs_pk(sub.workspace)}, "sk": {"S": sub.subscription_id}}

    def _registry(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": REGISTRY_PK}}}
        while True:
            page = self.client.query(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def states(self) -> list[SubState]:
        """Every subscription of every workspace (BatchGetItem, 100 keys a call)."""
        keys = [{"pk": {"S": subs_pk(r["workspace"]["S"])}, "sk": {"S": r["subscription_id"]["S"]}}
                for r in self._registry()]
        out = []
        for i in range(0, len(keys), 100):
            request = {self.table: {"Keys": keys[i:i + 100], "ConsistentRead": True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                out.extend(SubState.from_item(item) for item in page["Responses"].get(self.table, []))
                request = page.get("UnprocessedKeys") or {}
        return sorted(out, key=lambda s: (s.sub.workspace, s.sub.subscription_id))

    def claim(self, p: Plan, now: float) -> bool:
        """One conditional write: True for the one run that owns this send."""
        if p.retry:
            update = "SET claims = :next, attempts = attempts + :one, claimed_at = :now REMOVE retry_recipients"
            condition = "last_sent_period = :p AND claims = :seen"
        else:
            update = "SET last_sent_period = :p, claims = :next, attempts = :one, claimed_at = :now REMOVE retry_recipients"
            condition = "attribute_exists(pk) AND (attribute_not_exists(last_sent_period) OR last_sent_period < :p)"
        values = {":p": {"S": p.period}, ":next": {"N": str(p.state.claims + 1)}, ":one": {"N": "1"},
                  ":now": {"N": str(int(now))}}
        if p.retry:
            values[":seen"] = {"N": str(p.state.claims)}
        try:
            self.client.update_item(TableName=self.table, Key=self._key(p.state.sub), UpdateExpression=update,
                                    ConditionExpression=condition, ExpressionAttributeValues=values)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def settle(self, p: Plan, failed: list[str], totals: Optional[dict[str, Any]], error: str = "",
               delivery: Optional[dict[str, Any]] = None) -> None:
        """Record the outcome: recipients to retry, the totals shown (first success of a period),
        and what the send did (`last_delivery`: sent, failed, not confirmed, over the quota)."""
        sets, removes = [], []
        values: dict[str, Any] = {":p": {"S": p.period}}
        if delivery is not None:
            sets.append("last_delivery = :d")
            values[":d"] = {"S": json.dumps(delivery, separators=(",", ":"))}
        if failed:
            sets.append("retry_recipients = :r, last_error = :e")
            values[":r"] = {"L": [{"S": r} for r in failed]}
            values[":e"] = {"S": error[:500] or "send failed"}
        else:
            removes.append("retry_recipients")
        if totals is not None and p.state.snapshot_period != p.period:
            sets.append("snapshot_period = :p, snapshot_totals = :t, prev_totals = :b")
            values[":t"] = {"S": json.dumps(totals, separators=(",", ":"))}
            values[":b"] = {"S": json.dumps(p.state.snapshot_totals, separators=(",", ":"))}
        expression = (f"SET {', '.join(sets)} " if sets else "") + (f"REMOVE {', '.join(removes)}" if removes else "")
        try:
            self.client.update_item(TableName=self.table, Key=self._key(p.state.sub),
                                    UpdateExpression=expression.strip(),
                                    ConditionExpression="last_sent_period = :p", ExpressionAttributeValues=values)
        except ClientError as exc:
            if not _conditional_failed(exc):  # deleted meanwhile, or a newer period already claimed
                raise

"""Alert notifications off the evaluation path: one queue message per state change.

The evaluator commits a state change and enqueues a Job (a few hundred
bytes); the delivery function (app.deliver_alerts, an SQS consumer) sends
the emails once and makes one webhook attempt under a wall-clock deadline.
An attempt that may succeed later (no answer, 408/425/429, 5xx) goes back
on the queue with a delay (RETRY_DELAYS), so a slow or dead receiver costs
its own rule one deadline per attempt and never delays the evaluation of
another workspace. The rule's history item says what happened:

  delivery.emails_sent / emails_failed         once the emails were handled
  delivery.webhook.state                       pending | retrying | delivered | failed
  delivery.webhook.attempts / status / error   the last attempt; next_attempt_at while retrying

Messages are delivered at least once: the history item is read first, so a
repeated message neither re-sends the emails nor repeats a webhook attempt
already recorded, and every webhook carries X-LiveReport-Delivery for
receivers that deduplicate.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Optional, Protocol

from aws_lambda_powertools import Logger

from .notify import Change, webhook_payload
from .store import AlertStore
from .webhook import WebhookClient

logger = Logger(service="livereport", child=True)

#: Seconds before attempts 2, 3, ...: ~37 minutes in all (SQS delays stop at 900 s).
RETRY_DELAYS = (30, 120, 300, 900, 900)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: (change, unsubscribe links by recipient) -> {"emails_sent": n, "emails_failed": n, ...}
EmailSender = Callable[[Change, dict[str, str]], dict[str, int]]


@dataclass(frozen=True)
class Job:
    """One state change to announce: what the message body carries."""

    workspace: str
    rule_id: str
    history_sk: str
    campaign_id: str
    to: str
    value: Optional[float]
    volume: int
    at: int
    attempt: int = 1
    #: each email recipient's signed unsubscribe link (lower-cased address -> URL), signed by the
    #: evaluator: the delivery function, which posts to admins' URLs, holds no signing secret
    links: dict[str, str] = field(default_factory=dict)

    @property
    def delivery_id(self) -> str:
        return f"{self.rule_id}/{self.history_sk}"

    def body(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_body(cls, text: str) -> "Job":
        """ValueError for anything that is not a job this code wrote."""
        try:
            doc = json.loads(text)
            job = cls(**doc)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not an alert delivery job: {exc}") from None
        if not (isinstance(job.workspace, str) and isinstance(job.rule_id, str) and isinstance(job.history_sk, str)
                and job.to in ("firing", "ok") and isinstance(job.attempt, int) and 1 <= job.attempt <= MAX_ATTEMPTS
                and isinstance(job.links, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                        for k, v in job.links.items())):
            raise ValueError("not an alert delivery job: bad fields")
        return job

    def next(self) -> "Job":
        return replace(self, attempt=self.attempt + 1)


class Queue(Protocol):
    def send(self, job: Job, delay_seconds: int = 0) -> None: ...


class SqsQueue:
    """The stage's delivery queue (ALERT_DELIVERY_QUEUE_URL)."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, job: Job, delay_seconds: int = 0) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=job.body(), DelaySeconds=min(900, delay_seconds))


class Deliverer:
    """Send one job's notifications and record the outcome on the history item."""

    def __init__(self, alerts: AlertStore, send_emails: EmailSender, webhooks: WebhookClient, web_url: str,
                 queue: Optional[Queue], clock: Callable[[], float] = time.time) -> None:
        self.alerts = alerts
        self.send_emails = send_emails
        self.webhooks = webhooks
        self.web_url = web_url
        self.queue = queue
        self.clock = clock

    def deliver(self, job: Job) -> str:
        """The webhook's state after this attempt ("none" without a webhook, "gone" when
        the rule or its history item no longer exists). Store errors raise (the queue retries)."""
        rule = self.alerts.rule(job.workspace, job.rule_id)
        entry = self.alerts.history_entry(job.workspace, job.rule_id, job.history_sk)
        if rule is None or entry is None:
            logger.info("alert delivery dropped: rule or history gone", extra={"rule_id": job.rule_id})
            return "gone"
        delivery: dict[str, Any] = dict(entry.get("delivery") or {})
        change = Change(rule, job.campaign_id, job.to, job.value, job.volume, job.at)
        if "emails_sent" not in delivery:
            delivery.update(self.send_emails(change, job.links))
            delivery.pop("pending", None)
            self.alerts.record_delivery(job.workspace, job.rule_id, job.history_sk, delivery)
        if not (rule.notify.webhook_url and rule.webhook_secret):
            return "none"
        hook = dict(delivery.get("webhook") or {})
        if hook.get("state") in ("delivered", "failed") or int(hook.get("attempts") or 0) >= job.attempt:
            return str(hook.get("state"))  # a repeated message: this attempt already happened
        result = self.webhooks.post(rule.notify.webhook_url, rule.webhook_secret,
                                    webhook_payload(change, self.web_url), job.delivery_id)
        now = int(self.clock())
        hook = {**result.as_dict(), "attempts": job.attempt - 1 + max(1, result.attempts), "last_attempt_at": now}
        if result.ok:
            hook["state"] = "delivered"
        elif result.retryable and self.queue is not None and job.attempt < MAX_ATTEMPTS:
            delay = RETRY_DELAYS[job.attempt - 1]
            self.queue.send(job.next(), delay)
            hook.update(state="retrying", next_attempt_at=now + delay)
        else:
            hook["state"] = "failed"
        delivery["webhook"] = hook
        self.alerts.record_delivery(job.workspace, job.rule_id, job.history_sk, delivery)
        if not result.ok:
            logger.warning("alert webhook failed", extra={"rule_id": rule.rule_id, "workspace": job.workspace,
                                                          **{k: hook.get(k) for k in ("state", "attempts", "status",
                                                                                      "error")}})
        return str(hook["state"])


def handle_records(records: list[tuple[str, str]], deliverer: Deliverer) -> list[str]:
    """(message id, body) pairs of one SQS batch → the ids to retry (batchItemFailures).
    A body that is no job is dropped (logged): retrying it cannot help."""
    failed: list[str] = []
    for message_id, body in records:
        try:
            job = Job.from_body(body)
        except ValueError as exc:
            logger.error("alert delivery message dropped", extra={"message_id": message_id, "why": str(exc)})
            continue
        try:
            deliverer.deliver(job)
        except Exception:  # noqa: BLE001 - this message is retried, the batch's others are not
            logger.exception("alert delivery failed", extra={"rule_id": job.rule_id, "message_id": message_id})
            failed.append(message_id)
    return failed

"""The scheduled evaluator: every minute, every workspace's rules on fresh minute counters.

Reads stay bounded: rules are grouped by (campaign, channel) and each group
costs one Query of minute items spanning twice its longest window (at most
120 minutes), whatever the number of rules. `"*"` rules expand to the
campaigns of the directory that have the channel and had events within that
span, plus those still firing (so they can resolve). A specific campaign
with no event in the span and an `ok` state costs no Query at all.

A state change is committed with a conditional write (store.transition);
only the evaluator that wins it enqueues the notification, so two
evaluators running at once notify once. The emails and the webhook are
sent by the delivery function (deliveries.py), never here: a receiver that
never answers cannot delay the evaluation of the workspaces after it.
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from aws_lambda_powertools import Logger

from .. import buckets, tables
from ..consent.gate import SendGate, unsubscribe_url
from ..consent.lists import ALERT, ref
from ..snapshots import mail
from ..snapshots.tokens import TokenSigner, secret_from_env
from ..store import ReadStats
from .evaluate import evaluate, minute_end, minute_series, read_span
from .deliveries import Deliverer, Job, Queue
from .notify import Change, render_email
from .rules import ALL_CAMPAIGNS, Rule
from .store import AlertStore, State
from .webhook import WebhookClient

logger = Logger(service="livereport", child=True)
OnEmail = Callable[[Rule, str, bytes], None]  # (rule, recipient, raw MIME): local outbox


@dataclass(frozen=True)
class Settings:
    sender: str
    web_url: str
    public_api_url: str = "http://127.0.0.1:8000"  # unsubscribe links

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        return cls(sender=env.get("SENDER_EMAIL", "reports@example.com"),
                   web_url=(env.get("DASHBOARD_URL") or "http://127.0.0.1:8080").rstrip("/"),
                   public_api_url=env.get("PUBLIC_API_URL", "http://127.0.0.1:8000").rstrip("/"))


@dataclass
class RunResult:
    workspaces: int = 0
    rules: int = 0
    queries: int = 0
    fired: int = 0
    resolved: int = 0
    lost: int = 0  # transitions another evaluator committed first
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"workspaces": self.workspaces, "rules": self.rules, "queries": self.queries, "fired": self.fired,
                "resolved": self.resolved, "lost": self.lost, "notifications": len(self.notifications)}


class AlertRunner:
    def __init__(self, services: Any, ses: Any, settings: Settings, webhooks: WebhookClient,
                 on_email: Optional[OnEmail] = None, queue: Optional[Queue] = None,
                 signer: Optional[TokenSigner] = None) -> None:
        """Without a queue (tools, some tests) notifications are delivered inline,
        with the webhook client's own retries; every stage has one."""
        self.services = services
        self.gate = SendGate.of(services)  # confirmed recipients only, within the daily quota
        self._signer = signer  # read from the environment when an email first needs a link
        self.ses = ses
        self.settings = settings
        self.webhooks = webhooks
        self.on_email = on_email
        self.queue = queue
        self.alerts = AlertStore(services.client, services.config.table_name)

    def deliverer(self) -> Deliverer:
        return Deliverer(self.alerts, self.send_emails, self.webhooks, self.settings.web_url, self.queue)

    def run(self, now: Optional[float] = None) -> RunResult:
        now = time.time() if now is None else now
        result = RunResult()
        for workspace in self.alerts.workspaces():
            result.workspaces += 1
            try:
                self.run_workspace(workspace, now, result)
            except Exception:  # noqa: BLE001 - one workspace never stops the others
                logger.exception("alert evaluation failed", extra={"workspace": workspace})
        (logger.info if result.fired or result.resolved else logger.debug)("alert run", extra=result.summary())
        return result

    def _targets(self, workspace: str, rules: list[Rule], states: dict[tuple[str, str], State],
                 end: int) -> dict[tuple[str, str], list[Rule]]:
        """(campaign, channel) → rules to evaluate there."""
        directory = {c["campaign_id"]: c for c in self.services.directory.list(workspace)}
        groups: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        for rule in rules:
            oldest = read_span(rule.window_minutes, end)[0]
            firing = {c for (r, c), s in states.items() if r == rule.rule_id and s.state == "firing"}
            if rule.campaign_id == ALL_CAMPAIGNS:
                candidates = [c for c, info in directory.items() if rule.channel in info["channels"]]
            else:
                candidates = [rule.campaign_id]
            for campaign in candidates:
                info = directory.get(campaign)
                recent = bool(info and rule.channel in info["channels"] and (info["last_event"] or 0) >= oldest)
                if recent or campaign in firing:
                    groups[(campaign, rule.channel)].append(rule)
        return groups

    def run_workspace(self, workspace: str, now: float, result: RunResult) -> None:
        rules, states = self.alerts.load(workspace)
        result.rules += len(rules)
        if not rules:
            return
        end = minute_end(now)
        for (campaign, channel), group in sorted(self._targets(workspace, rules, states, end).items()):
            start = min(read_span(r.window_minutes, end)[0] for r in group)
            lo, hi = buckets.sk_bounds("", tables.MINUTE, start, end)
            stats = ReadStats()
            items = list(self.services.store.query(tables.counter_pk(workspace, campaign, channel), lo, hi, stats))
            result.queries += stats.queries
            series = minute_series(items, start, end)
            for rule in group:
                state = states.get((rule.rule_id, campaign)) or State(rule.rule_id, campaign)
                self._apply(workspace, rule, state, series, end, result)

    def _apply(self, workspace: str, rule: Rule, state: State, series: Any, end: int, result: RunResult) -> None:
        verdict = evaluate(rule, series, end, state.state == "firing")
        r = verdict.reading
        if not (verdict.fire or verdict.resolve):
            self.alerts.observe(workspace, state, r.value, r.volume, end)
            return
        to = "firing" if verdict.fire else "ok"
        detail: dict[str, Any] = {"threshold": rule.threshold, "op": rule.op, "metric": rule.metric,
                                  "window_minutes": rule.window_minutes}
        if rule.notify.emails or rule.notify.webhook_url:
            detail["delivery"] = {"pending": True, **({"webhook": {"state": "pending", "attempts": 0}}
                                                      if rule.notify.webhook_url else {})}
        history_sk = self.alerts.transition(workspace, state, to, r.value, r.volume, end, detail)
        if history_sk is None:
            result.lost += 1
            return
        if verdict.fire:
            result.fired += 1
        else:
            result.resolved += 1
        try:
            links = self.unsubscribe_links(rule, end)
        except Exception:  # noqa: BLE001 - the state change stands; without links its emails fail, counted
            logger.exception("unsubscribe links not signed", extra={"rule_id": rule.rule_id})
            links = {}
        job = Job(workspace, rule.rule_id, history_sk, state.campaign_id, to, r.value, r.volume, end, links=links)
        result.notifications.append({"rule_id": rule.rule_id, "campaign_id": state.campaign_id, "to": to,
                                     "queued": self._enqueue(job)})

    def _enqueue(self, job: Job) -> bool:
        """Queue the job; without a queue, or if the queue refuses it, deliver it here (bounded
        by the webhook deadline) rather than lose it. True when queued."""
        if self.queue is not None:
            try:
                self.queue.send(job)
                return True
            except Exception:  # noqa: BLE001
                logger.exception("alert delivery not queued: delivering inline", extra={"rule_id": job.rule_id})
        try:
            self.deliverer().deliver(job)
        except Exception:  # noqa: BLE001 - the state change stands; its delivery record says what is missing
            logger.exception("alert delivery failed", extra={"rule_id": job.rule_id})
        return False

    def unsubscribe_links(self, rule: Rule, at: int) -> dict[str, str]:
        """Each email recipient's unsubscribe link, signed here: the job carries them to the
        delivery function, which holds no signing secret (infra/cdk/permissions.py)."""
        if not rule.notify.emails:
            return {}
        self._signer = self._signer or TokenSigner(secret_from_env())
        list_ref = ref(ALERT, rule.rule_id)
        return {a.lower(): unsubscribe_url(self._signer, self.settings.public_api_url, rule.workspace, list_ref, a, at)
                for a in rule.notify.emails}

    def send_emails(self, change: Change, links: Optional[dict[str, str]] = None) -> dict[str, int]:
        """Email every confirmed recipient, within the daily quota (consent/gate.py), each with
        their own unsubscribe link (`links`, signed by the evaluator; else signed here); failures
        and what was held back are counted, never raised."""
        rule = change.rule
        out = {"emails_sent": 0, "emails_failed": 0}
        if not rule.notify.emails:
            return out
        list_ref = ref(ALERT, rule.rule_id)
        admitted = self.gate.admit(rule.workspace, list_ref, rule.notify.emails, change.at)
        out.update({f"emails_{k}": v for k, v in admitted.counts().items()})
        for recipient in admitted.send:
            try:
                url = (links or {}).get(recipient.lower()) or self.unsubscribe_links(rule, change.at)[
                    recipient.lower()]
                rendered = render_email(change, self.settings.web_url, url)
                raw = mail.build_message(self.settings.sender, recipient, rendered, [], [], url, change.at)
                mail.send_raw(self.ses, self.settings.sender, recipient, raw)
            except Exception as exc:  # noqa: BLE001
                out["emails_failed"] += 1
                self.gate.release(rule.workspace, 1, change.at)
                logger.warning("alert email failed", extra={"rule_id": rule.rule_id, "error": repr(exc),
                                                            "recipient_domain": recipient.rsplit("@", 1)[-1]})
                continue
            out["emails_sent"] += 1
            if self.on_email:
                try:
                    self.on_email(rule, recipient, raw)
                except Exception:  # noqa: BLE001 - a local outbox problem is not a send failure
                    logger.exception("on_email hook failed")
        return out

"""The scheduled function's body: find due subscriptions, claim, build, render, send.

The report documents are built by the same LiveReports / GlobalReports the
API serves, so an email shows exactly the API's numbers. One subscription's
failure (a report error, an SES rejection) is logged with its id and never
stops the others; failed recipients are retried on the next run.

Only recipients who confirmed are sent to, within the workspace's daily
quota (consent/gate.py); what was held back is recorded on the subscription
(`last_delivery`), never silently dropped.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from ..csv_export import report_csv
from ..experiments.report import ExperimentReports
from ..experiments.settings import SettingsStore
from ..reports.global_ import CHANNELS as GLOBAL_CHANNELS, GlobalQuery
from ..reports.live import LiveQuery
from ..catalogue import CHANNELS
from ..secrets import dashboard_url
from ..store import StoreConfig
from ..consent.gate import Admitted, SendGate, unsubscribe_url
from ..consent.lists import SUB, ref
from . import chart, mail, render, schedule
from .subscriptions import Daily, Subscription, Weekly
from .tokens import TokenSigner

logger = Logger(service="livereport", child=True)
OnSent = Callable[[Subscription, str, str, bytes], None]  # (subscription, recipient, period, raw MIME)


@dataclass(frozen=True)
class Settings:
    sender: str
    public_api_url: str  # base URL of the API, for unsubscribe links
    dashboard_url: str = ""  # the dashboard's URL, for deep links ("" leaves them out)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        return cls(sender=env.get("SENDER_EMAIL", "reports@example.com"),
                   public_api_url=env.get("PUBLIC_API_URL", "http://127.0.0.1:8000").rstrip("/"),
                   dashboard_url=dashboard_url(env).strip())  # the API's from SSM (secrets.py)


def deep_link(base: str, sub: Subscription, tab: str) -> str:
    """The same view on the dashboard (the page reads these parameters; never a key): the subscription's
    workspace, so a reader whose page is in another one is not shown another campaign's numbers, and the
    email's time zone, so the page reads the days the email covered."""
    if not base:
        return ""
    params = {"ws": sub.workspace, "campaign": sub.campaign_id, "tab": tab, "mode": sub.report}
    if sub.report == "live":
        params["window"] = "24h"
    params["tz"] = render.zone_of(sub).key
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


@dataclass
class RunResult:
    due: int = 0
    claimed: int = 0
    sent: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    over_quota: int = 0  # confirmed recipients not sent: the workspace's daily quota was used up

    def summary(self) -> dict[str, int]:
        return {"due": self.due, "claimed": self.claimed, "sent": len(self.sent), "failed": len(self.failed),
                "over_quota": self.over_quota}


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]


class SnapshotRunner:
    def __init__(self, services: Any, ses: Any, settings: Settings, signer: TokenSigner,
                 on_sent: Optional[OnSent] = None) -> None:
        self.services = services
        self.ses = ses
        self.settings = settings
        self.signer = signer
        self.on_sent = on_sent
        self.store = schedule.ScheduleStore(services.client, services.config.table_name)
        self.gate = SendGate.of(services)

    def sections(self, sub: Subscription, now: float) -> list[render.Section]:
        """The report documents of a subscription, exactly as the API builds them."""
        summary = next((c for c in self.services.directory.list(sub.workspace)
                        if c["campaign_id"] == sub.campaign_id), {})
        known = summary.get("channels", [])
        if sub.report == "live":
            tabs = [sub.channel] if sub.channel != "all" else ["campaign", *[c for c in CHANNELS if c in known]]
            sections = [render.Section(f"live:{tab}", tab,
                                       self.services.live.report(LiveQuery(sub.workspace, sub.campaign_id, tab), now))
                        for tab in tabs]
        else:
            tz = sub.frequency.tz if isinstance(sub.frequency, (Daily, Weekly)) else "UTC"
            channels = [sub.channel] if sub.channel != "all" else [c for c in GLOBAL_CHANNELS if c in known] or ["email"]
            sections = [render.Section(f"global:{c}", c, self.services.globals.report(
                GlobalQuery(sub.workspace, sub.campaign_id, c, tz=tz), now)) for c in channels]
        for s in sections:  # a channel whose events carried variants: its experiment (from its start, either report)
            if s.channel in summary.get("experiments", []):
                s.experiment = self.experiments().report(sub.workspace, sub.campaign_id, s.channel, None, now)
        return sections

    def experiments(self) -> ExperimentReports:
        """The reports GET /v1/campaigns/{id}/experiment serves (its success metric: the experiment's setting)."""
        services = self.services
        return ExperimentReports(services.store, SettingsStore(services.client, StoreConfig(services.config.table_name)),
                                 lambda workspace, campaign: True, services.live.currency_of)

    def unsubscribe_url(self, sub: Subscription, recipient: str, now: float) -> str:
        return unsubscribe_url(self.signer, self.settings.public_api_url, sub.workspace,
                               ref(SUB, sub.subscription_id), recipient, now)

    def run(self, now: Optional[float] = None) -> RunResult:
        now = time.time() if now is None else now
        moment = datetime.fromtimestamp(now, timezone.utc)
        result = RunResult()
        for state in self.store.states():
            try:
                p = schedule.plan(state, moment)
                if p is None or not p.recipients:
                    continue
                sub, list_ref = state.sub, ref(SUB, state.sub.subscription_id)
                confirmed = self.gate.confirmed(sub.workspace, list_ref, p.recipients)
                if not confirmed:
                    continue  # nobody confirmed yet: the period stays open for whoever confirms first
                result.due += 1
                if not self.store.claim(p, now):
                    continue  # another run owns this period
                result.claimed += 1
                admitted = self.gate.admit(sub.workspace, list_ref, p.recipients, now, confirmed)
            except Exception:  # noqa: BLE001 - one subscription never stops the others
                logger.exception("snapshot planning failed", extra={"subscription_id": state.sub.subscription_id})
                continue
            self._send(p, admitted, now, result)
        (logger.info if result.due else logger.debug)("snapshot run", extra=result.summary())
        return result

    def build(self, sub: Subscription, now: float, period: str) -> tuple[list[render.Section], list[mail.InlineImage],
                                                                         list[mail.Attachment]]:
        """The sections of one email with their charts (inline PNGs) and CSV attachments."""
        sections = self.sections(sub, now)
        images, attachments = [], []
        tz = render.zone_of(sub).key
        for i, s in enumerate(sections):
            s.link = deep_link(self.settings.dashboard_url, sub, s.channel)
            label = render.channel_name(s.channel, sub.language)
            png = chart.render_chart(s.doc, sub.language, f"{label} · {render.period_text(sub, s.doc, now)}",
                                     tz, now)
            if png:
                s.chart_cid = f"chart{i}.{sub.subscription_id}@livereport"
                images.append(mail.InlineImage(s.chart_cid, png))
            name = _safe_name(f"{sub.campaign_id}-{sub.report}-{s.channel}-{period.replace(':', '')}")
            attachments.append(mail.Attachment(f"{name}.csv", report_csv(s.doc, sub.workspace, tz).encode("utf-8")))
        return sections, images, attachments

    def send_test(self, sub: Subscription, recipient: str, now: float) -> str:
        """One snapshot of `sub` as of now to one address (the requester's own), outside the schedule:
        no claim, no baseline moved, "Test" in the subject and no unsubscribe link (the address may
        not be a recipient). Returns the SES message id; raises on a send failure."""
        sections, images, attachments = self.build(sub, now, "test")
        first_tab = sections[0].channel if sections else "campaign"
        rendered = render.render(sub, sections, {}, now, recipient, "",
                                 deep_link(self.settings.dashboard_url, sub, first_tab), test=True)
        raw = mail.build_message(self.settings.sender, recipient, rendered, images, attachments, "", now)
        message_id = mail.send_raw(self.ses, self.settings.sender, recipient, raw)
        if self.on_sent:
            try:
                self.on_sent(sub, recipient, "test", raw)
            except Exception:  # noqa: BLE001 - a local outbox problem is not a send failure
                logger.exception("on_sent hook failed", extra={"subscription_id": sub.subscription_id})
        return message_id

    def _send(self, p: schedule.Plan, admitted: Admitted, now: float, result: RunResult) -> None:
        sub = p.state.sub
        delivery = {"period": p.period, "at": int(now), **admitted.counts()}
        if admitted.over_quota:
            result.over_quota += admitted.over_quota
            logger.warning("daily email quota reached", extra={"subscription_id": sub.subscription_id,
                                                              "workspace": sub.workspace,
                                                              "held": admitted.over_quota})
        if not admitted.send:
            self.store.settle(p, [], None, "", {**delivery, "sent": 0, "failed": 0})
            return
        log = {"subscription_id": sub.subscription_id, "workspace": sub.workspace, "period": p.period}
        try:
            sections, images, attachments = self.build(sub, now, p.period)
            baseline = p.state.baseline(p.period)
        except Exception as exc:  # noqa: BLE001
            logger.exception("snapshot build failed; retried next run", extra=log)
            result.failed += [{**log, "recipient": r, "error": repr(exc)} for r in admitted.send]
            self.gate.release(sub.workspace, len(admitted.send), now)
            self.store.settle(p, list(admitted.send), None, repr(exc), {**delivery, "sent": 0,
                                                                         "failed": len(admitted.send)})
            return
        failed, last_error = [], ""
        for recipient in admitted.send:
            try:
                url = self.unsubscribe_url(sub, recipient, now)
                first_tab = sections[0].channel if sections else "campaign"
                rendered = render.render(sub, sections, baseline, now, recipient, url,
                                         deep_link(self.settings.dashboard_url, sub, first_tab))
                raw = mail.build_message(self.settings.sender, recipient, rendered, images, attachments, url, now)
                message_id = mail.send_raw(self.ses, self.settings.sender, recipient, raw)
            except Exception as exc:  # noqa: BLE001 - SES errors and anything else: retry next run
                last_error = repr(exc)
                failed.append(recipient)
                self.gate.release(sub.workspace, 1, now)
                result.failed.append({**log, "recipient": recipient, "error": last_error})
                logger.warning("snapshot send failed; retried next run",
                               extra={**log, "recipient_domain": recipient.rsplit("@", 1)[-1], "error": last_error})
                continue
            result.sent.append({**log, "recipient": recipient, "message_id": message_id})
            if self.on_sent:
                try:
                    self.on_sent(sub, recipient, p.period, raw)
                except Exception:  # noqa: BLE001 - a local outbox problem is not a send failure
                    logger.exception("on_sent hook failed", extra=log)
        sent_any = len(failed) < len(admitted.send)
        totals = {s.key: render.snapshot_numbers(s.doc) for s in sections} if sent_any else None
        self.store.settle(p, failed, totals, last_error,
                          {**delivery, "sent": len(admitted.send) - len(failed), "failed": len(failed)})

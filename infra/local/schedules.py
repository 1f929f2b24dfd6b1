"""Local mode's scheduler: `chalice local` runs no `@app.schedule`, so we do.

A daemon thread calls the same function the Lambda schedule calls
(app.snapshot_runner_for().run) every LIVEREPORT_SNAPSHOT_SECONDS (default
300, the Lambda's rate), sending through SES on the moto server. Each message
sent is also written, byte for byte as handed to SES, to an `.eml` file in
LIVEREPORT_OUTBOX (default ./outbox) so it can be opened in any mail client.

moto refuses to send from an unverified address, so the sender identity
(SENDER_EMAIL, default reports@example.com) is created on the moto server first.

Alerts (issue 13) run the same way: app.alert_runner_for().run() every
LIVEREPORT_ALERT_SECONDS (default 60, the Lambda's rate). Their notifications
go through an SQS queue on the moto server, as in AWS, which a QueueDrainer
thread hands to app.deliver_alert_records (the Lambda handler's body); their
emails land in the same outbox. With the demo on, seed_demo_alerts() puts one rule on the
demo's `flash-sale` campaign, whose bounce rate spikes now and then.

Queued emails (confirmation requests to new recipients, invitations of people
who already have an account) go out through app.mailer_for().run() every
LIVEREPORT_MAIL_SECONDS (default 60, the Lambda's rate), into the same outbox.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_SECONDS = 300
DEFAULT_ALERT_SECONDS = 60
DEFAULT_MAIL_SECONDS = 60
DEMO_RULE = {"name": "Flash sale: bounce spike", "campaign_id": "flash-sale", "channel": "email",
             "metric": "bounce_rate", "op": ">", "threshold": 0.15, "window_minutes": 5, "min_volume": 50,
             "notify": {"emails": ["marketing@example.com"]}, "language": "en"}


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, sub: Any, recipient: str, period: str, raw: bytes) -> None:
        self.count += 1
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{period}-{sub.subscription_id}-{recipient}")
        path = self.folder / f"{safe}-{int(time.time() * 1000)}.eml"
        path.write_bytes(raw)
        print(f"snapshot email written: {path}", flush=True)


class AlertOutbox:
    """Alert emails as `.eml` files beside the snapshots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, rule: Any, recipient: str, raw: bytes) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"alert-{rule.rule_id}-{recipient}")
        path = self.folder / f"{safe}-{int(time.time() * 1000)}.eml"
        path.write_bytes(raw)
        print(f"alert email written: {path}", flush=True)


class MailOutbox:
    """Confirmation requests and invitations as `.eml` files beside the snapshots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, kind: str, recipient: str, raw: bytes) -> None:
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in f"{kind}-{recipient}")
        path = self.folder / f"{safe}-{int(time.time() * 1000)}.eml"
        path.write_bytes(raw)
        print(f"{kind} email written: {path}", flush=True)


class SnapshotScheduler(threading.Thread):
    def __init__(self, run: Any, every: float, name: str = "snapshot-schedule") -> None:
        super().__init__(daemon=True, name=name)
        self.run_once, self.every = run, every
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=60)  # let a run in progress finish its sends and claims

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - keep the schedule alive, like Lambda retries would
                print(f"{self.name}: {exc!r}", file=sys.stderr, flush=True)
            self.stopped.wait(self.every)


def verify_sender(ses: Any, sender: str) -> None:
    try:
        ses.create_email_identity(EmailIdentity=sender)
    except ses.exceptions.AlreadyExistsException:
        pass


def start_schedules(stack: Any) -> list[str]:
    """Start the snapshot schedule against the stack's moto server; lines to print."""
    os.environ.setdefault("LIVEREPORT_ENV", "local")  # lets tokens use the development secret
    os.environ.setdefault("PUBLIC_API_URL", stack.api_url)
    if getattr(stack, "web_port", 0):  # deep links in the emails open the local dashboard
        os.environ.setdefault("DASHBOARD_URL", stack.web_url)
    import app as app_module  # functions/ is on sys.path once the stack's API started

    every = float(os.environ.get("LIVEREPORT_SNAPSHOT_SECONDS", DEFAULT_SECONDS))
    outbox = Outbox(Path(os.environ.get("LIVEREPORT_OUTBOX", "outbox")).resolve())
    sender = os.environ.get("SENDER_EMAIL", "reports@example.com")
    verify_sender(app_module._ses_client(), sender)
    scheduler = SnapshotScheduler(lambda: app_module.snapshot_runner_for(outbox).run(), every)
    scheduler.start()
    stack._stops.append(scheduler.stop)
    app_module.snapshot_outbox = outbox  # test emails asked for on the page land there too
    stack._stops.append(lambda: setattr(app_module, "snapshot_outbox", None))
    return [f"snapshot emails: every {every:g}s from {sender}; outbox {outbox.folder}",
            *start_alert_schedule(stack, app_module, outbox.folder),
            *start_mail_schedule(stack, app_module, outbox.folder)]


def start_mail_schedule(stack: Any, app_module: Any, folder: Path) -> list[str]:
    """Send queued confirmation requests and invitations every LIVEREPORT_MAIL_SECONDS."""
    every = float(os.environ.get("LIVEREPORT_MAIL_SECONDS", DEFAULT_MAIL_SECONDS))
    outbox = MailOutbox(folder)
    scheduler = SnapshotScheduler(lambda: app_module.mailer_for(outbox).run(), every, "mail-schedule")
    scheduler.start()
    stack._stops.append(scheduler.stop)
    return [f"queued emails: confirmation requests and invitations every {every:g}s (LIVEREPORT_MAIL_SECONDS)"]


def start_alert_schedule(stack: Any, app_module: Any, folder: Path) -> list[str]:
    """Evaluate alert rules every LIVEREPORT_ALERT_SECONDS; seed the demo's rule."""
    os.environ.setdefault("DASHBOARD_URL", getattr(stack, "web_url", "http://127.0.0.1:8080"))
    every = float(os.environ.get("LIVEREPORT_ALERT_SECONDS", DEFAULT_ALERT_SECONDS))
    outbox = AlertOutbox(folder)
    queue_line = start_alert_deliveries(stack, app_module, outbox)
    scheduler = SnapshotScheduler(lambda: app_module.alert_runner_for(outbox).run(), every, "alert-schedule")
    scheduler.start()
    stack._stops.append(scheduler.stop)
    lines = [f"alerts:         evaluated every {every:g}s; webhooks to http://127.0.0.1 "
             f"{'allowed' if os.environ.get('LIVEREPORT_ALLOW_LOCAL_WEBHOOKS') == '1' else 'refused'} "
             "(LIVEREPORT_ALLOW_LOCAL_WEBHOOKS=1)", queue_line]
    if os.environ.get("LIVEREPORT_DEMO", "1") != "0":
        lines += seed_demo_alerts(getattr(stack, "services", None) or app_module.wired())
    return lines


class QueueDrainer(threading.Thread):
    """What Lambda's SQS event source does in AWS: long-poll the delivery queue on the
    moto server, hand each batch to the same handler (app.deliver_alert_records), delete
    what it did not ask to retry. A message it asks to retry comes back after its
    visibility timeout, as in AWS."""

    def __init__(self, sqs: Any, url: str, handle: Any) -> None:
        super().__init__(daemon=True, name="alert-deliveries")
        self.sqs, self.url, self.handle = sqs, url, handle
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=60)

    def drain_once(self, wait_seconds: int = 1) -> int:
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=5,
                                            WaitTimeSeconds=wait_seconds).get("Messages", [])
        if not messages:
            return 0
        failed = set(self.handle([(m["MessageId"], m["Body"]) for m in messages]))
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        return len(messages)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                if not self.drain_once():
                    self.stopped.wait(0.5)
            except Exception as exc:  # noqa: BLE001 - keep draining, like the event source would
                print(f"{self.name}: {exc!r}", file=sys.stderr, flush=True)
                self.stopped.wait(2)


def start_alert_deliveries(stack: Any, app_module: Any, outbox: Any) -> str:
    """Create the delivery queue on the moto server and drain it; the line to print."""
    sqs = app_module._sqs_client()
    url = sqs.create_queue(QueueName=app_module.ALERT_QUEUE_NAME,
                           Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    before = os.environ.get("ALERT_DELIVERY_QUEUE_URL")
    os.environ["ALERT_DELIVERY_QUEUE_URL"] = url

    def stop() -> None:
        drainer.stop()
        if before is None:  # the queue goes with the stack: leave no URL behind
            os.environ.pop("ALERT_DELIVERY_QUEUE_URL", None)
        else:
            os.environ["ALERT_DELIVERY_QUEUE_URL"] = before
    drainer = QueueDrainer(sqs, url, lambda records: app_module.deliver_alert_records(records, outbox))
    drainer.start()
    stack._stops.append(stop)
    return f"alert delivery: queue {app_module.ALERT_QUEUE_NAME} on the moto server, drained continuously"


def seed_demo_alerts(services: Any, workspace: str = "demo") -> list[str]:
    """One bounce-rate rule on the demo's spiky campaign (idempotent); lines to print. Its
    made-up address counts as confirmed (`via: demo`) so the demo's alert emails reach the outbox."""
    from chalicelib.alerts.store import AlertStore
    from chalicelib.consent.lists import ALERT, ListContext, describe_rule, ref
    from chalicelib.consent.store import ConsentStore
    store = AlertStore(services.client, services.config.table_name)
    rules, _ = store.load(workspace)
    if not any(r.name == DEMO_RULE["name"] for r in rules):
        now = time.time()
        rule = store.create(workspace, DEMO_RULE, now, allow_local=False)
        ConsentStore(services.client, services.config.table_name).register(
            workspace, ref(ALERT, rule.rule_id), rule.notify.emails, {e.lower() for e in rule.notify.emails},
            ListContext(rule.language, describe_rule(rule), "make run"), now, confirmed_via="demo")
    return [f"demo alert:     '{DEMO_RULE['name']}' on {workspace}/flash-sale (bounce rate > 15% over 5 min); "
            "it fires every 20 minutes and its emails land in the outbox"]

"""Alert deliveries off the evaluation path (issue 19): the evaluator enqueues,
the delivery function sends with a wall-clock deadline, failed attempts come
back as delayed messages and the rule's history says how it went."""
from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib.alerts.deliveries import MAX_ATTEMPTS, RETRY_DELAYS, Job, SqsQueue, handle_records
from chalicelib.alerts.runner import AlertRunner, Settings
from chalicelib.alerts.store import AlertStore
from chalicelib.consent.lists import ALERT, ListContext, ref
from chalicelib.consent.store import ConsentStore
from chalicelib.snapshots.tokens import TokenSigner
from chalicelib.alerts.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, WebhookClient, verify


class Receiver:
    """A webhook receiver on 127.0.0.1. `drip`: answer one byte every `drip` seconds
    (up to `drip_bytes`), which no per-read timeout ever trips; `hold`: accept the
    connection and say nothing until released."""

    def __init__(self, statuses=(), drip: float = 0.0, drip_bytes: int = 200, hold: bool = False):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        self.connections = 0
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                if hold:
                    outer.release.wait(60)
                    return
                status = outer.statuses.pop(0) if outer.statuses else 200
                answer = f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode()
                try:
                    for i in range(len(answer) if not drip else min(len(answer), drip_bytes)):
                        self.wfile.write(answer[i:i + 1] if drip else answer)
                        self.wfile.flush()
                        if not drip:
                            break
                        if outer.release.wait(drip):
                            return
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request, client_address):
                outer.connections += 1
                super().process_request(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]
    yield make
    for r in made:
        r.close()


class LaterQueue(SqsQueue):
    """The SQS queue with time skipped: each delay asked for is recorded, and the
    message is visible at once (as it would be once its delay has passed)."""

    def __init__(self, client, url):
        super().__init__(client, url)
        self.delays: list[int] = []

    def send(self, job, delay_seconds=0):
        self.delays.append(delay_seconds)
        super().send(job, 0)


@pytest.fixture
def queue(aws):
    sqs = boto3.client("sqs", region_name="eu-west-1")
    url = sqs.create_queue(QueueName="alert-deliveries-test")["QueueUrl"]
    return LaterQueue(sqs, url)


def test_retries_are_delayed_messages(aws):
    sqs = boto3.client("sqs", region_name="eu-west-1")
    q = SqsQueue(sqs, sqs.create_queue(QueueName="delayed")["QueueUrl"])
    q.send(Job("acme", "al_x", "1#c1#1", "c1", "firing", None, 0, 60, 2), RETRY_DELAYS[0])
    attributes = sqs.get_queue_attributes(QueueUrl=q.url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sqs.receive_message(QueueUrl=q.url, WaitTimeSeconds=0).get("Messages", []) == []


def messages(queue: SqsQueue) -> list[dict]:
    """Every message on the queue, delayed ones included (attributes say their delay)."""
    out = []
    for _ in range(10):
        got = queue.client.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           VisibilityTimeout=0).get("Messages", [])
        if not got:
            break
        out.extend(got)
        for m in got:
            queue.client.delete_message(QueueUrl=queue.url, ReceiptHandle=m["ReceiptHandle"])
    return out


def runner(wired, queue, deadline: float = 1.0, **kw) -> AlertRunner:
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    client = WebhookClient(allow_local=True, attempts=1, timeout_seconds=deadline, sleep=lambda s: None)
    kw.setdefault("signer", TokenSigner(b"alert-deliveries-test-secret"))  # recipients' unsubscribe links
    return AlertRunner(wired, ses, Settings("alerts@example.com", "https://dash.example"), client, queue=queue, **kw)


def spike(wired, workspace: str, end: int, campaign: str = "c1") -> None:
    ts = datetime.fromtimestamp(end - 90, timezone.utc).isoformat()
    events = [{"event_id": f"{workspace}-e{i}", "timestamp": ts, "campaign_id": campaign, "channel": "email",
               "type": "sent" if i < 20 else "error", **({"reason": "smtp down"} if i >= 20 else {})}
              for i in range(30)]
    assert wired.ingest.ingest(workspace, json.dumps({"events": events}).encode(), None).body["accepted"] == 30
    wired.pump()


def rule(wired, workspace: str, url: str | None, emails=()) -> object:
    """A rule whose email recipients have confirmed (consent itself: test_consent.py)."""
    notify = {"emails": list(emails), **({"webhook_url": url} if url else {})}
    created = AlertStore(wired.client, wired.config.table_name).create(workspace, {
        "name": f"errors {workspace}", "campaign_id": "c1", "channel": "email", "metric": "error_rate", "op": ">",
        "threshold": 0.1, "window_minutes": 5, "min_volume": 10, "notify": notify}, time.time(), True)
    ConsentStore(wired.client, wired.config.table_name).register(
        workspace, ref(ALERT, created.rule_id), list(emails), {e.lower() for e in emails},
        ListContext("en", "", "test"), time.time())
    return created


def now_minute() -> int:
    now = time.time()
    return int(now) - int(now) % 60


def history(wired, workspace: str, rule_id: str) -> list[dict]:
    return AlertStore(wired.client, wired.config.table_name).history(workspace, rule_id)


def drain(queue: SqsQueue, r: AlertRunner) -> list[Job]:
    """Hand every message (delays ignored: "later") to the delivery handler, as the event source would."""
    got = messages(queue)
    handle_records([(m["MessageId"], m["Body"]) for m in got], r.deliverer())
    return [Job.from_body(m["Body"]) for m in got]


def test_a_receiver_that_never_answers_does_not_delay_another_workspaces_evaluation(wired, queue, receivers):
    end = now_minute()
    stuck, fine = receivers(hold=True), receivers()
    slow_rule, fine_rule = rule(wired, "aaa-slow", stuck.url), rule(wired, "zzz-fine", fine.url)
    spike(wired, "aaa-slow", end)
    spike(wired, "zzz-fine", end)
    r = runner(wired, queue)
    result = r.run(end + 1)
    # both workspaces evaluated and their changes committed, with no connection to any receiver
    assert result.workspaces == 2 and result.fired == 2
    assert stuck.connections == 0 and fine.connections == 0
    assert [n["queued"] for n in result.notifications] == [True, True]
    assert history(wired, "zzz-fine", fine_rule.rule_id)[0]["delivery"]["webhook"]["state"] == "pending"
    jobs = drain(queue, r)
    assert sorted(j.workspace for j in jobs) == ["aaa-slow", "zzz-fine"]
    assert len(fine.requests) == 1 and len(stuck.requests) == 1
    fine_hook = history(wired, "zzz-fine", fine_rule.rule_id)[0]["delivery"]["webhook"]
    assert fine_hook["state"] == "delivered" and fine_hook["attempts"] == 1
    slow_hook = history(wired, "aaa-slow", slow_rule.rule_id)[0]["delivery"]["webhook"]
    assert slow_hook["state"] == "retrying" and slow_hook["attempts"] == 1 and "within 1s" in slow_hook["error"]
    retry = messages(queue)
    assert len(retry) == 1 and Job.from_body(retry[0]["Body"]).attempt == 2
    assert queue.delays == [0, 0, RETRY_DELAYS[0]]


def test_the_deadline_bounds_a_dripping_receiver():
    """One byte every 0.2 s: each read succeeds, so only a total deadline stops it."""
    r = Receiver(drip=0.2)
    try:
        c = WebhookClient(allow_local=True, attempts=1, timeout_seconds=1.0)
        d = c.post(r.url, "s", {"text": "t"})
        assert not d.ok and d.status is None and "DeadlineExceeded" in d.error and d.retryable
        assert r.requests  # it was reached, and was answering when cut
    finally:
        r.close()


def test_a_receiver_answering_within_the_deadline_is_delivered(receivers):
    r = receivers(drip=0.01)
    d = WebhookClient(allow_local=True, attempts=1, timeout_seconds=10.0).post(r.url, "s", {"text": "t"})
    assert d.ok and d.status == 200


def test_a_failed_delivery_is_retried_later_and_the_history_says_so(api, wired, queue, receivers):
    end = now_minute()
    flaky = receivers(statuses=[503, 502])
    created = rule(wired, "acme", flaky.url)
    spike(wired, "acme", end)
    r = runner(wired, queue)
    assert r.run(end + 1).fired == 1
    read = api.key("acme", ("read",))

    def hook() -> dict:
        body = json.loads(api.get(f"/v1/alerts/{created.rule_id}/history", read).body)
        return body["history"][0]["delivery"]["webhook"]

    [first] = drain(queue, r)
    assert first.attempt == 1
    state = hook()
    assert state["state"] == "retrying" and state["status"] == 503 and state["attempts"] == 1
    assert state["next_attempt_at"] >= state["last_attempt_at"] + RETRY_DELAYS[0]
    pending = messages(queue)
    assert len(pending) == 1 and Job.from_body(pending[0]["Body"]).attempt == 2
    assert queue.delays[-1] == RETRY_DELAYS[0]
    r.deliverer().deliver(Job.from_body(pending[0]["Body"]))  # the delayed message, later
    assert hook()["state"] == "retrying" and hook()["attempts"] == 2 and hook()["status"] == 502
    [third] = drain(queue, r)
    assert third.attempt == 3
    done = hook()
    assert done["state"] == "delivered" and done["attempts"] == 3 and done["ok"] is True
    assert messages(queue) == []
    assert len(flaky.requests) == 3
    headers, body = flaky.requests[-1]
    ids = {h[DELIVERY_HEADER] for h, _ in flaky.requests}
    assert len(ids) == 1 and created.rule_id in ids.pop()  # one delivery id across attempts
    assert verify(created.webhook_secret, headers[SIGNATURE_HEADER], body, time.time())


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(wired, queue, receivers):
    end = now_minute()
    down = receivers(statuses=[500] * (MAX_ATTEMPTS + 2))
    created = rule(wired, "acme", down.url)
    spike(wired, "acme", end)
    r = runner(wired, queue)
    r.run(end + 1)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [job] = drain(queue, r)
        assert job.attempt == attempt
    hook = history(wired, "acme", created.rule_id)[0]["delivery"]["webhook"]
    assert hook["state"] == "failed" and hook["attempts"] == MAX_ATTEMPTS
    assert messages(queue) == [] and len(down.requests) == MAX_ATTEMPTS
    assert queue.delays == [0, *RETRY_DELAYS]


def test_a_4xx_is_not_retried(wired, queue, receivers):
    end = now_minute()
    refusing = receivers(statuses=[410])
    created = rule(wired, "acme", refusing.url)
    spike(wired, "acme", end)
    r = runner(wired, queue)
    r.run(end + 1)
    drain(queue, r)
    hook = history(wired, "acme", created.rule_id)[0]["delivery"]["webhook"]
    assert hook["state"] == "failed" and hook["status"] == 410 and messages(queue) == []


def test_a_repeated_message_sends_neither_the_emails_nor_the_webhook_twice(wired, queue, receivers):
    end = now_minute()
    ok = receivers()
    emails: list[str] = []
    created = rule(wired, "acme", ok.url, emails=["ops@example.com"])
    spike(wired, "acme", end)
    r = runner(wired, queue, on_email=lambda rule_, to, raw: emails.append(to))
    r.run(end + 1)
    got = messages(queue)
    records = [(m["MessageId"], m["Body"]) for m in got] * 2  # at-least-once: the same message twice
    assert handle_records(records, r.deliverer()) == []
    assert emails == ["ops@example.com"] and len(ok.requests) == 1
    delivery = history(wired, "acme", created.rule_id)[0]["delivery"]
    assert delivery["emails_sent"] == 1 and delivery["webhook"]["state"] == "delivered" and "pending" not in delivery


def test_bad_messages_are_dropped_and_store_errors_retried(wired, queue):
    r = runner(wired, queue)
    job = Job("acme", "al_gone", "000000000001#c1#1", "c1", "firing", 0.5, 10, 60)
    assert handle_records([("m1", "not json"), ("m2", json.dumps({"x": 1})), ("m3", job.body())],
                          r.deliverer()) == []  # malformed: dropped; rule gone: nothing to do

    def broken(*a, **kw):
        raise RuntimeError("store down")
    deliverer = r.deliverer()
    deliverer.alerts.rule = broken  # type: ignore[method-assign]
    assert handle_records([("m4", job.body())], deliverer) == ["m4"]


def test_the_lambda_handler_takes_sqs_events(api, wired, queue, receivers, monkeypatch):
    import app as app_module
    monkeypatch.setenv("ALERT_DELIVERY_QUEUE_URL", queue.url)
    monkeypatch.setenv("LIVEREPORT_ALLOW_LOCAL_WEBHOOKS", "1")
    monkeypatch.setattr(app_module, "_sqs_client", lambda: queue.client)
    monkeypatch.setattr(app_module, "_ses_client", lambda: boto3.client("sesv2", region_name="eu-west-1"))
    end = now_minute()
    ok = receivers()
    created = rule(wired, "acme", ok.url)
    spike(wired, "acme", end)
    assert app_module.alert_runner_for().run(end + 1).fired == 1
    assert ok.connections == 0
    bodies = [m["Body"] for m in messages(queue)]
    event = api.client.events.generate_sqs_event(message_bodies=bodies + ["garbage"], queue_name="deliveries")
    out = api.client.lambda_.invoke("deliver_alerts", event).payload
    assert out == {"batchItemFailures": []}
    assert len(ok.requests) == 1
    assert history(wired, "acme", created.rule_id)[0]["delivery"]["webhook"]["state"] == "delivered"


def test_without_a_queue_delivery_is_inline_as_before(wired, receivers):
    end = now_minute()
    ok = receivers()
    created = rule(wired, "acme", ok.url)
    spike(wired, "acme", end)
    r = runner(wired, None)
    result = r.run(end + 1)
    assert result.notifications[0]["queued"] is False and len(ok.requests) == 1
    assert history(wired, "acme", created.rule_id)[0]["delivery"]["webhook"]["state"] == "delivered"


def test_local_drainer_runs_the_same_handler(wired, queue, receivers):
    from infra.local.schedules import QueueDrainer
    end = now_minute()
    ok = receivers()
    created = rule(wired, "acme", ok.url)
    spike(wired, "acme", end)
    r = runner(wired, queue)
    r.run(end + 1)
    drainer = QueueDrainer(queue.client, queue.url, lambda records: handle_records(records, r.deliverer()))
    assert drainer.drain_once(wait_seconds=0) == 1
    assert len(ok.requests) == 1 and messages(queue) == []
    assert history(wired, "acme", created.rule_id)[0]["delivery"]["webhook"]["state"] == "delivered"


def test_unused_port_is_retryable():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = WebhookClient(allow_local=True, attempts=1, timeout_seconds=2).post(f"http://127.0.0.1:{port}/", "s", {})
    assert not d.ok and d.retryable

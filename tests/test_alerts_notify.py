"""Alert notifications: signed webhooks with retries against a receiver on 127.0.0.1,
SSRF refusals, and one notification per state change under two concurrent evaluators."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib import services, tables
from chalicelib.alerts.notify import Change, render_email, webhook_payload
from chalicelib.alerts.rules import Rule
from chalicelib.alerts.runner import AlertRunner, Settings
from chalicelib.alerts.store import AlertStore
from chalicelib.alerts.webhook import SIGNATURE_HEADER, WebhookClient, WebhookRefused, resolve_target, verify
from chalicelib.consent.lists import ALERT, ListContext, ref
from chalicelib.consent.store import ConsentStore
from chalicelib.snapshots.tokens import TokenSigner
from chalicelib.stream import create_stream

from conftest import services_at

TABLE = "livereport-alerts-race"
STREAM = "livereport-alerts-race"


class Receiver:
    """A webhook receiver on 127.0.0.1 answering a scripted list of statuses (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?x=1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def client(**kw) -> tuple[WebhookClient, list[float]]:
    sleeps: list[float] = []
    return WebhookClient(allow_local=True, sleep=sleeps.append, **kw), sleeps


def test_signed_post_verifies(receiver):
    c, sleeps = client()
    delivery = c.post(receiver.url, "whsec_test", {"text": "hello", "alert": {"x": 1}})
    assert delivery.ok and delivery.attempts == 1 and sleeps == []
    headers, body = receiver.requests[0]
    assert json.loads(body) == {"text": "hello", "alert": {"x": 1}}
    assert headers["Content-Type"] == "application/json"
    assert verify("whsec_test", headers[SIGNATURE_HEADER], body, time.time())
    assert not verify("whsec_other", headers[SIGNATURE_HEADER], body, time.time())
    assert not verify("whsec_test", headers[SIGNATURE_HEADER], body + b" ", time.time())
    assert not verify("whsec_test", headers[SIGNATURE_HEADER], body, time.time() + 3600)  # replayed later


def test_retries_with_backoff_then_succeeds(receiver):
    receiver.statuses = [503, 429, 500]
    c, sleeps = client()
    delivery = c.post(receiver.url, "s", {"text": "t"})
    assert delivery.ok and delivery.attempts == 4 and delivery.status == 200
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(receiver.requests) == 4
    # every attempt is signed afresh
    assert all(verify("s", h[SIGNATURE_HEADER], b, time.time()) for h, b in receiver.requests)


def test_gives_up_after_the_last_attempt_and_never_retries_a_4xx(receiver):
    receiver.statuses = [500] * 10
    c, sleeps = client(attempts=3)
    d = c.post(receiver.url, "s", {"text": "t"})
    assert not d.ok and d.attempts == 3 and d.error == "HTTP 500" and sleeps == [1.0, 2.0]
    receiver.statuses = [404]
    d = c.post(receiver.url, "s", {"text": "t"})
    assert not d.ok and d.attempts == 1 and d.status == 404


def test_connection_errors_are_retried():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there
    c, sleeps = client(attempts=2)
    d = c.post(f"http://127.0.0.1:{port}/", "s", {"text": "t"})
    assert not d.ok and d.attempts == 2 and d.status is None and "Error" in d.error and sleeps == [1.0]


def fixed(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("url, resolver, allow_local", [
    ("https://localhost/x", fixed("127.0.0.1"), False),
    ("https://127.0.0.1/x", fixed("127.0.0.1"), False),
    ("http://127.0.0.1:9/x", fixed("127.0.0.1"), False),
    ("https://10.0.0.1/x", fixed("10.0.0.1"), False),
    ("https://10.255.255.254/x", fixed("10.255.255.254"), True),  # local mode admits loopback only
    ("https://169.254.169.254/latest/meta-data", fixed("169.254.169.254"), False),
    ("https://[::1]/x", fixed("::1"), False),
    ("https://[fe80::1]/x", fixed("fe80::1"), False),
    ("https://hooks.example.com/x", fixed("10.1.2.3"), False),  # a name resolving to a private address
    ("https://hooks.example.com/x", fixed("93.184.216.34", "192.168.1.10"), False),  # any bad answer refuses
    ("https://hooks.example.com/x", fixed("::ffff:10.0.0.1"), False),  # IPv4-mapped IPv6
    ("https://hooks.example.com/x", fixed("100.64.0.1"), False),  # carrier-grade NAT
    ("https://metadata.internal/x", fixed("93.184.216.34"), False),
    ("http://hooks.example.com/x", fixed("93.184.216.34"), True),  # https only, even locally
    ("https://user:pw@hooks.example.com/x", fixed("93.184.216.34"), False),
    ("ftp://hooks.example.com/x", fixed("93.184.216.34"), False),
])
def test_ssrf_refusals(url, resolver, allow_local):
    with pytest.raises(WebhookRefused):
        resolve_target(url, resolver, allow_local)
    c = WebhookClient(resolver=resolver, allow_local=allow_local,
                      sender=lambda *a: pytest.fail("no request may be sent"))
    d = c.post(url, "s", {"text": "t"})
    assert not d.ok and d.attempts == 0


def test_public_addresses_pass_and_the_connection_is_pinned():
    target = resolve_target("https://hooks.example.com:8443/services/T/B?x=1", fixed("93.184.216.34"), False)
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com", 8443, "/services/T/B?x=1", "93.184.216.34")
    seen = []
    c = WebhookClient(resolver=fixed("93.184.216.34"), sender=lambda t, b, h, timeout: seen.append(t) or 204)
    assert c.post("https://hooks.example.com/x", "s", {"text": "t"}).ok
    assert seen[0].address == "93.184.216.34"


# --- two evaluators at once ---------------------------------------------------------------

@pytest.fixture(scope="module")
def moto_http():
    from infra.local.stack import AtomicMotoServer
    server = AtomicMotoServer()
    url = server.start()
    tables.create_table(boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url), TABLE)
    create_stream(boto3.client("kinesis", region_name="eu-west-1", endpoint_url=url), STREAM, 1)
    yield url
    server.stop()


def lambda_like(url: str) -> services.Services:
    return services_at(url, TABLE, STREAM)


def test_two_evaluators_notify_once_per_state_change(moto_http, receiver):
    setup = lambda_like(moto_http)
    ses = boto3.client("sesv2", region_name="eu-west-1", endpoint_url=moto_http)
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    rule = AlertStore(setup.client, TABLE).create("race", {
        "name": "race", "campaign_id": "c1", "channel": "email", "metric": "error_rate", "op": ">",
        "threshold": 0.1, "window_minutes": 5, "min_volume": 10,
        "notify": {"emails": ["ops@example.com"], "webhook_url": receiver.url}}, time.time(), True)
    ConsentStore(setup.client, TABLE).register("race", ref(ALERT, rule.rule_id), rule.notify.emails,
                                               {"ops@example.com"}, ListContext("en", "", "test"), time.time())
    now = time.time()
    end = int(now) - int(now) % 60
    ts = datetime.fromtimestamp(end - 90, timezone.utc).isoformat()
    events = [{"event_id": f"e{i}", "timestamp": ts, "campaign_id": "c1", "channel": "email",
               "type": "sent" if i < 20 else "error", **({"reason": "smtp down"} if i >= 20 else {})}
              for i in range(30)]
    out = setup.ingest.ingest("race", json.dumps({"events": events}).encode(), None)
    assert out.body["accepted"] == 30
    setup.pump()

    emails: list[str] = []
    barrier = threading.Barrier(2)

    def evaluator() -> AlertRunner:
        runner = AlertRunner(lambda_like(moto_http), ses, Settings("alerts@example.com", "https://dash.example"),
                             WebhookClient(allow_local=True, sleep=lambda s: None),
                             on_email=lambda r, to, raw: emails.append(to), signer=TokenSigner(b"x" * 32))
        original = runner.alerts.transition

        def racing(*args, **kw):  # both evaluators have read the same state before either writes
            barrier.wait(timeout=30)
            return original(*args, **kw)
        runner.alerts.transition = racing  # type: ignore[method-assign]
        return runner

    def race(at: float) -> list:
        results, errors = [], []
        runners = [evaluator(), evaluator()]

        def go(r):
            try:
                results.append(r.run(at))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        threads = [threading.Thread(target=go, args=(r,)) for r in runners]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors
        return results

    fired = race(end + 1)
    assert sorted((r.fired, r.lost) for r in fired) == [(0, 1), (1, 0)]
    assert len(receiver.requests) == 1 and emails == ["ops@example.com"]
    body = json.loads(receiver.requests[0][1])
    assert body["alert"]["state"] == "firing" and body["alert"]["value"] == pytest.approx(10 / 20)
    assert "race" in body["text"] and verify(rule.webhook_secret, receiver.requests[0][0][SIGNATURE_HEADER],
                                             receiver.requests[0][1], time.time())
    # the error minute leaves the window at +4 minutes; a full window later both race to resolve
    resolved = race(end + 60 * 9)
    assert sorted((r.resolved, r.lost) for r in resolved) == [(0, 1), (1, 0)]
    assert len(receiver.requests) == 2 and json.loads(receiver.requests[1][1])["alert"]["state"] == "ok"
    assert emails == ["ops@example.com"] * 2
    history = AlertStore(setup.client, TABLE).history("race", rule.rule_id)
    assert [h["to"] for h in history] == ["ok", "firing"]
    assert history[1]["delivery"]["webhook"]["ok"] is True


def test_the_email_and_webhook_link_open_the_rule_workspace_in_the_zone_of_the_email():
    """A reader whose page is in another workspace sees this rule's campaign, not a namesake's."""
    from html.parser import HTMLParser
    from urllib.parse import parse_qs, urlparse
    rule = Rule(name="Bounce spike", campaign_id="c1", channel="sms", metric="bounce_rate", op=">", threshold=0.05,
                window_minutes=5, language="fr", rule_id="r1", workspace="acme-eu", created_at=0)
    change = Change(rule, "c1", "firing", 0.2, 40, 1_764_000_000)
    rendered = render_email(change, "https://dash.example/app/")
    hrefs: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "a":
                hrefs.append(dict(attrs)["href"])
    Links().feed(rendered.html)
    payload = webhook_payload(change, "https://dash.example/app")
    for link in (*hrefs, payload["alert"]["link"]):
        assert link.startswith("https://dash.example/app/?")
        assert parse_qs(urlparse(link).query) == {"ws": ["acme-eu"], "campaign": ["c1"], "tab": ["sms"],
                                                  "mode": ["live"], "tz": ["UTC"]}
    assert len(hrefs) == 1 and hrefs[0] in rendered.text and "UTC" in rendered.text  # the zone the link opens in

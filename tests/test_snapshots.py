"""Snapshot emails: subscriptions API, the schedule, the MIME sent through SES (moto), unsubscribe."""
from __future__ import annotations

import csv
import email
import io
import json
import time
from datetime import datetime, timezone
from email import policy
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import app as app_module
from accounts_support import pool  # noqa: F401
from consent_support import confirm_all, wire_senders
from chalicelib.snapshots import schedule
from chalicelib.snapshots.subscriptions import Daily, Hourly, Weekly
from chalicelib.snapshots.tokens import SecretMissing, secret_from_env

SECRET = "test-unsubscribe-secret-0123456789"
SENDER = "reports@example.com"
HOSTILE_REASON = "<script>alert(1)</script>"
HOSTILE_CELL = '=HYPERLINK("x")'


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


@pytest.fixture
def snap(api, monkeypatch):
    api.ses = wire_senders(api, monkeypatch, SECRET, SENDER)
    return api


def sent_messages():
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def run(now: float):
    app_module.wired().roll(now)  # what the every-minute rollup schedule has done by then
    return app_module.snapshot_runner_for().run(now)


MANAGE = ("ingest", "read", "manage")


def manager(api, workspace="acme"):
    return api.key(workspace, MANAGE)


def subscribe(api, key=None, confirmed=True, workspace="acme", **over):
    """POST a subscription; with `confirmed`, its recipients then confirm (as by the emailed link)."""
    body = {"campaign_id": "c1", "report": "live", "channel": "email", "recipients": ["ann@example.com"],
            "frequency": {"type": "hourly"}, "language": "en", "allow_unknown_campaign": True, **over}
    headers = {"Authorization": f"Bearer {key or manager(api)}", "Content-Type": "application/json"}
    r = api.client.http.post("/v1/subscriptions", headers=headers, body=json.dumps(body))
    if confirmed and r.status_code == 201:
        confirm_all(api.wired, workspace)
    return r


def delete(api, sub_id, key=None):
    return api.client.http.delete(f"/v1/subscriptions/{sub_id}",
                                  headers={"Authorization": f"Bearer {key or manager(api)}"})


def listing(api, key=None):
    r = api.get("/v1/subscriptions", key or manager(api))
    assert r.status_code == 200, r.body
    return json.loads(r.body)["subscriptions"]


def post_sample(api, t: float, prefix="e"):
    events = [{"event_id": f"{prefix}{i}", "timestamp": iso(t), "campaign_id": "c1", "channel": "email",
               "type": kind, "profile_id": f"p{i % 4}", "recipient_domain": "example.com", **extra}
              for i, (kind, extra) in enumerate(
                  [("sent", {})] * 6 + [("delivered", {})] * 5 + [("open", {})] * 3 + [("click", {"url": "https://x.test/a"})]
                  + [("bounce", {"bounce_type": "hard", "reason": HOSTILE_REASON}), ("error", {"reason": HOSTILE_CELL})])]
    r = api.post_events(events)
    assert r.status_code == 200 and json.loads(r.body)["accepted"] == len(events), r.body


class Cells(HTMLParser):
    """data-metric rows -> data-value; img src; links."""

    def __init__(self):
        super().__init__()
        self.metric, self.values, self.images, self.links = None, {}, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-metric" in a:
            self.metric = a["data-metric"]
        elif self.metric and "data-value" in a and self.metric not in self.values:
            self.values[self.metric] = a["data-value"]
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])


def parse(raw: str):
    msg = email.message_from_string(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    related, *attachments = msg.get_payload()
    assert related.get_content_type() == "multipart/related"
    alternative, *images = related.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    cells = Cells()
    cells.feed(html.get_content())
    return msg, text.get_content(), html.get_content(), cells, images, attachments


# ---------------------------------------------------------------- subscriptions API

def test_crud(snap):
    r = subscribe(snap, recipients=["Ann@Example.COM", "bob@example.org", "ann@example.com"],
                  frequency={"type": "daily", "time": "08:30", "tz": "Europe/Paris"}, language="fr")
    assert r.status_code == 201, r.body
    created = json.loads(r.body)
    assert created["recipients"] == ["Ann@example.com", "bob@example.org"]  # domain lower-cased, de-duplicated
    assert created["frequency"] == {"type": "daily", "time": "08:30", "tz": "Europe/Paris"}
    assert [s["subscription_id"] for s in listing(snap)] == [created["subscription_id"]]
    assert delete(snap, created["subscription_id"]).status_code == 204
    assert listing(snap) == []
    assert delete(snap, created["subscription_id"]).status_code == 404


@pytest.mark.parametrize("over, fragment", [
    ({"recipients": ["not-an-address"]}, "recipients"),
    ({"recipients": ["a@b.c\r\nBcc: x@y.zz"]}, "recipients"),
    ({"recipients": [f"u{i}@example.com" for i in range(51)]}, "at most 50"),
    ({"recipients": []}, "recipients"),
    ({"frequency": {"type": "daily", "time": "08:00", "tz": "Mars/Olympus"}}, "time zone"),
    ({"frequency": {"type": "daily", "time": "25:00"}}, "HH:MM"),
    ({"frequency": {"type": "monthly"}}, "frequency"),
    ({"frequency": {"type": "weekly", "day": "someday", "time": "08:00"}}, "frequency.weekly.day"),
    ({"report": "yearly"}, "report"),
    ({"report": "global", "channel": "web"}, "channel"),
    ({"campaign_id": "bad id/../"}, "campaign_id"),
    ({"language": "de"}, "language"),
])
def test_validation_errors(snap, over, fragment):
    r = subscribe(snap, **over)
    assert r.status_code == 422, r.body
    assert fragment in json.loads(r.body)["error"]["message"]


def test_auth_and_bad_body(snap):
    assert subscribe(snap, key="lr_unknown").status_code == 401
    assert subscribe(snap, key=snap.key("acme", ["ingest"])).status_code == 403
    r = snap.client.http.post("/v1/subscriptions", body=b"{nope",
                              headers={"Authorization": f"Bearer {manager(snap)}", "Content-Type": "application/json"})
    assert r.status_code == 400


def test_subscriptions_need_the_manage_scope(snap):
    """Read keys go to agencies: they can neither mail anyone nor see recipient addresses."""
    sub_id = json.loads(subscribe(snap).body)["subscription_id"]
    read = snap.key("acme", ["read"])
    for r in (subscribe(snap, key=read), snap.get("/v1/subscriptions", read), delete(snap, sub_id, key=read)):
        assert r.status_code == 403, r.body
        body = json.loads(r.body)
        assert body["error"]["code"] == "forbidden" and "manage" in body["error"]["message"]
        assert b"ann@example.com" not in r.body
    assert [s["subscription_id"] for s in listing(snap)] == [sub_id]


def test_unknown_campaign_is_refused_unless_the_request_says_it_is_not_started(snap):
    post_sample(snap, time.time() - 60)  # campaign c1 exists
    r = subscribe(snap, campaign_id="blackfriday-2026", allow_unknown_campaign=False)
    assert r.status_code == 422
    error = json.loads(r.body)["error"]
    assert error["code"] == "unknown_campaign" and "allow_unknown_campaign" in error["message"]
    body = {k: v for k, v in json.loads(subscribe(snap, campaign_id="c1", allow_unknown_campaign=False).body).items()}
    assert body["campaign_id"] == "c1" and "allow_unknown_campaign" not in body
    r = subscribe(snap, campaign_id="blackfriday-2026")  # allow_unknown_campaign: true
    assert r.status_code == 201 and "allow_unknown_campaign" not in json.loads(r.body)


def test_every_error_has_one_shape(snap):
    """Chalice's own 415 and 405 answers are rewritten; the view errors already had the shape."""
    headers = {"Authorization": f"Bearer {manager(snap)}"}
    r = snap.client.http.post("/v1/subscriptions", body=b"x", headers={**headers, "Content-Type": "text/csv"})
    assert r.status_code == 415
    assert json.loads(r.body)["error"]["code"] == "unsupported_media_type"
    r = snap.client.http.put("/v1/subscriptions", body=b"{}", headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 405 and json.loads(r.body)["error"]["code"] == "method_not_allowed"
    r = snap.client.http.get("/v1/campaigns", headers={"Authorization": "Bearer lr_nope"})
    assert r.status_code == 401 and set(json.loads(r.body)["error"]) == {"code", "message"}


def test_workspace_isolation(snap):
    a, b = manager(snap, "acme"), manager(snap, "globex")
    sub_id = json.loads(subscribe(snap, key=a).body)["subscription_id"]
    assert listing(snap, b) == []
    assert delete(snap, sub_id, key=b).status_code == 404
    assert [s["subscription_id"] for s in listing(snap, a)] == [sub_id]


# ---------------------------------------------------------------- schedule

def test_latest_occurrence_and_periods():
    now = datetime(2026, 11, 25, 7, 30, tzinfo=timezone.utc)  # 08:30 in Paris (UTC+1)
    assert schedule.period_id(schedule.latest_occurrence(Hourly(type="hourly", minute=45), now)) == "2026-11-25T06:45Z"
    daily = Daily(type="daily", time="08:00", tz="Europe/Paris")
    assert schedule.period_id(schedule.latest_occurrence(daily, now)) == "2026-11-25T07:00Z"
    assert schedule.period_id(schedule.latest_occurrence(daily, now.replace(hour=6))) == "2026-11-24T07:00Z"
    summer = datetime(2026, 7, 1, 6, 30, tzinfo=timezone.utc)  # UTC+2: 08:00 Paris is 06:00Z
    assert schedule.period_id(schedule.latest_occurrence(daily, summer)) == "2026-07-01T06:00Z"
    weekly = Weekly(type="weekly", day="monday", time="09:15", tz="America/New_York")  # 2026-11-25 is a Wednesday
    assert schedule.period_id(schedule.latest_occurrence(weekly, now)) == "2026-11-23T14:15Z"


# ---------------------------------------------------------------- sending

def test_due_subscription_sends_exactly_one_email_with_the_api_numbers(snap):
    t0 = time.time()
    post_sample(snap, t0 - 120)
    sub = json.loads(subscribe(snap, recipients=["ann@example.com"]).body)
    # a minute into an hour after the first hourly occurrence, so later + 60 stays in the same period
    later = t0 - t0 % 3600 + 7200 + 60
    result = run(later)
    assert result.summary()["sent"] == 1 and not result.failed
    assert run(later).summary() == {"due": 0, "claimed": 0, "sent": 0, "failed": 0, "over_quota": 0}
    assert run(later + 60).summary()["sent"] == 0
    messages = sent_messages()
    assert len(messages) == 1
    assert messages[0].source == SENDER and "ann@example.com" in messages[0].destinations[0]

    msg, text, html, cells, images, attachments = parse(messages[0].raw_data)
    doc = snap.live("c1", "email")
    assert "c1" in msg["Subject"] and "Live report" in msg["Subject"]
    assert msg["To"] == "ann@example.com" and msg["From"] == SENDER
    # sent and delivered: reported plus inferred (6 sends reported, 7 delivered, bounced or failed)
    numbers = {**{m: v + doc["inferred"].get(m, 0) for m, v in doc["totals"].items()},
               **{f"distinct.{m}": v for m, v in {**doc["distinct"], **doc["distinct_combined"]}.items()},
               **{f"rate.{r}": v for r, v in doc["rates"].items()}}
    assert doc["inferred"]["sent"] == 1
    assert {"sent", "delivered", "bounce", "error", "distinct.open", "distinct.open_all", "distinct.click"} <= set(cells.values)
    for metric, value in cells.values.items():  # every figure shown is the API's
        assert value == str(numbers[metric]), metric
    assert cells.values["rate.delivered_rate"] == str(doc["rates"]["delivered_rate"])
    assert cells.values["rate.reactivity"] == str(doc["rates"]["reactivity"])
    assert "Delivered: 5" in text and "Sent: 7 (6 reported, 1 inferred)" in text  # plain text, catalogue labels

    # hostile producer strings: escaped in HTML, neutralised in CSV
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    (png_part,) = images
    assert png_part.get_content_type() == "image/png"
    assert cells.images == [f"cid:{png_part['Content-ID'].strip('<>')}"]
    png = png_part.get_content()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    with Image.open(io.BytesIO(png)) as im:
        im.verify()
        assert im.size[0] >= 400

    (csv_part,) = attachments
    assert csv_part.get_content_disposition() == "attachment" and csv_part.get_filename().endswith(".csv")
    rows = list(csv.reader(io.StringIO(csv_part.get_content())))
    start = rows.index(["totals"])
    totals = {r[0]: int(r[1]) for r in rows[start + 2:rows.index([], start)]}
    assert totals == doc["totals"]
    assert ["'" + HOSTILE_CELL, "1", "1.0"] in [r[:3] for r in rows]  # error_reason breakdown, neutralised
    assert [HOSTILE_REASON, "1", "1.0"] in [r[:3] for r in rows]  # plain text in CSV: harmless there

    # unsubscribe link in the footer and the List-Unsubscribe header
    link = next(l for l in cells.links if "/v1/unsubscribe?token=" in l)
    assert msg["List-Unsubscribe"] == f"<{link}>"
    assert sub["subscription_id"]


def test_next_period_shows_deltas(snap):
    t0 = time.time()
    post_sample(snap, t0 - 300)
    subscribe(snap)
    run(t0 + 3600)
    post_sample(snap, t0 - 60, prefix="f")  # 6 more sent
    assert run(t0 + 7200).summary()["sent"] == 1
    first, second = sent_messages()
    assert "First snapshot" in parse(first.raw_data)[1]
    _, text, html, *_ = parse(second.raw_data)
    assert "Sent: 14 (12 reported, 2 inferred)  (▲ +7)" in text  # reported + inferred, as the page
    # 5 delivered ÷ (6 sent + 1 inferred): the sample's delivered, bounce and error outnumber its sends
    assert "Delivered rate: 71.4%  (=)" in text


def test_overlapping_runs_claim_once(snap):
    subscribe(snap)
    store = app_module.snapshot_runner_for().store
    moment = datetime.fromtimestamp(time.time() + 3600, timezone.utc)
    plans = [schedule.plan(state, moment) for state in store.states()] * 2  # two runs read the same state
    assert [store.claim(p, time.time()) for p in plans] == [True, False]


class FlakySes:
    """Fails every send to the given addresses until healed."""

    def __init__(self, ses, failing):
        self.ses, self.failing = ses, set(failing)

    def send_email(self, **kw):
        if kw["Destination"]["ToAddresses"][0] in self.failing:
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "boom"}}, "SendEmail")
        return self.ses.send_email(**kw)


def test_ses_failure_does_not_stop_others_and_is_retried(snap, monkeypatch):
    post_sample(snap, time.time() - 60)
    bad = json.loads(subscribe(snap, recipients=["fail@example.com", "ok2@example.com"]).body)["subscription_id"]
    subscribe(snap, recipients=["ok@example.com"], channel="campaign")
    flaky = FlakySes(snap.ses, ["fail@example.com"])
    monkeypatch.setattr(app_module, "_ses_client", lambda: flaky)
    later = time.time() + 3600
    result = run(later)
    assert sorted(s["recipient"] for s in result.sent) == ["ok2@example.com", "ok@example.com"]
    assert [(f["subscription_id"], f["recipient"]) for f in result.failed] == [(bad, "fail@example.com")]
    assert run(later).summary()["sent"] == 0  # still failing: retried, not sent
    flaky.failing.clear()
    healed = run(later)
    assert [(s["subscription_id"], s["recipient"]) for s in healed.sent] == [(bad, "fail@example.com")]
    assert run(later).summary()["claimed"] == 0  # the period is done
    assert sorted(m.destinations[0] for m in sent_messages()) == ["fail@example.com", "ok2@example.com", "ok@example.com"]


def test_global_all_channels_in_french_via_the_chalice_schedule(snap):
    post_sample(snap, time.time() - 60)
    subscribe(snap, report="global", channel="all", language="fr",
              frequency={"type": "daily", "time": "00:00", "tz": "Europe/Paris"})
    assert run(time.time()).summary()["sent"] == 0  # created after today's 00:00: first send tomorrow
    # the scheduled Lambda itself, through Chalice's test client (uses the real clock: nothing due)
    event = snap.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                  detail={}, resources=[])
    assert snap.client.lambda_.invoke("send_due_snapshots", event).payload["sent"] == 0
    assert run(time.time() + 86400).summary()["sent"] == 1
    msg, text, html, cells, images, attachments = parse(sent_messages()[0].raw_data)
    assert "Rapport de campagne" in msg["Subject"] and "tous les canaux" in msg["Subject"]
    assert "Envoyés" in html and "Taux de délivrabilité" in html
    assert cells.values["sent"] == "7" and len(attachments) == 1  # 6 reported + 1 inferred; only email events


def test_links_and_the_csv_name_the_workspace_and_the_zone(snap, monkeypatch):
    """Opened by someone whose page is in another workspace or zone, a link shows this workspace's campaign
    with its days read in the email's zone; the attachment says the same."""
    monkeypatch.setenv("DASHBOARD_URL", "https://reports.test/app/")
    post_sample(snap, time.time() - 60)
    subscribe(snap, report="global", channel="email", language="en",
              frequency={"type": "daily", "time": "07:30", "tz": "America/New_York"})
    assert run(time.time() + 86400).summary()["sent"] == 1
    msg, text, html, cells, images, attachments = parse(sent_messages()[0].raw_data)
    links = [link for link in cells.links if link.startswith("https://reports.test/app/")]
    assert len(links) == 2  # the view's link under the title, and the section's
    for link in links:
        assert parse_qs(urlparse(link).query) == {"ws": ["acme"], "campaign": ["c1"], "tab": ["email"],
                                                  "mode": ["global"], "tz": ["America/New_York"]}
    assert f"Open this view in the dashboard: {links[0]}" in text  # the plain-text alternative too
    (attachment,) = attachments
    rows = list(csv.reader(io.StringIO(attachment.get_content())))
    context = dict(rows[2:rows.index([])])
    assert rows[0] == ["context"] and context["workspace"] == "acme" and context["campaign"] == "c1"
    assert (context["report"], context["channel"], context["time_zone"]) == ("global", "email", "America/New_York")
    assert context["whole_life"] == "true" and context["period_end"][-6:] in ("-05:00", "-04:00")


# ---------------------------------------------------------------- signed links (more in test_consent.py)

def test_secret_needs_env_outside_local_and_test():
    with pytest.raises(SecretMissing):
        secret_from_env({})
    with pytest.raises(SecretMissing):
        secret_from_env({"UNSUBSCRIBE_SECRET": "short"})
    assert secret_from_env({"LIVEREPORT_ENV": "local"})
    assert secret_from_env({"UNSUBSCRIBE_SECRET": SECRET}) == SECRET.encode()


# ---------------------------------------------------------------- test email on request

def test_a_test_email_goes_to_the_signed_in_requester_only(snap, pool, monkeypatch):
    """"Send a test now": one snapshot at once, to the person asking (never to the recipients, who may not
    have confirmed them), without touching the schedule; keys have no address; one a minute."""
    from accounts_support import call, member
    post_sample(snap, time.time() - 60)
    sub = json.loads(subscribe(snap, recipients=["ann@example.com", "bob@example.com"]).body)
    member(snap.wired, "acme", pool.user("eve@example.com"), "eve@example.com", "editor")
    token = pool.tokens("eve@example.com")["AccessToken"]
    path = f"/v1/subscriptions/{sub['subscription_id']}/test"

    r = call(snap, "POST", path, token, "acme")
    assert r.status_code == 200, r.body
    assert json.loads(r.body)["sent_to"] == "eve@example.com"
    (message,) = sent_messages()
    assert set(message.destinations) == {"eve@example.com"}  # nobody else (moto lists To and the envelope)
    msg, text, html, cells, images, attachments = parse(message.raw_data)
    assert msg["Subject"].startswith("[Test] ") and msg["To"] == "eve@example.com"
    assert "List-Unsubscribe" not in msg and "/v1/unsubscribe" not in html and "A test sent at your request" in text
    assert cells.values["sent"] == "7" and images and attachments  # the same snapshot as a scheduled one
    # the schedule is untouched: the recipients still get their first email, as a first snapshot
    later = time.time() - time.time() % 3600 + 7200 + 60
    assert run(later).summary()["sent"] == 2
    assert "First snapshot" in parse(sent_messages()[-1].raw_data)[1]

    again = call(snap, "POST", path, token, "acme")
    assert again.status_code == 429 and again.headers["Retry-After"] == "60"
    assert json.loads(again.body)["error"]["code"] == "too_many_tests"
    keyed = snap.client.http.post(path, headers={"Authorization": f"Bearer {manager(snap)}"})
    assert keyed.status_code == 422 and json.loads(keyed.body)["error"]["code"] == "no_address"
    assert call(snap, "POST", "/v1/subscriptions/sub_nope/test", token, "acme").status_code == 404
    other = json.loads(subscribe(snap, key=manager(snap, "globex")).body)["subscription_id"]
    assert call(snap, "POST", f"/v1/subscriptions/{other}/test", token, "acme").status_code == 404  # another workspace
    assert len(sent_messages()) == 3


# ---------------------------------------------------------------- local mode

def confirm(wired, workspace: str, address: str) -> None:
    """A subscription made by the store (no route): its one recipient's consent, confirmed."""
    from chalicelib.consent.lists import SUB, ListContext, ref
    from chalicelib.consent.store import ConsentStore
    from chalicelib.snapshots.subscriptions import SubscriptionStore
    (sub,) = SubscriptionStore(wired.client, wired.config.table_name).list(workspace)
    ConsentStore(wired.client, wired.config.table_name).register(
        workspace, ref(SUB, sub.subscription_id), [address], {address}, ListContext("en", "", "test"), time.time())


def test_local_schedule_writes_the_sent_bytes_to_the_outbox(snap, monkeypatch, tmp_path):
    from types import SimpleNamespace
    from chalicelib.snapshots.subscriptions import SubscriptionStore
    from infra.local import schedules
    monkeypatch.setenv("LIVEREPORT_ENV", "local")
    monkeypatch.delenv("UNSUBSCRIBE_SECRET")  # local mode signs with the development secret
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LIVEREPORT_SNAPSHOT_SECONDS", "0.2")
    monkeypatch.setenv("LIVEREPORT_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("SENDER_EMAIL", "local-sender@example.com")  # verified by start_schedules
    post_sample(snap, time.time() - 60)
    SubscriptionStore(snap.wired.client, snap.wired.config.table_name).create(
        "acme", {"campaign_id": "c1", "report": "live", "recipients": ["ann@example.com"],
                 "frequency": {"type": "hourly"}}, time.time() - 7200)  # due now
    confirm(snap.wired, "acme", "ann@example.com")
    stack = SimpleNamespace(api_url="http://127.0.0.1:9", _stops=[])
    lines = schedules.start_schedules(stack)
    try:
        assert "outbox" in lines[0]
        deadline = time.time() + 20
        while not list((tmp_path / "outbox").glob("*.eml")) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a few more runs: still one email
    finally:
        for stop in stack._stops:
            stop()
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    (message,) = sent_messages()
    assert eml.read_bytes().decode() == message.raw_data
    assert message.source == "local-sender@example.com"
    assert "http://127.0.0.1:9/v1/unsubscribe?token=v2." in parse(message.raw_data)[1]

"""The concise snapshot email: size on the demo data, labels not codes, tz, deep links, glossary, no-data line."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone

from chalicelib.snapshots import chart
from infra.local.traffic import TrafficGenerator
from tests.test_snapshots import parse, post_sample, run, sent_messages, snap, subscribe  # noqa: F401 (fixture)

MAX_HTML = 60 * 1024
DASHBOARD = "https://reports.test/app/"


def post_demo(api, hours=6, events=3000):
    """The demo's traffic (make run's backfill): every channel of black-friday-2026 and the other campaigns."""
    now = datetime.now(timezone.utc)
    evs = list(TrafficGenerator(seed=3, prefix="d").events(events, now - timedelta(hours=hours), now - timedelta(minutes=1)))
    for i in range(0, len(evs), 1000):
        assert json.loads(api.post_events(evs[i:i + 1000]).body)["accepted"]


def test_largest_demo_email_is_small_labelled_and_matches_the_api(snap, monkeypatch):
    monkeypatch.setenv("DASHBOARD_URL", DASHBOARD)
    post_demo(snap)
    for lang in ("en", "fr"):
        subscribe(snap, campaign_id="black-friday-2026", report="live", channel="all", language=lang,
                  frequency={"type": "hourly", "tz": "Europe/Paris"}, allow_unknown_campaign=False)
    assert run(time.time() + 3600).summary()["sent"] == 2
    for message in sent_messages():
        msg, text, html, cells, images, attachments = parse(message.raw_data)
        size = len(html.encode("utf-8"))
        assert size <= MAX_HTML, size
        fr = 'lang="fr"' in html
        # times in the subscription's zone, in the subject and the body
        assert re.search(r"\d\d:\d\d CET", msg["Subject"]), msg["Subject"]
        # the same numbers as the API, per section (data-metric names repeat per section: check the first, email)
        email_doc = snap.live("black-friday-2026", "email")
        assert ("E-mail" if fr else "Email") in html
        # labels, never codes
        for code in ("mailbox_full", "user_unknown", ">hard<", ">soft<", "unspecified"):
            assert code not in html, code
        # push platforms counted by messages sent, not every event type
        push = snap.live("black-friday-2026", "push")
        ios = next(r for r in push["breakdowns"]["platform"] if r["value"] == "ios")
        platform_block = html[html.index("Platforms" if not fr else "Plateformes"):]
        shown = int(re.search(r">ios</td><td[^>]*>([\d\u202f,]+)<", platform_block).group(1).replace(",", "").replace("\u202f", ""))
        assert shown == ios["counts"]["sent"] != ios["count"]
        # a deep link to the same view in the subscription's workspace and zone, never a key
        assert (f'{DASHBOARD}?ws=acme&amp;campaign=black-friday-2026&amp;tab=campaign&amp;mode=live&amp;window=24h'
                '&amp;tz=Europe%2FParis') in html
        assert "tab=push&amp;mode=live" in html and "key" not in re.findall(r'href="([^"]+)"', html)[0]
        # a glossary from the catalogue's definitions
        assert ("Définitions" if fr else "Definitions") in html and ("÷ délivrés" if fr else "÷ delivered") in html
        # every breakdown row has its share (the French "Part" column was empty)
        assert html.count("\u00a0%" if fr else "%") >= 10
        assert cells.values["rate.delivered_rate"] == str(email_doc["rates"]["delivered_rate"])
        assert len(images) == 3  # email, push, sms charts (the campaign tab has no series)


def test_no_data_snapshot_says_so_in_one_line(snap):
    subscribe(snap, campaign_id="not-started-yet", channel="all")  # allow_unknown_campaign: true
    run(time.time() + 3600)
    msg, text, html, cells, images, attachments = parse(sent_messages()[0].raw_data)
    assert html.count('data-nodata="1"') == 1 and "No events for not-started-yet in this period." in html
    assert not cells.values and not images


def test_chart_is_cut_at_now_and_titled():
    now = datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc).timestamp()
    stamps = [f"2026-11-25T{h:02d}:00:00Z" for h in range(8, 14)]
    times, values = chart.cut_at(stamps, {"sent": [1, 2, 3, 0, 0, 0]}, now)
    assert [t.hour for t in times] == [8, 9, 10] and values == {"sent": [1, 2, 3]}
    doc = {"series": {"step_seconds": 3600, "timestamps": stamps, "values": {"sent": [1, 2, 3, 0, 0, 0]}}}
    png = chart.render_chart(doc, "fr", "E-mail · 24 dernières heures (CET)", "Europe/Paris", now)
    assert png and png[:4] == b"\x89PNG"


def test_french_subject_and_times_follow_the_daily_zone(snap):
    post_sample(snap, time.time() - 60)
    subscribe(snap, report="global", channel="email", language="fr",
              frequency={"type": "daily", "time": "00:00", "tz": "Europe/Paris"})
    run(time.time() + 86400)
    msg, text, html, *_ = parse(sent_messages()[0].raw_data)
    assert "E-mail" in msg["Subject"] and "CET" in msg["Subject"]
    # 6 sends reported, 7 delivered, bounced or failed: one send inferred (issue 17)
    assert "Envoyés\u00a0: 7 (6 signalés, 1 déduit)" in text and "Taux de délivrabilité" in html


def test_chart_reads_on_a_phone_and_marks_the_running_hour():
    """The chart's text reads ≥ 10 px on a phone's mail column (it was ~5 px), and the hour still running
    is dashed and said so, not drawn as a collapse."""
    from io import BytesIO
    from PIL import Image
    now = datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc).timestamp()
    stamps = [f"2026-11-25T{h:02d}:00:00Z" for h in range(8, 14)]
    times, _ = chart.cut_at(stamps, {}, now)
    assert chart.partial_last(times, 3600, now) and not chart.partial_last(times[:2], 3600, now)
    assert not chart.partial_last(times, 3600, datetime(2026, 11, 25, 11, 0, tzinfo=timezone.utc).timestamp())
    doc = {"series": {"step_seconds": 3600, "timestamps": stamps, "values": {"sent": [1800, 2000, 150, 0, 0, 0]}}}
    png = chart.render_chart(doc, "fr", "E-mail", "Europe/Paris", now)
    with Image.open(BytesIO(png)) as im:
        width = im.size[0]
    assert width == round(chart.FIGURE_INCHES[0] * chart.DPI)
    assert chart.text_px(chart.PHONE_PX) >= 10 and chart.text_px(chart.DISPLAY_MAX_PX) <= 17
    assert chart._group(1800, "fr") == "1\u202f800" and chart._group(1800, "en") == "1,800"


def test_error_reasons_that_repeat_the_types_make_one_table(snap):
    now = time.time() - 60
    errors = [("mailbox_full", "mailbox_full"), ("mailbox_full", "Mailbox full"), ("refused", "refused")]
    events = [{"event_id": f"x{i}", "timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat(), "campaign_id": "c1",
               "channel": "email", "type": "error", "error_type": kind, "reason": reason}
              for i, (kind, reason) in enumerate(errors)] + [
              {"event_id": "s0", "timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat(), "campaign_id": "c1",
               "channel": "email", "type": "sent"}]
    assert json.loads(snap.post_events(events).body)["accepted"] == 4
    subscribe(snap)
    run(time.time() + 3600)
    html = parse(sent_messages()[0].raw_data)[2]
    assert html.count("Errors by type") == 1 and "Error reasons" not in html
    # reasons that say more than the type keep their table
    snap.post_events([{"event_id": "x9", "timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat(),
                       "campaign_id": "c1", "channel": "email", "type": "error", "error_type": "refused",
                       "reason": "550 blocked by policy"}])
    run(time.time() + 7200)
    html = parse(sent_messages()[-1].raw_data)[2]
    assert "Errors by type" in html and "Error reasons" in html and "550 blocked by policy" in html

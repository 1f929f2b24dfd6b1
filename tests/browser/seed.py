"""A known data set for the browser tests, posted through the real ingest endpoint.

Every event is within the last hour, so the live report (24 h window) shows all of it.
Two executions on email make the execution filter change the numbers; producer strings
include an HTML payload, a formula-looking reason and a javascript: URL.
"""
from __future__ import annotations

import itertools
import json
import urllib.request
from datetime import datetime, timedelta, timezone

CAMPAIGN = "spring-sale"
EMAIL_ONLY = "newsletter-42"
XSS = "<img src=x onerror=alert(1)>"
FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")"
JS_URL = "javascript:alert(2)"
GOOD_URL = "https://shop.example.com/spring?utm=mail"

_ids = itertools.count()


def _ev(channel: str, etype: str, profile: str, minutes_ago: float, campaign: str = CAMPAIGN, **extra) -> dict:
    ts = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    ev = {"event_id": f"seed-{next(_ids)}", "timestamp": ts.isoformat(), "campaign_id": campaign,
          "channel": channel, "type": etype, "profile_id": profile}
    ev.update(extra)
    return ev


def events() -> list[dict]:
    out: list[dict] = []
    add = out.append
    # Email, execution run-1: 6 targeted, 1 excluded (HTML payload as reason), 5 sent, 4 delivered, 1 hard bounce.
    domains = ["gmail.com", "yahoo.fr", "orange.fr", "gmail.com", "free.fr", "gmail.com"]
    for i in range(6):
        p, d = f"e{i}", domains[i]
        add(_ev("email", "targeted", p, 50 - i, execution_id="run-1", recipient_domain=d))
        if i == 5:
            add(_ev("email", "excluded", p, 49, execution_id="run-1", reason=XSS))
            continue
        add(_ev("email", "sent", p, 45 - i, execution_id="run-1", recipient_domain=d))
        if i == 4:
            add(_ev("email", "bounce", p, 40, execution_id="run-1", bounce_type="hard", reason="550 5.1.1 user unknown",
                    recipient_domain=d))
            add(_ev("email", "quarantine", p, 40, execution_id="run-1"))
            continue
        add(_ev("email", "delivered", p, 40 - i, execution_id="run-1", recipient_domain=d))
    for i, p in enumerate(["e0", "e1", "e2", "e0"]):
        add(_ev("email", "open", p, 30 - i, execution_id="run-1", recipient_domain=domains[int(p[1])]))
    add(_ev("email", "click", "e0", 25, execution_id="run-1", url=GOOD_URL, recipient_domain="gmail.com"))
    add(_ev("email", "click", "e1", 24, execution_id="run-1", url=JS_URL, recipient_domain="yahoo.fr"))
    add(_ev("email", "unsubscribe", "e2", 20, execution_id="run-1", recipient_domain="orange.fr"))
    add(_ev("email", "offer_sent", "e0", 35, execution_id="run-1", offer_id="offer-10pct"))
    add(_ev("email", "offer_sent", "e1", 35, execution_id="run-1", offer_id="offer-gift"))
    add(_ev("email", "offer_click", "e0", 22, execution_id="run-1", offer_id="offer-10pct"))
    add(_ev("email", "action_executed", "e0", 50, execution_id="run-1"))
    add(_ev("email", "action_executed", "e1", 50, execution_id="run-1"))
    # Email, execution run-2: 3 targeted, 3 sent, 2 delivered, 1 error with a formula-looking reason, 1 retry.
    for i in range(3):
        p = f"f{i}"
        add(_ev("email", "targeted", p, 15, execution_id="run-2", recipient_domain="outlook.com"))
        add(_ev("email", "sent", p, 14, execution_id="run-2", recipient_domain="outlook.com"))
    add(_ev("email", "delivered", "f0", 12, execution_id="run-2", recipient_domain="outlook.com"))
    add(_ev("email", "delivered", "f1", 12, execution_id="run-2", recipient_domain="outlook.com"))
    add(_ev("email", "retry", "f2", 13, execution_id="run-2"))
    add(_ev("email", "error", "f2", 11, execution_id="run-2", reason=FORMULA, error_type="mailbox_full",
            recipient_domain="outlook.com"))
    add(_ev("email", "open", "f0", 10, execution_id="run-2", recipient_domain="outlook.com"))
    # Push: 4 targeted, 1 excluded, 3 sent, 2 delivered, 1 bounce, 2 opens, 1 action.
    for i, plat in enumerate(["ios", "ios", "android", "android"]):
        add(_ev("push", "targeted", f"p{i}", 40, platform=plat))
    add(_ev("push", "excluded", "p3", 39, platform="android", reason="No push token"))
    for i, plat in enumerate(["ios", "ios", "android"]):
        add(_ev("push", "sent", f"p{i}", 38, platform=plat))
    add(_ev("push", "delivered", "p0", 37, platform="ios"))
    add(_ev("push", "delivered", "p2", 37, platform="android"))
    add(_ev("push", "bounce", "p1", 37, platform="ios", bounce_type="soft", reason="device unregistered"))
    add(_ev("push", "open", "p0", 30, platform="ios"))
    add(_ev("push", "open", "p2", 29, platform="android"))
    add(_ev("push", "action", "p0", 28, platform="ios", action="view_offer"))
    # SMS: 3 targeted, 3 sent, 2 delivered, 1 soft bounce, 1 click, 1 error.
    for i in range(3):
        add(_ev("sms", "targeted", f"s{i}", 35))
        add(_ev("sms", "sent", f"s{i}", 34))
    add(_ev("sms", "delivered", "s0", 33))
    add(_ev("sms", "delivered", "s1", 33))
    add(_ev("sms", "bounce", "s2", 33, bounce_type="soft", reason="carrier rejected"))
    add(_ev("sms", "click", "s0", 20, url=GOOD_URL))
    add(_ev("sms", "targeted", "s3", 32))
    add(_ev("sms", "error", "s3", 31, reason="Invalid number", error_type="invalid_domain"))
    # In-app: 3 targeted, 3 impressions, 2 interactions.
    for i, plat in enumerate(["ios", "android", "web"]):
        add(_ev("inapp", "targeted", f"i{i}", 30, platform=plat))
        add(_ev("inapp", "impression", f"i{i}", 29, platform=plat))
    add(_ev("inapp", "interaction", "i0", 25, platform="ios", interaction_type="click"))
    add(_ev("inapp", "interaction", "i1", 24, platform="android", interaction_type="dismiss"))
    # Web: 2 targeted, 4 impressions (2 profiles), 3 interactions.
    for i in range(2):
        add(_ev("web", "targeted", f"w{i}", 30))
        add(_ev("web", "impression", f"w{i}", 28))
        add(_ev("web", "impression", f"w{i}", 18))
    add(_ev("web", "interaction", "w0", 17, element="hero-banner"))
    add(_ev("web", "interaction", "w0", 16, element="cta-button"))
    add(_ev("web", "interaction", "w1", 15, element="cta-button"))
    # Direct mail: 4 targeted, 1 excluded, 2 sent, 1 error.
    for i in range(4):
        add(_ev("directmail", "targeted", f"d{i}", 45))
    add(_ev("directmail", "excluded", "d3", 44, reason="Address incomplete"))
    add(_ev("directmail", "sent", "d0", 43))
    add(_ev("directmail", "sent", "d1", 43))
    add(_ev("directmail", "error", "d2", 43, reason="Printer rejected"))
    # A second campaign with email only: its other tabs have no data.
    add(_ev("email", "targeted", "n0", 5, campaign=EMAIL_ONLY))
    add(_ev("email", "sent", "n0", 5, campaign=EMAIL_ONLY))
    return out


def post(api_url: str, key: str, evs: list[dict], timeout: float = 30) -> dict:
    req = urllib.request.Request(f"{api_url}/v1/events", data=json.dumps({"events": evs}).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = json.loads(r.read())
    assert not body.get("rejected"), body
    return body


def get(api_url: str, key: str, path: str) -> dict:
    req = urllib.request.Request(f"{api_url}{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


# ---------- experiments (their own workspace, so the campaigns above keep their numbers) ----------
EXP_WORKSPACE = "browser-exp"
WINNER = "subject-line"  # email: B clearly beats A on unique clicks (and on unsubscribes, lower is better); sms: A/A
SPLIT = "split-check"  # email: people split 150/50 while the test plans 50/50; three profiles sent both variants
SETTINGS = "settings-check"  # email: settings changed through the page's dialog
PLAIN = "no-variants"  # no variant at all: no Experimentation tab
LIVE_EXP = "live-check"  # email: people arrive while the page is open


def experiment_events() -> list[dict]:
    """Sends spread over the last hour, outcomes after them: every number is fixed, whatever the time of day."""
    out: list[dict] = []
    add = out.append

    def arm(campaign: str, channel: str, variant: str, people: int, clicks: int = 0, unsubs: int = 0,
            converted: int = 0, value: float = 0.0, prefix: str = "") -> None:
        for i in range(people):
            p = f"{prefix or campaign}-{channel}-{variant}-{i}"
            sent = 60 - (i % 40)  # 40 different minutes
            add(_ev(channel, "sent", p, sent, campaign=campaign, variant=variant))
            if i < clicks:
                add(_ev(channel, "click", p, sent - 3, campaign=campaign, variant=variant, url=GOOD_URL))
            if i < unsubs:
                add(_ev(channel, "unsubscribe", p, sent - 4, campaign=campaign, variant=variant))
            if i < converted:
                add(_ev(channel, "conversion", p, sent - 5, campaign=campaign, value=value, currency="EUR"))

    arm(WINNER, "email", "A", 200, clicks=20, unsubs=24, converted=10, value=30.0)
    arm(WINNER, "email", "B", 200, clicks=60, unsubs=2, converted=20, value=30.0)
    arm(WINNER, "sms", "A", 100, clicks=15)
    arm(WINNER, "sms", "B", 100, clicks=15)
    arm(SPLIT, "email", "A", 150, clicks=15)
    arm(SPLIT, "email", "B", 50, clicks=5)
    for i in range(3):  # sent A first, then B: counted in A, and said
        add(_ev("email", "sent", f"{SPLIT}-email-A-{i}", 2, campaign=SPLIT, variant="B"))
    arm(SETTINGS, "email", "A", 60, clicks=6)
    arm(SETTINGS, "email", "B", 60, clicks=8)
    arm(LIVE_EXP, "email", "A", 40, clicks=4)
    arm(LIVE_EXP, "email", "B", 40, clicks=4)
    add(_ev("email", "sent", "plain-0", 5, campaign=PLAIN))
    return out

"""Full-page screenshots of every tab (desktop 1440 px and phone 390 px) into docs/screenshots/.

    .venv/bin/python -m tests.browser.screenshots
    .venv/bin/python -m tests.browser.screenshots experiments   # the Experimentation tab and its email only

Starts its own local stack, streams a day of realistic traffic for one campaign on every channel
(infra/local/traffic.py), signs in and captures each tab, the global email report and the
"Email me this report" dialog, then sends the live all-channels snapshot email and renders it
(email-snapshot-desktop.png at a 680 px mail column, email-snapshot-phone.png at 390 px), and the
consent pages people reach from emails (consent-*.png, unsubscribe-*.png) and the confirmation
request (email-consent-*.png). `--consent` renders only those (no traffic needed).
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from infra.local.stack import FAKE_AWS, LocalStack  # noqa: E402
from infra.local.traffic import Campaign, TrafficGenerator  # noqa: E402

from tests.browser import seed  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, build_web, open_tab, sign_in, wait_loaded  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CAMPAIGN = Campaign("black-friday-2026", ("email", "push", "sms", "inapp", "web", "directmail"),
                    ("2026-11-25T08:00", "2026-11-25T14:00"))
TABS = ["campaign", "email", "inapp", "push", "sms", "web", "directmail"]


def main() -> None:
    import os
    os.environ.update(FAKE_AWS)
    from infra.local import console
    console.configure()
    build_web()
    stack = LocalStack(table_name="livereport-screens")
    stack.start_moto()
    stack.create_table()
    stack.start_api()
    stack.start_web()
    _, stack.key = stack.services.keys.create("screens", ["ingest", "read", "manage"])
    OUT.mkdir(parents=True, exist_ok=True)
    if "--consent" in sys.argv:
        from playwright.sync_api import sync_playwright
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                _consent_pngs(browser, stack)
                browser.close()
        finally:
            stack.stop()
        print(f"screenshots in {OUT}")
        return
    now = datetime.now(timezone.utc)
    gen = TrafficGenerator(seed=42, prefix="shot")
    events = list(gen.events(1000, now - timedelta(hours=23), now - timedelta(minutes=1), campaigns=(CAMPAIGN,)))
    started = time.monotonic()
    for i in range(0, len(events), 100):
        seed.post(stack.api_url, stack.key, events[i:i + 100], timeout=300)
    stack.services.pump()  # fold and roll up now rather than at the poller's next tick
    print(f"{len(events)} events ingested in {time.monotonic() - started:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, width in (("desktop", 1440), ("phone", 390)):
                ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB", timezone_id="Europe/Paris")
                page = ctx.new_page()
                sign_in(page, stack, campaign=CAMPAIGN.campaign_id)
                for tab in TABS:
                    open_tab(page, tab)
                    time.sleep(0.6)  # let chart animations settle
                    page.screenshot(path=str(OUT / f"{tab}-{name}.png"), full_page=True)
                open_tab(page, "email")
                page.click("[data-mode=global]")
                wait_loaded(page, CAMPAIGN.campaign_id, "email", "global")
                time.sleep(0.6)
                page.screenshot(path=str(OUT / f"email-global-{name}.png"), full_page=True)
                page.click("[data-mode=live]")
                wait_loaded(page, CAMPAIGN.campaign_id, "email", "live")
                page.click(".email-me")
                page.fill("#sub-recipients", "ann@example.com")
                time.sleep(0.3)
                page.screenshot(path=str(OUT / f"subscribe-{name}.png"))
                page.keyboard.press("Escape")
                ctx.close()
            _email_pngs(browser, stack)
            browser.close()
    finally:
        stack.stop()
    print(f"screenshots in {OUT}")


def _email_pngs(browser, stack: LocalStack) -> None:
    """Send the live all-channels snapshot of the campaign and render it as a mail client would."""
    import os
    import app as app_module
    from infra.local.schedules import verify_sender
    from tests.browser.email_png import render_png
    os.environ.setdefault("LIVEREPORT_ENV", "local")
    os.environ["DASHBOARD_URL"] = stack.web_url
    verify_sender(app_module._ses_client(), "reports@example.com")
    from chalicelib.snapshots.subscriptions import SubscriptionStore
    SubscriptionStore(stack.services.client, stack.services.config.table_name).create(
        "screens", {"campaign_id": CAMPAIGN.campaign_id, "report": "live", "channel": "all", "language": "en",
                    "recipients": ["ann@example.com"], "frequency": {"type": "hourly", "tz": "Europe/Paris"}},
        time.time() - 7200)
    from chalicelib.consent.lists import SUB, ListContext, ref
    from chalicelib.consent.store import ConsentStore
    (sub,) = SubscriptionStore(stack.services.client, stack.services.config.table_name).list("screens")
    ConsentStore(stack.services.client, stack.services.config.table_name).register(  # as if Ann had confirmed
        "screens", ref(SUB, sub.subscription_id), ["ann@example.com"], {"ann@example.com"},
        ListContext("en", "", "screens"), time.time(), confirmed_via="demo")
    raws: list[bytes] = []
    app_module.snapshot_runner_for(lambda sub, rcpt, period, raw: raws.append(raw)).run()
    for name, width in (("desktop", 680), ("phone", 390)):
        render_png(browser, raws[0], OUT / f"email-snapshot-{name}.png", width)


def experiments_main() -> None:
    """The Experimentation tab (desktop and phone, English and French) on the browser tests' seeded experiments,
    and the snapshot email of the email channel with its experiment block (experiment-snapshot-*.png)."""
    import os
    os.environ.update(FAKE_AWS)
    from infra.local import console
    console.configure()
    build_web()
    stack = LocalStack(table_name="livereport-screens-x")
    stack.start_moto()
    stack.create_table()
    stack.start_api()
    stack.start_web()
    _, stack.key = stack.services.keys.create(seed.EXP_WORKSPACE, ["ingest", "read", "manage"])
    seed.post(stack.api_url, stack.key, seed.experiment_events(), timeout=300)
    stack.services.pump()
    OUT.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for lang in ("en", "fr"):
                for name, width in (("desktop", 1440), ("phone", 390)):
                    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB", timezone_id="Europe/Paris")
                    page = ctx.new_page()
                    page.goto(stack.web_url)
                    page.evaluate("([l]) => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: l, tz: 'Europe/Paris'}))", [lang])
                    page.evaluate("([k]) => sessionStorage.setItem('clr.readKey', k)", [stack.key])
                    page.goto(f"{stack.web_url}?campaign={seed.WINNER}&tab=experiments&channel=email&metric=unique_clicks")
                    page.wait_for_selector("section.x-head:not([hidden]) .x-summary:not(:empty)")
                    page.wait_for_selector(".widget[data-widget='x-chart'] .chart svg")
                    time.sleep(0.8)  # let chart animations settle
                    suffix = "" if lang == "en" else "-fr"
                    page.screenshot(path=str(OUT / f"experiments-{name}{suffix}.png"), full_page=True)
                    if name == "desktop" and lang == "en":
                        page.click(".x-settings")
                        page.wait_for_selector(".x-form")
                        time.sleep(0.3)
                        page.screenshot(path=str(OUT / "experiments-settings-desktop.png"))
                    ctx.close()
            _experiment_email_pngs(browser, stack)
            browser.close()
    finally:
        stack.stop()
    print(f"screenshots in {OUT}")


def _consent_pngs(browser, stack: LocalStack) -> None:
    """The confirmation request (as a mail client shows it) and the confirm and unsubscribe pages."""
    import json
    import os
    import re
    import urllib.request
    import app as app_module
    from infra.local.schedules import verify_sender
    from tests.browser.email_png import render_png
    os.environ.setdefault("LIVEREPORT_ENV", "local")
    os.environ["PUBLIC_API_URL"] = stack.api_url
    verify_sender(app_module._ses_client(), "reports@example.com")
    body = {"campaign_id": CAMPAIGN.campaign_id, "report": "live", "channel": "all", "language": "en",
            "recipients": ["ann@example.com"], "allow_unknown_campaign": True,
            "frequency": {"type": "daily", "time": "08:00", "tz": "Europe/Paris"}}
    urllib.request.urlopen(urllib.request.Request(f"{stack.api_url}/v1/subscriptions", data=json.dumps(body).encode(),
                                                  headers={"Authorization": f"Bearer {stack.key}",
                                                           "Content-Type": "application/json"}), timeout=30)
    raws: list[bytes] = []
    app_module.mailer_for(lambda kind, rcpt, raw: raws.append(raw)).run()
    for name, width in (("desktop", 680), ("phone", 390)):
        render_png(browser, raws[0], OUT / f"email-consent-{name}.png", width)
    import email
    from email import policy
    text = email.message_from_bytes(raws[0], policy=policy.default).get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/v1/consent\?token=\S+)", text).group(1)
    for name, width in (("desktop", 1440), ("phone", 390)):
        ctx = browser.new_context(viewport={"width": width, "height": 700}, locale="en-GB")
        page = ctx.new_page()
        page.goto(link)
        page.screenshot(path=str(OUT / f"consent-{name}.png"))
        ctx.close()
    from chalicelib.consent.gate import unsubscribe_url
    from chalicelib.snapshots.tokens import TokenSigner, secret_from_env
    subs = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{stack.api_url}/v1/subscriptions", headers={"Authorization": f"Bearer {stack.key}"}), timeout=30).read())
    sub_id = subs["subscriptions"][0]["subscription_id"]
    url = unsubscribe_url(TokenSigner(secret_from_env()), stack.api_url, "screens", f"sub:{sub_id}",
                          "ann@example.com", time.time())
    ctx = browser.new_context(viewport={"width": 390, "height": 700}, locale="en-GB")
    page = ctx.new_page()
    page.goto(url)
    page.screenshot(path=str(OUT / "unsubscribe-phone.png"))
    ctx.close()


def _experiment_email_pngs(browser, stack: LocalStack) -> None:
    import os
    import app as app_module
    from infra.local.schedules import verify_sender
    from tests.browser.email_png import render_png
    os.environ.setdefault("LIVEREPORT_ENV", "local")
    os.environ["DASHBOARD_URL"] = stack.web_url
    verify_sender(app_module._ses_client(), "reports@example.com")
    from chalicelib.snapshots.subscriptions import SubscriptionStore
    SubscriptionStore(stack.services.client, stack.services.config.table_name).create(
        seed.EXP_WORKSPACE, {"campaign_id": seed.WINNER, "report": "live", "channel": "email", "language": "en",
                             "recipients": ["ann@example.com"], "frequency": {"type": "hourly", "tz": "Europe/Paris"}},
        time.time() - 7200)
    from chalicelib.consent.lists import SUB, ListContext, ref
    from chalicelib.consent.store import ConsentStore
    (sub,) = SubscriptionStore(stack.services.client, stack.services.config.table_name).list(seed.EXP_WORKSPACE)
    ConsentStore(stack.services.client, stack.services.config.table_name).register(  # as if Ann had confirmed
        seed.EXP_WORKSPACE, ref(SUB, sub.subscription_id), ["ann@example.com"], {"ann@example.com"},
        ListContext("en", "", seed.EXP_WORKSPACE), time.time(), confirmed_via="demo")
    raws: list[bytes] = []
    app_module.snapshot_runner_for(lambda sub, rcpt, period, raw: raws.append(raw)).run()
    for name, width in (("desktop", 680), ("phone", 390)):
        render_png(browser, raws[0], OUT / f"experiment-snapshot-{name}.png", width)


if __name__ == "__main__":
    experiments_main() if sys.argv[1:] == ["experiments"] else main()

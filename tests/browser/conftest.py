"""Browser tests: the real local stack (moto server + chalice local + the built page) and Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from . import seed

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
DESKTOP = {"width": 1440, "height": 900}
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Browser-Tests-Pa55!"


def build_web() -> None:
    """Build web/dist when it is missing (npm ci first when node_modules is missing)."""
    if (WEB / "dist" / "index.html").exists():
        return
    npm = shutil.which("npm")
    assert npm, "npm is needed to build the dashboard (web/dist is missing)"
    if not (WEB / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build", "--silent"], cwd=WEB, check=True)


@pytest.fixture(scope="package")
def stack():
    build_web()
    from infra.local import console
    from infra.local.accounts import start_accounts
    from infra.local.stack import LocalStack
    console.configure()  # what make run does: quiet access log, the API's error shape for gateway errors
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "TABLE_NAME", "STREAM_NAME", "COGNITO_USER_POOL_ID",
                                            "COGNITO_CLIENT_ID", "COGNITO_REGION", "COGNITO_ENDPOINT")}
    reset_app_clients()  # a stack of an earlier package on this worker may have left clients to its endpoint
    s = LocalStack(table_name="livereport-browser")
    s.start_moto()
    s.create_table()
    s.start_api()
    # what make run does: a local pool whose admin is a member of `demo` and `default`
    s.outbox = Path(tempfile.mkdtemp(prefix="browser-outbox-"))  # local invitations land here
    s.accounts = start_accounts(s, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, outbox=s.outbox)
    # a full refresh every 5 s at the latest, live channel or not (tests/browser/test_live_push.py sets its own)
    assert s.start_web({"refreshSeconds": 5, "liveRefreshSeconds": 5, **s.accounts.web_config}), \
        "web/dist/index.html missing after build"
    _, s.key = s.services.keys.create("browser", ["ingest", "read"], "browser tests")
    seed.post(s.api_url, s.key, seed.events())
    s.services.pump()  # fold now rather than at the poller's next tick
    yield s
    s.stop()
    for k, v in saved.items():  # leave the environment as the other test modules expect it
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_app_clients()


def reset_app_clients() -> None:
    """The app caches its wiring and AWS clients per process: with pytest-xdist a worker may run this
    package more than once (between other files), each time with a new moto server on a new port."""
    import app as app_module
    for cached in (app_module.wired, app_module._ses_client, app_module._sqs_client):
        cached.cache_clear()


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run `make browser` (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        follow_test_clock(b)
        yield b
        b.close()


def follow_test_clock(browser) -> None:
    """Under LIVEREPORT_TEST_HOUR (tests/clock_hour.py) every page's Date reads the test process's clock."""
    import time

    import clock_hour
    if not clock_hour.shifted():
        return
    new_context = browser.new_context

    def shifted_context(*args, **kwargs):
        ctx = new_context(*args, **kwargs)
        ctx.clock.set_system_time(time.time())  # and it ticks on from there
        return ctx
    browser.new_context = shifted_context


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC", accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, stack):
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg


def sign_in(page, stack, campaign: str = seed.CAMPAIGN, lang: str = "en") -> None:
    page.goto(stack.web_url)
    page.evaluate("([l]) => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: l, tz: 'UTC', campaign: null}))", [lang])
    page.reload()
    page.click("form.signin .use-key")
    page.fill("#read-key", stack.key)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("[role=tablist]")
    choose_campaign(page, campaign)


def choose_campaign(page, campaign: str) -> None:
    if page.locator(".picker-current").inner_text() != campaign:
        if not page.locator(".picker").evaluate("d => d.open"):
            page.click(".picker-summary")
        page.fill(".picker-panel input[type=search]", campaign)
        page.click(f".picker-item[data-campaign='{campaign}']")
    page.wait_for_function("c => document.querySelector('.picker-current')?.textContent === c", arg=campaign)
    wait_loaded(page, campaign, page.locator("[role=tab][aria-selected=true]").get_attribute("data-tab"))


def wait_loaded(page, campaign: str, tab: str, mode: str = "live") -> None:
    page.wait_for_selector(f"main[data-loaded='{campaign}:{tab}:{mode}']", timeout=30000)  # a loaded machine is slow


def open_tab(page, tab: str) -> None:
    page.click(f"[role=tab][data-tab='{tab}']")
    page.wait_for_selector(f"[role=tab][data-tab='{tab}'][aria-selected=true]")
    wait_loaded(page, page.locator(".picker-current").inner_text(), tab)


@pytest.fixture(scope="package")
def demo_key(stack):
    """A manage key of a workspace of its own holding the demo's traffic (every channel, ~20 h)."""
    from datetime import datetime, timedelta, timezone
    from infra.local.traffic import DEMO_CAMPAIGNS, TrafficGenerator
    _, key = stack.services.keys.create("browser-demo", ["ingest", "read", "manage"], "demo data")
    now = datetime.now(timezone.utc)
    generator = TrafficGenerator(seed=42, prefix="lay")
    events = list(generator.events(900, now - timedelta(hours=20), now - timedelta(minutes=1)))
    # Which campaigns the 900 events reach depends on the time of day (recurring sends target their whole
    # audience when a cycle is running), so every channel of every demo campaign gets journeys of its own.
    for campaign in DEMO_CAMPAIGNS:
        for channel in campaign.channels:
            for i in range(12):
                events += generator.journey(campaign, channel, now - timedelta(minutes=10 + 95 * i))
    # errors of every known type on black-friday's email tab, whatever the generator's mix draws
    events += [{"event_id": f"lay-err-{i}", "timestamp": (now - timedelta(minutes=30 + i)).isoformat(),
                "campaign_id": "black-friday-2026", "channel": "email", "type": "error", "error_type": kind,
                "reason": reason, "profile_id": f"lay-err-{i}", "recipient_domain": "example.com"}
               for i, (kind, reason) in enumerate([("mailbox_full", "mailbox_full"), ("invalid_domain", "invalid_domain"),
                                                   ("unreachable", "unreachable"), ("account_disabled", "account_disabled")])]
    for i in range(0, len(events), 300):
        seed.post(stack.api_url, key, events[i:i + 300], timeout=300)
    stack.services.pump()  # fold now rather than at the poller's next tick
    return key


def enter(page, stack, key, lang="en", tz="Europe/Paris") -> None:
    """Open the page already signed in (the key in session storage, as after sign-in)."""
    page.goto(stack.web_url)
    page.evaluate("([l, z]) => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: l, tz: z}))", [lang, tz])
    page.evaluate("([k]) => sessionStorage.setItem('clr.readKey', k)", [key])


@pytest.fixture(scope="package")
def exp_keys(stack):
    """(manage key, read key) of a workspace of its own holding the seeded experiments (seed.experiment_events)."""
    _, manage = stack.services.keys.create(seed.EXP_WORKSPACE, ["ingest", "read", "manage"], "experiments: editor")
    _, read = stack.services.keys.create(seed.EXP_WORKSPACE, ["read"], "experiments: read only")
    events = seed.experiment_events()
    for i in range(0, len(events), 500):
        seed.post(stack.api_url, manage, events[i:i + 500], timeout=300)
    stack.services.pump()  # fold now rather than at the poller's next tick
    return manage, read

"""Screenshots of the `webhook-replay` campaign (issue 17) into docs/screenshots/webhook-replay-*.png:

    .venv/bin/python -m tests.browser.webhook_screens

Starts its own local stack, runs the README's webhook replay (`python -m infra.webhooks replay`, every sample
platform, signed as the platform signs) against it, and captures the Email and SMS tabs, desktop (1440 px) and
phone (390 px), English and French: what a marketer sees of real platform traffic (sends the platform never
reported shown as inferred, machine opens beside human opens, why send progress has no plan). Also checks what
the pictures must show, so a regression fails here rather than in a reader's eyes.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from infra.local.stack import FAKE_AWS, LocalStack  # noqa: E402

from tests.browser import seed  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, build_web, wait_loaded  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
WS = "default"  # the dev key's workspace, as after `make run`
CAMPAIGN = "webhook-replay"


def replay(stack: LocalStack, key: str) -> None:
    """The README's command, in process, against this stack; waits until the webhooks' events are folded."""
    from infra.webhooks.__main__ import main as webhooks
    assert webhooks(["replay", "--url", stack.api_url, "--key", key]) == 0, "the replay was refused"
    deadline = time.time() + 120
    while True:
        stack.services.pump()
        docs = [seed.get(stack.api_url, key, f"/v1/campaigns/{CAMPAIGN}/live?channel={c}") for c in ("email", "sms")]
        if all(d.get("has_data") for d in docs) or time.time() > deadline:
            return
        time.sleep(0.5)


def check(doc: dict, tab: str) -> None:
    """What the screenshots must read: no rate over 100 %, distinct opens where there are opens."""
    over = {k: v for k, v in (doc.get("rates") or {}).items() if v is not None and v > 1}
    assert not over, (tab, over)
    if tab == "email" and doc["totals"].get("open"):
        assert doc["distinct"]["open"] + doc["distinct"].get("open_machine", 0) > 0, doc["distinct"]


def main() -> None:
    import os
    os.environ.update(FAKE_AWS)
    from infra.local import console
    console.configure()
    build_web()
    stack = LocalStack(table_name="livereport-screens-wh")
    stack.start_moto()
    stack.create_table()
    stack.start_api()
    stack.start_web()
    _, key = stack.services.keys.create(WS, ["ingest", "read", "manage"], "webhook screenshots")
    OUT.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    try:
        replay(stack, key)
        for tab in ("email", "sms"):
            doc = seed.get(stack.api_url, key, f"/v1/campaigns/{CAMPAIGN}/live?channel={tab}")
            check(doc, tab)
            print(tab, "totals", doc["totals"], "inferred", doc.get("inferred"), "rates", doc["rates"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for lang in ("en", "fr"):
                for name, width in (("desktop", 1440), ("phone", 390)):
                    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB",
                                              timezone_id="Europe/Paris")
                    page = ctx.new_page()
                    page.goto(stack.web_url)
                    page.evaluate("([l]) => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: l, tz: 'Europe/Paris'}))", [lang])
                    page.evaluate("([k]) => sessionStorage.setItem('clr.readKey', k)", [key])
                    for tab in ("email", "sms"):
                        page.goto(f"{stack.web_url}?ws={WS}&campaign={CAMPAIGN}&tab={tab}&mode=live")
                        wait_loaded(page, CAMPAIGN, tab)
                        page.wait_for_selector(f".widget[data-widget='{tab}-kpis'] .kpi")
                        if tab == "email":  # the switch and the inferred note are in view
                            assert page.locator("#machine-opens").count() == 1
                        time.sleep(0.8)  # let chart animations settle
                        suffix = "" if lang == "en" else "-fr"
                        page.screenshot(path=str(OUT / f"webhook-replay-{tab}-{name}{suffix}.png"), full_page=True)
                    ctx.close()
            browser.close()
    finally:
        stack.stop()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()

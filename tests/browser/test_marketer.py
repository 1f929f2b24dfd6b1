"""The marketer's day: email reports from the page, shareable views, CSV in French, tabs that point
to data, definitions, the covered period, the latest event and the change against the previous period."""
from __future__ import annotations

import csv
import email
import io
import json
import re
import time
from datetime import datetime
from email import policy

from playwright.sync_api import expect

from . import seed
from .conftest import choose_campaign, enter, open_tab, sign_in, wait_loaded
from .helpers import kpis, live

BF = "black-friday-2026"


def tab_classes(page) -> dict[str, bool]:
    # the tabs offered (Experimentation is hidden for a campaign without variants)
    return page.eval_on_selector_all("[role=tab]:not([hidden])", "els => Object.fromEntries(els.map(e => [e.dataset.tab, e.classList.contains('has-data')]))")


def test_subscription_ui_end_to_end(page, stack, demo_key, monkeypatch, tmp_path):
    import app as app_module
    from infra.local.schedules import MailOutbox, Outbox, verify_sender
    enter(page, stack, demo_key)
    page.goto(f"{stack.web_url}?campaign={BF}&tab=email&mode=live")
    wait_loaded(page, BF, "email")
    page.click(".email-me")
    page.fill("#sub-recipients", "ann@example.com, bob@example.org")
    page.select_option("#sub-scope", "all")
    page.select_option("#sub-frequency", "hourly")
    page.click("dialog.subscribe button[type=submit]")
    for address in ("ann@example.com", "bob@example.org"):  # outside the workspace: asked to confirm first
        page.wait_for_selector(f".sub-list li[data-subscription] .recipient[data-address='{address}'][data-status=pending]")
    subs = seed.get(stack.api_url, demo_key, "/v1/subscriptions")["subscriptions"]
    assert [(s["campaign_id"], s["channel"], s["report"], s["frequency"]["tz"]) for s in subs] == [(BF, "all", "live", "Europe/Paris")]
    # the scheduled mailer sends the confirmation requests; Ann opens hers and says yes on the page
    monkeypatch.setenv("LIVEREPORT_ENV", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.moto_url)  # the SES client of the app's senders: this stack's
    monkeypatch.setenv("DASHBOARD_URL", stack.web_url)
    monkeypatch.setenv("PUBLIC_API_URL", stack.api_url)
    verify_sender(app_module._ses_client(), "reports@example.com")
    requests = tmp_path / "requests"
    assert app_module.mailer_for(MailOutbox(requests)).run(time.time()).summary()["sent"] == 2
    (ann_request,) = requests.glob("confirm-ann@example.com-*.eml")
    request = email.message_from_bytes(ann_request.read_bytes(), policy=policy.default)
    link = next(line for line in request.get_body(("plain",)).get_content().splitlines() if "/v1/consent?token=" in line)
    consent = page.context.new_page()
    consent.set_viewport_size({"width": 390, "height": 800})
    consent.goto(link.strip())
    expect(consent.locator("h1")).to_have_text("Receive these emails?")
    assert consent.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    consent.screenshot(path="/tmp/consent-page-390.png")
    consent.click("button[value=yes]")
    expect(consent.locator("h1")).to_have_text("Confirmed")
    consent.close()
    page.click("dialog.subscribe [data-close]")
    page.click(".email-me")
    page.wait_for_selector(".sub-list .recipient[data-address='ann@example.com'][data-status=confirmed]")
    page.wait_for_selector(".sub-list .recipient[data-address='bob@example.org'][data-status=pending]")
    expect(page.locator(".sub-quota")).to_contain_text(re.compile(r"Emails sent by this workspace today: \d+ of 500\."))
    page.screenshot(path="/tmp/subscribe-statuses-1440.png")
    # the scheduled function sends it: one email to the one who confirmed, in the local outbox
    outbox = Outbox(tmp_path)
    sent = app_module.snapshot_runner_for(outbox).run(time.time() + 3600).summary()["sent"]
    assert sent == 1
    emls = sorted(tmp_path.glob("*.eml"))
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    assert BF in msg["Subject"] and "CET" in msg["Subject"]
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_content()
    link = f"{stack.web_url}?ws=browser-demo&campaign={BF}&tab=campaign&mode=live&window=24h&tz=Europe%2FParis"
    assert link.replace("&", "&amp;") in html  # the subscription's workspace and the email's zone
    page.goto(link)  # the email's link opens the same view
    page.wait_for_selector(f"main[data-ws='browser-demo'][data-loaded='{BF}:campaign:live']")
    page.goto(f"{stack.web_url}?ws=browser-demo&campaign={BF}&tab=email&mode=live")
    wait_loaded(page, BF, "email")
    # delete from the page
    page.click(".email-me")
    page.click(f".sub-list li[data-subscription='{subs[0]['subscription_id']}'] button")
    page.wait_for_selector(".sub-list li.muted")
    assert seed.get(stack.api_url, demo_key, "/v1/subscriptions")["subscriptions"] == []


def test_read_keys_get_no_subscription_ui(page, stack):
    sign_in(page, stack)
    assert page.locator(".email-me").count() == 0


def test_deep_links_round_trip(page, stack):
    sign_in(page, stack)
    page.goto(f"{stack.web_url}?campaign={seed.CAMPAIGN}&tab=sms&mode=live&window=1h")
    wait_loaded(page, seed.CAMPAIGN, "sms")
    assert page.get_attribute("[role=tab][data-tab=sms]", "aria-selected") == "true"
    assert page.input_value("#window") == "1h"
    assert page.inner_text("[data-mode=live]") == "Live (1 h)"
    open_tab(page, "push")
    assert "tab=push" in page.url and "window=1h" in page.url and stack.key not in page.url
    assert "ws=browser" in page.url and "tz=UTC" in page.url  # the link opens the same workspace and zone elsewhere
    page.click("[role=tab][data-tab=email]")
    page.click("[data-mode=global]")
    wait_loaded(page, seed.CAMPAIGN, "email", "global")
    assert "mode=global" in page.url
    page.go_back()
    wait_loaded(page, seed.CAMPAIGN, "email", "live")
    page.go_back()
    wait_loaded(page, seed.CAMPAIGN, "push")
    assert page.get_attribute("[role=tab][data-tab=push]", "aria-selected") == "true"
    page.go_forward()
    wait_loaded(page, seed.CAMPAIGN, "email", "live")
    page.reload()
    wait_loaded(page, seed.CAMPAIGN, "email", "live")
    assert page.get_attribute("[role=tab][data-tab=email]", "aria-selected") == "true"
    # executions travel too
    page.goto(f"{stack.web_url}?campaign={seed.CAMPAIGN}&tab=email&mode=live&window=24h&exec=run-2")
    wait_loaded(page, seed.CAMPAIGN, "email")
    doc = live(stack, seed.CAMPAIGN, "email", executions=["run-2"])
    assert int(kpis(page, "email-kpis")["sent"]["value"]) == doc["totals"]["sent"] == 3


def test_csv_in_french(page, stack):
    sign_in(page, stack, lang="fr")
    page.evaluate("() => { const p = JSON.parse(localStorage.getItem('clr.prefs.v1')); p.tz = 'Europe/Paris'; localStorage.setItem('clr.prefs.v1', JSON.stringify(p)); }")
    page.goto(f"{stack.web_url}?campaign={seed.CAMPAIGN}&tab=email&mode=live")
    wait_loaded(page, seed.CAMPAIGN, "email")
    files = {}
    for widget in ("email-exclusions", "email-sending"):
        page.click(f".widget[data-widget='{widget}'] .menu-btn")
        with page.expect_download() as info:
            page.click(".menu:not([hidden]) [role=menuitem]:text('Télécharger en CSV')")
        files[widget] = open(info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(files["email-exclusions"]), delimiter=";"))
    assert rows[0] == ["Espace de travail", "browser"] and rows[1] == ["Campagne", seed.CAMPAIGN] and rows[2] == ["Onglet", "E-mail"]
    assert rows[3][0] == "Période" and "Europe/Paris" in rows[3][1] and rows[4] == ["Fuseau horaire", "Europe/Paris"]
    assert rows[6][0] == "Généré le"
    # the period's value is the span alone: not the page's "Période : …" line again, nor its ▲▼ comparison
    assert not rows[3][1].startswith("Période") and "▲" not in rows[3][1] and "par rapport" not in rows[3][1]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d – \d\d/\d\d/\d{4} \d\d:\d\d \(Europe/Paris\)", rows[3][1]), rows[3][1]
    header = rows.index(["Raison", "Exclus", "Part"])
    assert rows[header + 1] == [seed.XSS, "1", "100 %"]
    times = list(csv.reader(io.StringIO(files["email-sending"]), delimiter=";"))
    head = next(r for r in times if r and r[0].startswith("Heure"))
    assert head[0] == "Heure (Europe/Paris)" and head[1] == "Délivrés"
    first = times[times.index(head) + 1][0]
    assert len(first) == 16 and first[10] == " "  # 2026-11-25 14:00, in Paris time


def test_tab_dots_from_the_channel_list_and_landing_on_data(page, stack, demo_key):
    sign_in(page, stack)
    assert all(tab_classes(page).values())  # spring-sale has every channel: dots before any visit
    open_tab(page, "push")
    choose_campaign(page, seed.EMAIL_ONLY)
    assert tab_classes(page) == {"campaign": True, "email": True, "inapp": False, "push": False, "sms": False,
                                 "web": False, "directmail": False}
    assert page.get_attribute("[role=tab][data-tab=email]", "aria-selected") == "true"  # not the empty Push tab
    enter(page, stack, demo_key)
    page.goto(f"{stack.web_url}?campaign={BF}&tab=sms&mode=live")
    wait_loaded(page, BF, "sms")
    choose_campaign(page, "homepage-hero")
    wait_loaded(page, "homepage-hero", "web")


def test_definitions_period_latest_event_and_comparison(page, stack):
    sign_in(page, stack)
    open_tab(page, "email")
    label = page.locator(".widget[data-widget='email-kpis'] .kpi[data-metric=delivered] .kpi-label")
    assert "÷" not in label.get_attribute("title") and "accepted" in label.get_attribute("title")
    rate = page.locator(".widget[data-widget='email-kpis'] .kpi[data-metric=distinct_open] .kpi-label")
    assert "once" in rate.get_attribute("title")  # distinct: each profile once
    label.focus()
    tip = page.evaluate("() => getComputedStyle(document.activeElement, '::after').content")
    assert "accepted" in tip
    assert page.inner_text(".period").startswith("Covers")
    assert page.inner_text(".latest-event").startswith("Latest event received")
    # every seeded event is in the last hour: the previous 24 h had none
    delta = page.locator(".widget[data-widget='email-kpis'] .kpi[data-metric=sent] .kpi-delta")
    assert delta.get_attribute("data-previous") == "0" and delta.inner_text() == "▲ +8" and "vs previous period" in delta.get_attribute("aria-label")
    # the global report: rates beside the counts, the period in words
    page.click("[data-mode=global]")
    wait_loaded(page, seed.CAMPAIGN, "email", "global")
    doc = seed.get(stack.api_url, stack.key, f"/v1/campaigns/{seed.CAMPAIGN}/report?channel=email&tz=UTC")
    tiles = kpis(page, "g-rates")
    for name in ("delivered_rate", "bounce_rate", "open_rate", "click_rate", "reactivity", "unsubscribe_rate", "complaint_rate"):
        expected = doc["rates"][name]
        assert (None if tiles[name]["value"] == "" else float(tiles[name]["value"])) == expected, name
    assert page.inner_text(".period").startswith("Covers the whole life")
    # no series beyond now
    last = page.eval_on_selector_all(".widget[data-widget='g-activity'] tbody tr[data-row]", "rows => rows.map(r => r.dataset.row)")
    assert last and all(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() <= time.time() for ts in last)


def test_known_error_codes_are_french_on_the_live_page(page, stack, demo_key):
    enter(page, stack, demo_key, lang="fr")
    page.goto(f"{stack.web_url}?campaign={BF}&tab=email&mode=live")
    wait_loaded(page, BF, "email")
    reasons = page.eval_on_selector_all(".widget[data-widget='email-errors'] tbody tr[data-row]", "rs => rs.map(r => r.dataset.row)")
    english = {"Invalid domain", "Mailbox full", "Unreachable", "Account disabled"}  # the catalogue's own labels
    assert reasons and not english & set(reasons), reasons
    doc = live(stack, seed.CAMPAIGN, "email")
    assert json.dumps(doc)  # the API keeps producer values as sent; only the page translates


def test_date_range_in_the_page_language_travels_in_the_address(page, stack):
    sign_in(page, stack, lang="fr")
    page.goto(f"{stack.web_url}?campaign={seed.CAMPAIGN}&tab=email&mode=global")
    wait_loaded(page, seed.CAMPAIGN, "email", "global")
    assert page.get_attribute("#from", "placeholder") == "jj/mm/aaaa"  # not the browser's locale
    page.fill("#from", "31/02/2026")
    page.click(".controls button:text('Appliquer')")
    assert page.get_attribute("#from", "aria-invalid") == "true" and "from=" not in page.url
    today = datetime.utcnow().date()
    page.fill("#from", today.strftime("%d/%m/%Y"))
    page.fill("#to", today.strftime("%d/%m/%Y"))
    page.click(".controls button:text('Appliquer')")
    page.wait_for_function("d => location.search.includes('from=' + d)", arg=today.isoformat())
    page.wait_for_selector(".period:text('Période')")
    page.reload()
    wait_loaded(page, seed.CAMPAIGN, "email", "global")
    assert page.input_value("#from") == today.strftime("%d/%m/%Y")


def test_email_me_dialog_in_french_on_a_phone(browser, stack, demo_key):
    ctx = browser.new_context(viewport={"width": 390, "height": 800}, locale="fr-FR", timezone_id="Europe/Paris")
    page = ctx.new_page()
    try:
        enter(page, stack, demo_key, lang="fr")
        page.goto(f"{stack.web_url}?campaign={BF}&tab=push&mode=global")
        wait_loaded(page, BF, "push", "global")
        page.click(".email-me")
        assert page.inner_text("#sub-title") == "M’envoyer ce rapport par e-mail"
        assert page.input_value("#sub-tz") == "Europe/Paris" and page.input_value("#sub-lang") == "fr"
        assert page.eval_on_selector("dialog.subscribe", "d => d.scrollWidth <= d.clientWidth + 1")
        page.fill("#sub-recipients", "pas-une-adresse")
        page.click("dialog.subscribe button[type=submit]")
        page.wait_for_selector("dialog.subscribe .error:text('recipients')")  # the API's message, shown
        page.click("dialog.subscribe [data-close]")
        page.wait_for_selector("dialog.subscribe", state="detached")  # removed on its close event, a task later
    finally:
        ctx.close()

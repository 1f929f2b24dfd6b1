"""Sign-in, and every tab showing the widgets of SPEC.md with the numbers the API returns."""
from __future__ import annotations

import pytest

from . import seed
from .conftest import open_tab, sign_in
from .helpers import (check_breakdown, check_execution_table, check_kpis_match, kpis, live, table, text_of,
                      widget_ids)

EXPECTED_WIDGETS = {
    "campaign": ["campaign-stats", "campaign-progress", "campaign-channels"],
    "email": ["email-kpis", "email-progress", "email-more", "email-sending", "email-perf", "email-stats", "email-bounces",
              "email-domains", "email-errors", "email-exclusions", "email-offers"],
    "inapp": ["inapp-kpis", "inapp-more", "inapp-summary", "inapp-types"],
    "push": ["push-summary", "push-progress", "push-more", "push-sending", "push-platforms", "push-stats", "push-exclusions",
             "push-errors"],
    "sms": ["sms-kpis", "sms-progress", "sms-more", "sms-stats", "sms-perf", "sms-errors", "sms-exclusions", "sms-bounces"],
    "web": ["web-kpis", "web-more", "web-summary", "web-elements"],
    "directmail": ["dm-stats", "directmail-progress", "directmail-more", "dm-errors", "dm-exclusions"],
}


def test_sign_in_with_a_read_key_kept_in_session_storage(page, stack):
    page.goto(stack.web_url)
    page.click("form.signin .use-key")  # email and password come first; keys are for development
    page.fill("#read-key", "not-a-key")
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("form.signin .error:text('not accepted')")
    page.fill("#read-key", stack.key)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("[role=tablist]")
    assert stack.key not in page.url
    assert page.evaluate("() => sessionStorage.getItem('clr.readKey')") == stack.key
    assert stack.key not in page.evaluate("() => JSON.stringify(localStorage)")
    # The picker lists both campaigns with their last activity, and its search filters.
    page.click(".picker-summary")
    names = page.eval_on_selector_all(".picker-item", "els => els.map(e => e.dataset.campaign)")
    assert set(names) == {seed.CAMPAIGN, seed.EMAIL_ONLY}
    assert "last activity" in text_of(page, f".picker-item[data-campaign='{seed.CAMPAIGN}']")
    page.fill(".picker-panel input[type=search]", "news")
    assert page.eval_on_selector_all(".picker-item", "els => els.map(e => e.dataset.campaign)") == [seed.EMAIL_ONLY]
    page.click(".signout")
    page.wait_for_selector("form.signin")
    assert page.evaluate("() => sessionStorage.getItem('clr.readKey')") is None


@pytest.mark.parametrize("tab", list(EXPECTED_WIDGETS))
def test_tab_shows_every_widget_with_api_numbers(page, stack, tab):
    sign_in(page, stack)
    open_tab(page, tab)
    doc = live(stack, seed.CAMPAIGN, tab)
    assert doc["has_data"]
    assert widget_ids(page) == EXPECTED_WIDGETS[tab]
    for kpi_widget in page.eval_on_selector_all(".widget:has(.kpi)", "els => els.map(e => e.dataset.widget)"):
        check_kpis_match(page, kpi_widget, doc)
    if tab == "campaign":
        tiles = kpis(page, "campaign-stats")
        assert {m: int(t["value"]) for m, t in tiles.items()} == {"audience": 26, "action_executed": 2, "error": 3}
        rows = table(page, "campaign-channels")
        for ch in doc["channels"]:
            assert int(rows[page.inner_text(f"[role=tab][data-tab='{ch['channel']}']")]["sent"]) == ch["totals"]["sent"]
    elif tab == "email":
        assert doc["totals"]["sent"] == 8 and doc["totals"]["delivered"] == 6 and doc["distinct"]["open"] == 4
        check_execution_table(page, "email-stats", doc, ["targeted", "excluded", "sent", "delivered", "bounce", "error",
                                                           "open", "click", "unsubscribe", "spam_complaint", "retry"])
        check_breakdown(page, "email-bounces", doc, "bounce_type", 0)
        check_breakdown(page, "email-bounces", doc, "bounce_reason", 1)
        check_breakdown(page, "email-errors", doc, "error_reason")
        check_breakdown(page, "email-exclusions", doc, "exclusion_reason")
        check_breakdown(page, "email-domains", doc, "recipient_domain")
        assert kpis(page, "email-offers")["offer_sent"]["value"] == "2"
    elif tab == "push":
        assert doc["totals"]["engagements"] == 3
        check_execution_table(page, "push-stats", doc, ["targeted", "excluded", "sent", "delivered", "bounce", "error",
                                                         "quarantine", "open", "click", "action"])
        tiles = kpis(page, "push-summary")  # opens per distinct opener beside the open rate
        assert tiles["distinct_open"]["rate"] == "open_rate" and "open" not in tiles
        rows = table(page, "push-platforms")
        for r in doc["breakdowns"]["platform"]:
            for m in ("targeted", "delivered", "open", "action", "bounce", "error", "excluded"):
                assert int(rows[r["value"]][m]) == r["counts"].get(m, 0)
        check_breakdown(page, "push-exclusions", doc, "exclusion_reason")
        check_breakdown(page, "push-errors", doc, "error_reason")
    elif tab == "sms":
        check_execution_table(page, "sms-stats", doc, ["targeted", "excluded", "sent", "delivered", "bounce", "error",
                                                       "quarantine", "click", "unsubscribe"])
        check_breakdown(page, "sms-errors", doc, "error_reason")
        check_breakdown(page, "sms-exclusions", doc, "exclusion_reason")
        check_breakdown(page, "sms-bounces", doc, "bounce_reason")
    elif tab == "inapp":
        check_breakdown(page, "inapp-types", doc, "interaction_type")
        assert int(kpis(page, "inapp-kpis")["interaction"]["value"]) == 2
    elif tab == "web":
        tiles = kpis(page, "web-kpis")
        assert (int(tiles["impression"]["value"]), int(tiles["unique_impression"]["value"])) == (4, 2)
        check_breakdown(page, "web-elements", doc, "element")
    elif tab == "directmail":
        check_execution_table(page, "dm-stats", doc, ["targeted", "sent", "error", "excluded", "action_executed"])
        check_breakdown(page, "dm-errors", doc, "error_reason")
        check_breakdown(page, "dm-exclusions", doc, "exclusion_reason")
    # Every chart has its table alternative in the page.
    for w in page.eval_on_selector_all(".widget:has(.chart)", "els => els.map(e => e.dataset.widget)"):
        assert page.locator(f".widget[data-widget='{w}'] table.data-table").count() >= 1, w


def test_a_tab_without_events_says_so(page, stack):
    sign_in(page, stack, campaign=seed.EMAIL_ONLY)
    open_tab(page, "push")
    assert page.is_visible(".empty-tab")
    assert "No events on the Push tab" in text_of(page, ".empty-tab")
    assert page.locator(".grid-stack .widget").count() == 0 or not page.is_visible(".board-slot")
    open_tab(page, "email")
    assert not page.is_visible(".empty-tab")
    assert int(kpis(page, "email-kpis")["sent"]["value"]) == live(stack, seed.EMAIL_ONLY, "email")["totals"]["sent"] >= 1


def test_tabs_work_from_the_keyboard(page, stack):
    sign_in(page, stack)
    open_tab(page, "email")
    page.focus("[role=tab][aria-selected=true]")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("[role=tab][data-tab='inapp'][aria-selected=true]")
    assert page.evaluate("() => document.activeElement.dataset.tab") == "inapp"
    page.keyboard.press("End")
    page.wait_for_selector("[role=tab][data-tab='directmail'][aria-selected=true]")
    assert page.get_attribute("[role=tab][data-tab='email']", "tabindex") == "-1"


def test_global_report_blocks_and_links(page, stack):
    sign_in(page, stack)
    open_tab(page, "email")
    page.click("[data-mode=global]")
    page.wait_for_selector(f"main[data-loaded='{seed.CAMPAIGN}:email:global']")
    doc = seed.get(stack.api_url, stack.key, f"/v1/campaigns/{seed.CAMPAIGN}/report?channel=email&tz=UTC")
    for w in ("g-delivery", "g-audience", "g-execution", "g-reaction", "g-clicks", "g-tracking"):
        check_kpis_match(page, w, doc)
    links = page.locator(".widget[data-widget='g-links'] table")
    assert links.locator(f"a[href='{seed.GOOD_URL}']").count() == 1
    assert links.locator("a[href^='javascript']").count() == 0
    assert seed.JS_URL in links.inner_text()
    errors = table(page, "g-errors-domain")
    assert {k: int(v["count"]) for k, v in errors.items()} == {r["value"]: r["count"] for r in doc["errors_by_domain"]}
    rows = table(page, "g-domains")
    for r in doc["by_domain"]:
        assert int(rows[r["domain"]]["sent"]) == r["sent"]
    # Tabs without a global report say so.
    page.click("[role=tab][data-tab='web']")
    page.wait_for_selector(".empty-tab:text('global report covers')")

"""Platform traffic reads right on the page (issue 17): sends the platform never reported are shown as inferred
("Sent 6", "2 reported, 4 inferred"), machine opens are beside human opens, and the "Include machine opens"
switch shows the API's `_all` open rate and reactivity, remembered in preferences and carried in the link.
Send progress says why it has no plan.

Seeded in a workspace of its own (`trust`): a source that reports 2 sends of 5 deliveries and 1 bounce, one human
opener who clicks and two machine openers; no targeted event.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from . import seed
from .conftest import enter, wait_loaded
from .helpers import check_kpis_match, kpis, number

WS = "trust"
CAMPAIGN = "platform-mix"


@pytest.fixture(scope="module")
def key(stack) -> str:
    _, k = stack.services.keys.create(WS, ["ingest", "read"], "trust tests")
    now = datetime.now(timezone.utc)
    at = lambda m: (now - timedelta(minutes=m)).isoformat()  # noqa: E731
    evs = []

    def add(kind: str, profile: str, m: int, **extra) -> None:
        evs.append({"event_id": f"t-{kind}-{profile}-{len(evs)}", "timestamp": at(m), "campaign_id": CAMPAIGN,
                    "channel": "email", "type": kind, "profile_id": profile, **extra})
    for p in ("p1", "p2"):
        add("sent", p, 20)
    for p in ("p1", "p2", "p3", "p4", "p5"):
        add("delivered", p, 15)
    add("bounce", "p6", 15, bounce_type="hard", reason="user unknown")
    add("open", "p1", 10)
    add("click", "p1", 9, url="https://shop.example.com/a")
    add("open", "p2", 8, machine=True)
    add("open", "p3", 8, machine=True)
    seed.post(stack.api_url, k, evs)
    deadline = time.time() + 60
    while seed.get(stack.api_url, k, f"/v1/campaigns/{CAMPAIGN}/live?channel=email")["totals"].get("delivered") != 5:
        assert time.time() < deadline, "the seeded events were not folded in time"
        stack.services.pump()
        time.sleep(0.2)
    return k


def doc(stack, key) -> dict:
    return seed.get(stack.api_url, key, f"/v1/campaigns/{CAMPAIGN}/live?channel=email")


def test_inferred_sends_and_why_progress_has_no_plan(page, stack, key):
    d = doc(stack, key)
    assert d["inferred"]["sent"] == 4 and d["totals"]["sent"] == 2  # 5 delivered + 1 bounce proves 6 sends
    enter(page, stack, key)
    page.goto(f"{stack.web_url}?ws={WS}&campaign={CAMPAIGN}&tab=email&mode=live")
    wait_loaded(page, CAMPAIGN, "email")
    tiles = check_kpis_match(page, "email-kpis", d)  # sent = reported + inferred; every rate the API's
    assert tiles["sent"]["value"] == "6"
    note = page.locator(".widget[data-widget='email-kpis'] .kpi[data-metric=sent] .kpi-note")
    assert note.inner_text() == "2 reported, 4 inferred"
    assert note.get_attribute("data-reported") == str(d["totals"]["sent"])
    assert note.get_attribute("data-inferred") == str(d["inferred"]["sent"])
    assert "no rate passes 100" in note.get_attribute("title")  # the catalogue's definition, on hover
    # every delivery was reported: no note under delivered; the rate stays within 100 %
    assert page.locator(".widget[data-widget='email-kpis'] .kpi[data-metric=delivered] .kpi-note").inner_text() == ""
    assert 0 < number(tiles["delivered"]["rate_value"]) <= 1
    # send progress: no targeted events, and it says why in the page's words
    assert d["progress"]["status"] == "unplanned"
    why = page.locator(".widget[data-widget='email-progress'] .widget-note").inner_text()
    assert why.startswith("No plan: no targeted events were received") and "platform webhooks" in why


def test_machine_opens_switch_shows_the_all_rates_and_travels(page, stack, key):
    d = doc(stack, key)
    assert d["distinct"]["open"] == 1 and d["distinct_combined"]["open_all"] == 3
    assert d["rates"]["open_rate"] != d["rates"]["open_rate_all"]
    enter(page, stack, key)
    page.goto(f"{stack.web_url}?ws={WS}&campaign={CAMPAIGN}&tab=email&mode=live")
    wait_loaded(page, CAMPAIGN, "email")
    tiles = kpis(page, "email-kpis")
    # human opens with the open rate; beside them opens with machine opens; reactivity on human opens
    assert page.locator(".kpi[data-metric=distinct_open] .kpi-label").inner_text() == "Distinct human opens"
    assert tiles["distinct_open"]["value"] == "1" and tiles["distinct_open"]["rate"] == "open_rate"
    assert number(tiles["distinct_open"]["rate_value"]) == d["rates"]["open_rate"]
    assert tiles["open_all"]["value"] == "3" and tiles["open_all"]["rate"] is None
    assert number(tiles["reactivity"]["value"]) == d["rates"]["reactivity"]
    switch = page.locator("#machine-opens")
    assert not switch.is_checked() and "machine=0" in page.url
    page.locator("label.machine-switch").click()
    page.wait_for_selector(".widget[data-widget='email-kpis'] .kpi-rate[data-rate=open_rate_all]")
    tiles = kpis(page, "email-kpis")
    assert number(tiles["open_all"]["rate_value"]) == d["rates"]["open_rate_all"]
    assert tiles["distinct_open"]["rate"] is None and "reactivity" not in tiles
    assert number(tiles["reactivity_all"]["value"]) == d["rates"]["reactivity_all"]
    assert "machine=1" in page.url and switch.get_attribute("aria-checked") == "true"
    page.wait_for_function("() => [...document.querySelectorAll('[aria-live=polite]')].some(e => "
                           "e.textContent.includes('now include machine opens'))")  # said to screen readers
    # the choice is remembered (preferences) and a link carries it either way
    page.goto(f"{stack.web_url}?ws={WS}&campaign={CAMPAIGN}&tab=email&mode=live")
    wait_loaded(page, CAMPAIGN, "email")
    assert page.locator("#machine-opens").is_checked()
    assert page.locator(".widget[data-widget='email-kpis'] .kpi-rate[data-rate=open_rate_all]").count() == 1
    page.goto(f"{stack.web_url}?ws={WS}&campaign={CAMPAIGN}&tab=email&mode=live&machine=0")
    wait_loaded(page, CAMPAIGN, "email")
    assert not page.locator("#machine-opens").is_checked()
    assert page.locator(".widget[data-widget='email-kpis'] .kpi-rate[data-rate=open_rate]").count() == 1
    # "More indicators" does not repeat the rates the switch shows
    assert page.locator(".widget[data-widget='email-more'] [data-metric=open_rate_all]").count() == 0

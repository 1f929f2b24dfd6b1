"""Default layouts show every widget's content: no row cut, no squeezed chart, no clipped label.

Checked for every tab and both report kinds, at 1440×900 and 390 px wide, on the demo's traffic
(the generator `make run` streams) in a workspace of its own, so the seeded tests are unaffected.
"""
from __future__ import annotations

import time

import pytest

from .conftest import enter, wait_loaded

#: a demo campaign per tab (black-friday-2026 has email, push and sms)
CAMPAIGN_FOR = {"campaign": "black-friday-2026", "email": "black-friday-2026", "push": "black-friday-2026",
                "sms": "black-friday-2026", "inapp": "app-onboarding", "web": "homepage-hero",
                "directmail": "catalogue-winter"}
VIEWS = [(tab, "live") for tab in CAMPAIGN_FOR] + [(tab, "global") for tab in ("email", "sms", "push")]

#: What the board area shows once a view is drawn: its widgets, or the page's note (e.g. "no data"),
#: so that a view without widgets fails with the page's own words rather than a bare timeout.
SHOWN = """() => {
  if (document.querySelector('.grid-stack .widget[data-widget]')?.getBoundingClientRect().height) return 'widgets';
  const note = document.querySelector('.empty-tab:not([hidden])');
  return note ? `note: ${note.textContent}` : false;
}"""

OVERFLOWS = """(phone) => {
  const problems = [];
  for (const w of document.querySelectorAll('.grid-stack .widget[data-widget]')) {
    const id = w.dataset.widget, body = w.querySelector('.widget-body'), box = w.closest('.grid-stack-item');
    if (!phone && body.scrollHeight > body.clientHeight + 2) problems.push(`${id}: content ${body.scrollHeight}px in ${body.clientHeight}px`);
    if (body.scrollWidth > body.clientWidth + 2) problems.push(`${id}: content ${body.scrollWidth}px wide in ${body.clientWidth}px`);
    if (box.getBoundingClientRect().right > window.innerWidth + 1) problems.push(`${id}: beyond the screen`);
    for (const tw of body.querySelectorAll('.table-wrap:not(.sr-only)')) {
      if (tw.scrollHeight > tw.clientHeight + 2) problems.push(`${id}: table rows cut (${tw.scrollHeight}px in ${tw.clientHeight}px)`);
      if (!phone && tw.scrollWidth > tw.clientWidth + 2) problems.push(`${id}: table columns cut`);
    }
    for (const c of body.querySelectorAll('.chart:not(.hidden)')) {
      if (c.clientHeight < 150) problems.push(`${id}: chart squeezed to ${c.clientHeight}px`);
    }
    for (const el of w.querySelectorAll('.kpi-label, .kpi-value, .kpi-rate, .widget-title')) {
      if (el.scrollWidth > el.clientWidth + 1) problems.push(`${id}: "${el.textContent}" clipped`);
    }
  }
  return problems;
}"""


@pytest.mark.parametrize("width", [1440, 390])
def test_default_layouts_show_every_widget_whole(browser, stack, demo_key, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB", timezone_id="Europe/Paris")
    page = ctx.new_page()
    try:
        enter(page, stack, demo_key, "fr")  # French labels are the longer ones
        problems = []
        for tab, mode in VIEWS:
            campaign = CAMPAIGN_FOR[tab]
            page.goto(f"{stack.web_url}?campaign={campaign}&tab={tab}&mode={mode}")
            wait_loaded(page, campaign, tab, mode)
            shown = page.wait_for_function(SHOWN, timeout=30000).json_value()
            if shown != "widgets":
                problems.append(f"{tab}/{mode}: no widget shown ({shown})")
                continue
            time.sleep(0.4)  # charts lay out on the next frames
            problems += [f"{tab}/{mode}: {p}" for p in page.evaluate(OVERFLOWS, width < 760)]
        assert not problems, "\n".join(problems)
    finally:
        ctx.close()


def test_phone_offers_no_resize_and_tabs_scroll_with_a_cue(browser, stack, demo_key):
    ctx = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-GB", timezone_id="UTC")
    page = ctx.new_page()
    try:
        enter(page, stack, demo_key)
        page.goto(f"{stack.web_url}?campaign=black-friday-2026&tab=email&mode=live")
        wait_loaded(page, "black-friday-2026", "email")
        page.click(".widget[data-widget='email-kpis'] .menu-btn")
        items = page.eval_on_selector_all(".menu:not([hidden]) [role=menuitem]", "els => els.map(e => e.textContent)")
        assert "Download CSV" in items and not {"Wider", "Narrower", "Taller", "Shorter"} & set(items)
        page.keyboard.press("Escape")
        assert page.get_attribute(".tabs-scroll", "class").split().count("more") == 1  # more tabs to the right
        page.eval_on_selector("[role=tablist]", "t => t.scrollTo({left: t.scrollWidth})")
        page.wait_for_function("() => !document.querySelector('.tabs-scroll').classList.contains('more')")
        # compact controls: the first widget starts on the first screen
        top = page.eval_on_selector(".grid-stack .widget", "w => w.getBoundingClientRect().top")
        assert top < 420, top
    finally:
        ctx.close()

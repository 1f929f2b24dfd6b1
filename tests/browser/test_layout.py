"""Default layouts show every widget's content: no row cut, no squeezed chart, no clipped label.

Checked for every tab and both report kinds, at 1440×900 and 390 px wide, on the demo's traffic
(the generator `make run` streams) in a workspace of its own, so the seeded tests are unaffected;
also the execution tables of a recurring send (whole rows, the Total in view), the charts' labels
(none overlapping another), the admin page (no clipped control) and the emails on a phone.
"""
from __future__ import annotations

import time

import pytest

from .conftest import enter, wait_loaded

#: a demo campaign per tab (black-friday-2026 has email, push and sms)
CAMPAIGN_FOR = {"campaign": "black-friday-2026", "email": "black-friday-2026", "push": "black-friday-2026",
                "sms": "black-friday-2026", "inapp": "app-onboarding", "web": "homepage-hero",
                "directmail": "catalogue-winter"}
VIEWS = ([(CAMPAIGN_FOR[tab], tab, "live") for tab in CAMPAIGN_FOR]
         + [(CAMPAIGN_FOR[tab], tab, "global") for tab in ("email", "sms", "push")]
         + [("flash-sale", "email", "live"), ("flash-sale", "email", "global")])  # a run every 20 minutes

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
      const foot = tw.querySelector('tfoot'), rows = tw.querySelectorAll('tbody tr');
      // A few rows all show; a long table (runs, reasons) scrolls with whole rows only, its Total in view.
      if (rows.length <= 5 && tw.scrollHeight > tw.clientHeight + 2) problems.push(`${id}: table rows cut (${tw.scrollHeight}px in ${tw.clientHeight}px)`);
      const box = tw.getBoundingClientRect(), top = tw.querySelector('thead').getBoundingClientRect().bottom;
      const f = foot ? foot.querySelector('tr > *').getBoundingClientRect() : null;  // its sticky cells
      if (f && (f.bottom > box.bottom + 1 || f.top < box.top)) problems.push(`${id}: Total row out of view`);
      const bottom = f ? f.top : box.bottom;
      for (const r of rows) {
        const b = r.getBoundingClientRect();
        if (b.bottom > top + 1 && b.top < bottom - 1 && (b.top < top - 1 || b.bottom > bottom + 1)) problems.push(`${id}: row ${r.dataset.row} cut`);
      }
      if (!phone && tw.scrollWidth > tw.clientWidth + 2) problems.push(`${id}: table columns cut`);
    }
    for (const c of body.querySelectorAll('.chart:not(.hidden)')) {
      if (c.clientHeight < 150) problems.push(`${id}: chart squeezed to ${c.clientHeight}px`);
      // labels (axes, legend, categories) never overlap one another
      const texts = [...c.querySelectorAll('svg text')].filter(t => t.textContent.trim()).map(t => [t.textContent, t.getBoundingClientRect()])
        .filter(([, r]) => r.width && r.height);
      for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
        const [a, ra] = texts[i], [b, rb] = texts[j];
        const dx = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left), dy = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (dx > 2 && dy > 2) problems.push(`${id}: chart labels "${a}" and "${b}" overlap`);
      }
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
        for campaign, tab, mode in VIEWS:
            page.goto(f"{stack.web_url}?campaign={campaign}&tab={tab}&mode={mode}")
            wait_loaded(page, campaign, tab, mode)
            shown = page.wait_for_function(SHOWN, timeout=30000).json_value()
            if shown != "widgets":
                problems.append(f"{tab}/{mode}: no widget shown ({shown})")
                continue
            time.sleep(0.8)  # charts lay out (and animate) on the next frames
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


CLIPPED_CONTROLS = """(phone) => {
  const out = [], width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width + 1) out.push(`page ${document.documentElement.scrollWidth}px wide`);
  for (const el of document.querySelectorAll('.admin-page button, .admin-page select, .admin-page input, .admin-nav button')) {
    if (!el.offsetParent) continue;
    const r = el.getBoundingClientRect(), name = `${el.tagName} "${el.textContent || el.value || el.name}"`;
    if (el.tagName === 'BUTTON' && el.scrollWidth > el.clientWidth + 1) out.push(`${name}: text cut`);
    const wrap = el.closest('.admin-table-wrap');
    const box = wrap ? wrap.getBoundingClientRect() : {left: 0, right: width};
    const action = !!el.closest('tr > :last-child');
    // outside tables every control is whole; in a table that scrolls sideways (a phone) the row's actions are
    if ((!wrap || action || !phone) && (r.left < box.left - 1 || r.right > box.right + 1)) out.push(`${name}: cut at ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  if (!phone) for (const w of document.querySelectorAll('.admin-table-wrap'))
    if (w.scrollWidth > w.clientWidth + 1) out.push(`${w.closest('section').className}: table scrolls sideways`);
  return out;
}"""


@pytest.mark.parametrize("width", [1440, 390])
def test_admin_controls_are_never_clipped(browser, stack, width):
    """"Remove" was cut to "Remo" at 1440 px by a long webhook URL: controls stay whole, in French too."""
    from .test_admin import api
    _, key = stack.services.keys.create("layout-admin", ["read", "manage", "admin"], "layout admin")
    api(stack, key, "POST", "/v1/sources", {"platform": "mailgun", "channel": "email", "credentials": {"signing_key": "k"},
                                            "default_campaign": "une-campagne-au-nom-vraiment-long", "label": "Relais Mailgun de la boutique"})
    api(stack, key, "POST", "/v1/members", {"email": "dominique.longuenom@exemple.fr", "role": "editor",
                                            "display_name": "Dominique Longuenom-Delacroix"})
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR", timezone_id="Europe/Paris")
    try:
        page = ctx.new_page()
        enter(page, stack, key, "fr", "Europe/Paris")
        page.goto(f"{stack.web_url}?view=admin")
        for name in ("members", "keys", "audit"):
            page.wait_for_selector(f".admin-{name} .admin-body:not([aria-busy]) .admin-table-wrap")
        page.wait_for_selector(".admin-sources .admin-body:not([aria-busy]) .source-list")  # sources are cards
        page.wait_for_selector(".admin-sources .admin-remove")
        problems = page.evaluate(CLIPPED_CONTROLS, width < 760)
        assert problems == [], problems
    finally:
        ctx.close()


def test_emails_fit_a_phone(browser, stack, demo_key, monkeypatch):
    """The snapshot email (its chart included) and the alert email render within a 390 px screen."""
    import app as app_module
    from chalicelib.alerts.notify import Change, render_email
    from chalicelib.alerts.rules import Rule
    from chalicelib.snapshots import mail, render
    from chalicelib.snapshots.subscriptions import Subscription
    from .email_png import html_with_inline_images
    monkeypatch.setenv("LIVEREPORT_ENV", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.moto_url)  # the SES client of the app's senders: this stack's
    now = time.time()
    sub = Subscription(campaign_id="black-friday-2026", report="live", channel="all", recipients=["ann@example.com"],
                       frequency={"type": "hourly", "tz": "Europe/Paris"}, language="fr", subscription_id="sub_layout",
                       workspace="browser-demo", created_at=int(now))
    runner = app_module.snapshot_runner_for()
    sections, images, attachments = runner.build(sub, now, "layout")
    rendered = render.render(sub, sections, {}, now, "ann@example.com", "https://x.test/unsubscribe")
    snapshot = html_with_inline_images(mail.build_message("r@example.com", "ann@example.com", rendered, images, attachments))
    rule = Rule.model_validate({"rule_id": "al_layout", "workspace": "browser-demo", "created_at": int(now),
                                "name": "Pic de rebonds sur la campagne de printemps, liste principale des abonnés", "campaign_id": "*",
                                "channel": "email", "metric": "bounce_rate", "op": ">", "threshold": 0.15,
                                "window_minutes": 5, "min_volume": 50, "language": "fr", "notify": {"emails": ["a@example.com"]}})
    alert = render_email(Change(rule, "une-campagne-au-nom-particulierement-long-2026", "firing", 0.2, 300, int(now)),
                         "https://dash.example/app/").html
    ctx = browser.new_context(viewport={"width": 390, "height": 800})
    try:
        page = ctx.new_page()
        for name, html in (("snapshot", snapshot), ("alert", alert)):
            page.set_content(html)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 390, (name, wide)
        page.set_content(snapshot)
        charts = page.eval_on_selector_all("img[src^='data:image/png']", "is => is.map(i => [i.clientWidth, i.naturalWidth])")
        assert charts and all(shown <= 390 for shown, _ in charts), charts
    finally:
        ctx.close()

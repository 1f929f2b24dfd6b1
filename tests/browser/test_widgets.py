"""Widgets that agree and show what matters (issue 17): every catalogue figure on its tab, trends coloured by
whether up is good news, runs newest first with the Total in view, send progress that reads on a phone, date
ranges refused in the page's words with a loading state, and the email-report dialog's test send.

Seeded in a workspace of its own (`widgets`), so the other modules' numbers are unaffected.
"""
from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from . import seed
from .conftest import enter, wait_loaded

WS = "widgets"
EVERY = "every-metric"
TREND = "trend"
RUNS = "many-runs"
RUN_COUNT = 26  # more rows than a phone's 420 px table shows
BIG = "busy-hour"
NEEDS = {"bounce": {"bounce_type": "soft", "reason": "mailbox full"}, "error": {"error_type": "refused"},
         "interaction": {"interaction_type": "click", "element": "cta"}, "click": {"url": "https://shop.example.com/a"},
         "action": {"action": "open_app"}}


def ev(campaign: str, channel: str, kind: str, at: datetime, n: int, **extra) -> dict:
    return {"event_id": f"w-{campaign}-{channel}-{kind}-{n}-{int(at.timestamp())}", "timestamp": at.isoformat(),
            "campaign_id": campaign, "channel": channel, "type": kind, "profile_id": f"w{n}", **extra}


@pytest.fixture(scope="module")
def key(stack) -> str:
    from chalicelib import catalogue
    _, k = stack.services.keys.create(WS, ["ingest", "read", "manage"], "widget tests")
    now = datetime.now(timezone.utc)
    events = []
    # every event type of every channel, and a machine open
    for channel in catalogue.CHANNELS:
        for i, (name, spec) in enumerate(catalogue.EVENT_TYPES.items()):
            if channel in spec.channels:
                events.append(ev(EVERY, channel, name, now - timedelta(minutes=5), i, **NEEDS.get(name, {})))
    events.append(ev(EVERY, "email", "open", now - timedelta(minutes=4), 99, machine=True))
    # the previous 24 hours against the last 24: more sent (good), more bounces and a higher bounce rate (bad)
    for when, sent, bounces in ((now - timedelta(hours=30), 10, 1), (now - timedelta(minutes=30), 20, 5)):
        for i in range(sent):
            events.append(ev(TREND, "email", "sent", when, i))
            events.append(ev(TREND, "email", "bounce" if i < bounces else "delivered", when, i, **NEEDS["bounce"]))
    # RUN_COUNT runs, two minutes apart: all finished but the newest, still sending
    for r in range(1, RUN_COUNT + 1):
        at = now - timedelta(minutes=2 * (RUN_COUNT + 1 - r))
        newest = r == RUN_COUNT
        for i in range(40 if newest else 2):
            events.append(ev(RUNS, "email", "targeted", at, i, execution_id=f"run-{r:02d}"))
            if not newest or i < 10:
                events.append(ev(RUNS, "email", "sent", now - timedelta(seconds=100 + i) if newest else at, i,
                                 execution_id=f"run-{r:02d}"))
    # a busy hour: axis numbers in the thousands
    events += [ev(BIG, "email", "sent", now - timedelta(minutes=20), i) for i in range(1500)]
    for i in range(0, len(events), 500):
        seed.post(stack.api_url, k, events[i:i + 500])
    # the previous day's hour is read from its hour item: roll it now rather than at the next minute's rollup
    deadline = time.time() + 90
    while True:
        stack.services.pump()
        stack.services.roll(time.time())
        doc = seed.get(stack.api_url, k, f"/v1/campaigns/{TREND}/live?channel=email&compare=previous")
        if (doc.get("previous") or {}).get("totals", {}).get("sent") == 10 or time.time() > deadline:
            break
        time.sleep(0.5)
    return k


def catalogue_doc(stack) -> dict:
    with urllib.request.urlopen(f"{stack.api_url}/v1/catalogue", timeout=30) as r:
        return json.loads(r.read())


SHOWN = """() => {
  const out = new Set();
  for (const k of document.querySelectorAll('.grid-stack .kpi[data-metric]')) out.add(k.dataset.metric);
  for (const r of document.querySelectorAll('.grid-stack .kpi-rate[data-rate]')) out.add(r.dataset.rate);
  for (const th of document.querySelectorAll('.grid-stack table.data-table thead th[data-col]')) out.add(th.dataset.col);
  for (const c of document.querySelectorAll('.grid-stack .chart-time[data-series]')) c.dataset.series.split(',').forEach(s => out.add(s));
  return [...out];
}"""


def test_every_catalogue_metric_and_rate_is_shown_on_its_tab(page, stack, key):
    """Walks /v1/catalogue: each metric and rate of a channel is in some widget of that tab (push clicks were in none)."""
    cat = catalogue_doc(stack)
    enter(page, stack, key)
    missing = {}
    for tab in cat["channels"]:
        page.goto(f"{stack.web_url}?campaign={EVERY}&tab={tab}&mode=live")
        wait_loaded(page, EVERY, tab)
        page.wait_for_selector(".grid-stack .widget[data-widget]")
        shown = set(page.evaluate(SHOWN))
        if page.locator("#machine-opens").count():  # the `_all` rates show with "Include machine opens" on
            page.locator("label.machine-switch").click()
            page.wait_for_selector(".grid-stack .kpi-rate[data-rate=open_rate_all]")
            shown |= set(page.evaluate(SHOWN))
            page.locator("label.machine-switch").click()  # back to human opens (remembered in preferences)
            page.wait_for_selector(".grid-stack .kpi-rate[data-rate=open_rate]")
        lost = [m for m in cat["metrics"][tab] + cat["rates"][tab] if m not in shown]
        if lost:
            missing[tab] = lost
    assert not missing, missing
    # push: distinct opens beside the open rate (the tile said "Opens" for a rate of distinct openers), and clicks
    page.goto(f"{stack.web_url}?campaign={EVERY}&tab=push&mode=live")
    wait_loaded(page, EVERY, "push")
    tile = page.locator(".widget[data-widget='push-summary'] .kpi:has(.kpi-rate[data-rate=open_rate]) .kpi-label")
    assert tile.inner_text() == "Distinct human opens"  # machine opens are in the tile beside it
    assert page.locator(".widget[data-widget='push-summary'] .kpi-rate[data-rate=click_rate]").count() == 1


def test_trends_are_coloured_by_good_or_bad_news_with_words(page, stack, key):
    enter(page, stack, key)
    page.goto(f"{stack.web_url}?campaign={TREND}&tab=email&mode=live")
    wait_loaded(page, TREND, "email")
    page.wait_for_selector(".widget[data-widget='email-kpis'] .kpi[data-metric=bounce] .kpi-delta:not(:empty)")
    tone = page.eval_on_selector_all(
        ".widget[data-widget='email-kpis'] .kpi",
        """ts => Object.fromEntries(ts.map(t => [t.dataset.metric, {
             delta: t.querySelector('.kpi-delta').textContent, tone: t.querySelector('.kpi-delta').dataset.tone,
             label: t.querySelector('.kpi-delta').getAttribute('aria-label') || '',
             rate: t.querySelector('.kpi-rate-delta').textContent, rateTone: t.querySelector('.kpi-rate-delta').dataset.tone,
             color: getComputedStyle(t.querySelector('.kpi-delta')).color}]))""")
    assert tone["sent"]["delta"] == "▲ +10" and tone["sent"]["tone"] == "better" and "better" in tone["sent"]["label"]
    assert tone["bounce"]["delta"] == "▲ +4" and tone["bounce"]["tone"] == "worse" and "worse" in tone["bounce"]["label"]
    assert tone["bounce"]["color"] != tone["sent"]["color"]  # bad news is not green
    assert tone["bounce"]["color"] == "rgb(185, 28, 28)" and tone["sent"]["color"] == "rgb(4, 120, 87)"
    # rates get trends too: the bounce rate went from 10 % to 25 %, the delivered rate from 90 % to 75 %
    assert tone["bounce"]["rate"] == "▲ +15 pt" and tone["bounce"]["rateTone"] == "worse"
    assert tone["delivered"]["rate"] == "▼ −15 pt" and tone["delivered"]["rateTone"] == "worse"


TABLE_VIEW = """w => {
  const wrap = document.querySelector(`.widget[data-widget='${w}'] .table-wrap:not(.sr-only)`);
  const box = wrap.getBoundingClientRect(), head = wrap.querySelector('thead').getBoundingClientRect();
  const foot = wrap.querySelector('tfoot tr > *')?.getBoundingClientRect();  // sticky cells: where it shows
  const widget = wrap.closest('.grid-stack-item-content').getBoundingClientRect();
  const rows = [...wrap.querySelectorAll('tbody tr')].map(r => r.getBoundingClientRect());
  const top = head.bottom, bottom = foot ? foot.top : box.bottom;
  return {scrolls: wrap.scrollHeight > wrap.clientHeight + 1,
          half: rows.filter(r => r.bottom > top + 1 && r.top < bottom - 1 && (r.top < top - 1 || r.bottom > bottom + 1)).length,
          footInView: !!foot && foot.top >= box.top && foot.bottom <= box.bottom + 1 && foot.bottom <= widget.bottom + 1,
          order: [...wrap.querySelectorAll('tbody tr')].map(r => r.dataset.row),
          foot: foot ? wrap.querySelector('tfoot tr').dataset.row : null};
}"""


@pytest.mark.parametrize("width", [1440, 390])
def test_runs_newest_first_total_in_view_no_half_row(browser, stack, key, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB", timezone_id="UTC")
    page = ctx.new_page()
    try:
        enter(page, stack, key, "en", "UTC")
        page.goto(f"{stack.web_url}?campaign={RUNS}&tab=email&mode=live")
        wait_loaded(page, RUNS, "email")
        page.wait_for_selector(".widget[data-widget='email-stats'] tfoot tr[data-row=Total]")
        page.wait_for_timeout(300)  # the fit runs after layout
        view = page.evaluate(TABLE_VIEW, "email-stats")
        assert view["order"] == [f"run-{r:02d}" for r in range(RUN_COUNT, 0, -1)], view["order"]
        assert view["scrolls"] and view["foot"] == "Total" and view["footInView"] and view["half"] == 0, view
        page.eval_on_selector(".widget[data-widget='email-stats'] .table-wrap", "w => { w.scrollTop = 37; }")
        assert page.evaluate(TABLE_VIEW, "email-stats")["footInView"]  # sticky while the rows scroll
        # the progress table: newest first too; a finished run shows no per-minute figure, the running one its ETA
        rows = page.eval_on_selector_all(
            ".widget[data-widget='email-progress'] tbody tr",
            "rs => rs.map(r => Object.fromEntries([...r.children].map(c => [c.dataset.col, c.dataset.value])))")
        assert [r["name"] for r in rows[:3]] == ["All executions", f"run-{RUN_COUNT}", f"run-{RUN_COUNT - 1}"]
        assert rows[1]["status"] == "Sending" and rows[1]["eta"] and float(rows[1]["rate"]) > 0
        assert rows[2]["status"] == "Finished" and rows[2]["rate"] == "" and rows[2]["eta"] == ""
        # nothing runs off the widget's right edge (Expected end was cut on a phone)
        beyond = page.eval_on_selector(".widget[data-widget='email-progress']", """w => {
          const right = w.getBoundingClientRect().right;
          return [...w.querySelectorAll('th, td')].filter(c => c.offsetParent && c.getBoundingClientRect().right > right + 1)
            .map(c => c.dataset.col || c.textContent);
        }""")
        assert beyond == [], beyond
        assert page.locator(".widget[data-widget='email-progress'] thead th[data-col=eta]").is_visible()
    finally:
        ctx.close()


def test_one_wider_leaves_no_hole(page, stack, key):
    """Wider takes the column from the neighbour in the row (it pushed it to a row of its own: holes on two rows)."""
    enter(page, stack, key)
    page.goto(f"{stack.web_url}?campaign={EVERY}&tab=email&mode=live")
    wait_loaded(page, EVERY, "email")
    nodes = "() => [...document.querySelectorAll('.grid-stack-item')].map(i => { const n = i.gridstackNode; return [n.id, n.x, n.y, n.w, n.h]; })"
    before = {n[0]: n[1:] for n in page.evaluate(nodes)}
    page.click(".widget[data-widget='email-sending'] .menu-btn")
    page.click(".widget[data-widget='email-sending'] [role=menuitem]:text-is('Wider')")
    after = {n[0]: n[1:] for n in page.evaluate(nodes)}
    x, y, w, h = after["email-sending"]
    assert w == before["email-sending"][2] + 1
    assert after["email-perf"] == [x + w, y, before["email-perf"][2] - 1, before["email-perf"][3]]
    bottom = max(n[1] + n[3] for n in after.values())
    filled = {(c, r) for nx, ny, nw, nh in after.values() for c in range(nx, nx + nw) for r in range(ny, ny + nh)}
    holes = [(c, r) for r in range(bottom) for c in range(12) if (c, r) not in filled
             and any((c2, r) in filled for c2 in range(c + 1, 12))]  # an empty cell with a widget to its right
    assert holes == [], holes
    page.click(".reset-layout")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_date_ranges_are_refused_in_the_page_words(page, stack, key, lang):
    enter(page, stack, key, lang, "UTC")
    page.goto(f"{stack.web_url}?campaign={TREND}&tab=email&mode=global")
    wait_loaded(page, TREND, "email", "global")
    period = page.inner_text(".period")
    apply = ".controls .apply-range"
    words = {"en": {"order": "“From” is after “To”", "feb": "“31/02/2026” is not a date: February 2026 has 28 days.",
                    "month": "“12/13/2026” is not a date: there is no month 13.", "format": "write it as dd/mm/yyyy"},
             "fr": {"order": "« Du » est après « Au »", "feb": "« 31/02/2026 » n’est pas une date : février 2026 compte 28 jours.",
                    "month": "« 12/13/2026 » n’est pas une date : il n’y a pas de mois 13.", "format": "écrivez-la jj/mm/aaaa"}}[lang]
    for start, end, said in (("10/12/2026", "01/12/2026", "order"), ("31/02/2026", "", "feb"),
                             ("12/13/2026", "", "month"), ("next week", "", "format")):
        page.fill("#from", start)
        page.fill("#to", end)
        page.click(apply)
        assert words[said] in page.inner_text("#range-error"), (said, page.inner_text("#range-error"))
        assert page.get_attribute("#from", "aria-invalid") == "true"
        assert "from=" not in page.url and page.inner_text(".period") == period  # nothing applied, nothing claimed
    # a range the API refuses all the same: its reason in the page's words, the shown range back in the fields
    refused = []

    def refuse_once(route):
        if refused:
            return route.continue_()
        refused.append(route.request.url)
        return route.fulfill(status=400, content_type="application/json",
                             body=json.dumps({"error": {"code": "invalid_request", "message": "to: must be after from"}}))
    page.route("**/v1/campaigns/*/report?*", refuse_once)
    page.fill("#from", "01/12/2026")
    page.fill("#to", "02/12/2026")
    page.click(apply)
    page.wait_for_function("w => document.querySelector('#range-error').textContent.includes(w)", arg=words["order"])
    assert "to: must be after from" not in page.inner_text("body")
    page.wait_for_function("() => !location.search.includes('from=')")
    assert page.input_value("#from") == "" and page.inner_text(".period") == period
    page.unroute("**/v1/campaigns/*/report?*")


def test_a_slow_range_or_filter_says_loading_over_the_dimmed_numbers(page, stack, key):
    enter(page, stack, key, "en", "UTC")
    page.goto(f"{stack.web_url}?campaign={RUNS}&tab=email&mode=global")
    wait_loaded(page, RUNS, "email", "global")
    held = []
    page.route("**/v1/campaigns/*/report?*", lambda route: held.append(route))
    today = datetime.now(timezone.utc).strftime("%d/%m/%Y")
    page.fill("#from", today)
    page.fill("#to", today)
    page.click(".controls .apply-range")
    page.wait_for_selector(".loading-note:not([hidden])")
    assert page.inner_text(".loading-note") == "Loading…" and page.inner_text(".status") == "Loading…"
    assert page.get_attribute("[role=tabpanel]", "aria-busy") == "true"
    assert "loading" in page.get_attribute(".board-slot", "class").split()
    while not held:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    page.unroute("**/v1/campaigns/*/report?*")
    page.wait_for_selector(".loading-note", state="hidden")
    assert page.get_attribute("[role=tabpanel]", "aria-busy") is None and "Updated" in page.inner_text(".status")
    # the execution filter too
    page.goto(f"{stack.web_url}?campaign={RUNS}&tab=email&mode=live")
    wait_loaded(page, RUNS, "email")
    held.clear()
    page.route("**/v1/campaigns/*/live?*", lambda route: held.append(route))
    page.click(".exec-filter summary")
    page.check(".exec-filter input[data-execution='run-03']")
    page.wait_for_selector(".loading-note:not([hidden])")
    assert page.get_attribute("[role=tabpanel]", "aria-busy") == "true"
    while not held:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    page.unroute("**/v1/campaigns/*/live?*")
    page.wait_for_selector(".loading-note", state="hidden")


def test_email_report_dialog_prefills_me_sends_me_a_test_and_lists_languages(context, stack, key, monkeypatch):
    import app as app_module
    from infra.local.schedules import verify_sender
    from .test_accounts_page import add_member, choose_workspace, fresh_email, open_signed_out, sign_in_form
    monkeypatch.setenv("LIVEREPORT_ENV", "local")  # the development unsubscribe secret, as make run has it
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.moto_url)  # the SES client of the app's senders: this stack's
    # a user of its own: the shared local admin stays out of this workspace (the accounts tests list its workspaces)
    me, password = fresh_email("widgets-admin"), "Widgets-Pa55word!"
    add_member(stack, "browser", me, "admin", "Widgets admin", password=password)
    add_member(stack, WS, me, "admin", "Widgets admin")
    verify_sender(app_module._ses_client(), "reports@example.com")
    page = context.new_page()
    open_signed_out(page, stack)
    sign_in_form(page, me, password)
    page.wait_for_selector("[role=tablist]")
    choose_workspace(page, WS)
    page.goto(f"{stack.web_url}?campaign={EVERY}&tab=email&mode=live")
    wait_loaded(page, EVERY, "email")
    page.click(".email-me")
    assert page.input_value("#sub-recipients") == me
    page.select_option("#sub-frequency", "hourly")
    assert page.is_visible("#sub-minute") and not page.is_visible("#sub-time")
    page.fill("#sub-minute", "15")
    page.select_option("#sub-lang", "fr")
    page.click("dialog.subscribe button[type=submit]")
    item = page.locator(".sub-list li[data-subscription]").last
    item.wait_for()
    assert "hourly at :15" in item.inner_text() and "Français" in item.inner_text()
    item.locator("button[data-test]").click()
    page.wait_for_selector(f".sub-status:text('A test email was sent to {me}.')", timeout=30000)
    item.locator("button[data-test]").click()  # a second one within the minute is refused, said in words
    page.wait_for_selector("dialog.subscribe .error:text('less than a minute ago')")
    item.locator("button:text-is('Delete')").click()
    page.wait_for_selector(".sub-list li.muted")


def test_alert_form_lists_each_rate_once_and_speaks_to_people(context, stack, key):
    from .test_accounts_page import add_member, fresh_email, open_signed_out, sign_in_form
    email, password = fresh_email("reader"), "Reader-Pa55word!"
    add_member(stack, WS, email, "viewer", "Reader", password=password)
    page = context.new_page()
    open_signed_out(page, stack)
    sign_in_form(page, email, password)
    page.wait_for_selector("[role=tablist]")  # a member of this one workspace only: it opens there
    page.click(".alerts-btn")
    assert page.inner_text(".alerts-readonly").startswith("You can read alerts")
    page.close()
    page = context.new_page()
    enter(page, stack, key)
    page.goto(f"{stack.web_url}?campaign={EVERY}&tab=email&mode=live")
    wait_loaded(page, EVERY, "email")
    page.click(".alerts-btn")
    page.wait_for_selector("form.alert-editor select[name=metric] option[value=complaint_rate]", state="attached")
    options = page.eval_on_selector_all("form.alert-editor select[name=metric] option", "os => os.map(o => [o.value, o.textContent])")
    labels = [label for _, label in options]
    assert len(labels) == len(set(labels)), labels
    assert "spam_complaint_rate" not in [v for v, _ in options]
    assert labels.count("Unsubscribe rate") == 1 and labels.count("Complaint rate") == 1


@pytest.mark.parametrize(("lang", "grouped", "foreign"), [("fr", r"\d{1,3}(\u202f\d{3})+", ","), ("en", r"\d{1,3}(,\d{3})+", "\u202f")])
def test_chart_axes_write_numbers_in_the_page_language(page, stack, key, lang, grouped, foreign):
    """French axes printed "1,800": the axis labels are the page's own numbers (1 800 in French)."""
    import re
    enter(page, stack, key, lang, "UTC")
    page.goto(f"{stack.web_url}?campaign={BIG}&tab=email&mode=live")
    wait_loaded(page, BIG, "email")
    page.wait_for_selector(".widget[data-widget='email-perf'] svg text")
    page.wait_for_timeout(400)
    labels = page.eval_on_selector_all(".widget[data-widget='email-perf'] svg text", "ts => ts.map(t => t.textContent)")
    assert any(re.fullmatch(grouped, x) for x in labels), labels
    assert not any(re.fullmatch(r"[\d,\u202f]+", x) and foreign in x for x in labels), labels

"""The Experimentation tab on seeded experiments (seed.experiment_events, a workspace of their own): the summary,
KPIs, variants table and chart say what the API computed; lower-is-better and revenue read right; the sample-ratio
warning; settings saved by an editor and refused to a read key; EN/FR, CSV, deep links, live refresh, phones."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from . import seed
from .conftest import DESKTOP, enter
from .helpers import kpis, number, table, text_of
from .test_layout import OVERFLOWS


def experiment(stack, key: str, campaign: str, channel: str = "email", metric: str = "") -> dict:
    q = f"channel={channel}" + (f"&metric={metric}" if metric else "")
    return seed.get(stack.api_url, key, f"/v1/campaigns/{campaign}/experiment?{q}")


def put_settings(stack, key: str, campaign: str, body: dict, channel: str = "email") -> tuple[int, dict]:
    req = urllib.request.Request(f"{stack.api_url}/v1/campaigns/{campaign}/experiments/{channel}",
                                 data=json.dumps(body).encode(), method="PUT",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def open_experiment(page, stack, campaign: str, query: str = "", channel: str = "email", metric: str = "") -> None:
    page.goto(f"{stack.web_url}?campaign={campaign}&tab=experiments{query}")
    drawn(page, channel, metric)


def drawn(page, channel: str = "email", metric: str = "") -> None:
    """The tab drew the experiment of `channel` (and `metric`): its summary is written."""
    sel = f"section.x-head[data-channel='{channel}']" + (f"[data-metric='{metric}']" if metric else "")
    page.wait_for_selector(f"{sel}:not([hidden]) .x-summary:not(:empty)", timeout=20000)


def check_table(page, doc: dict) -> None:
    rows = table(page, "x-variants")
    assert list(rows) == [v["variant"] for v in doc["variants"]]
    value = doc["metric"] == "revenue"
    for v in doc["variants"]:
        row = rows[v["variant"]]
        for col in ("people", "successes", "lift", "lower", "upper", "confidence", "value" if value else "rate"):
            assert number(row[col]) == v[col], (v["variant"], col, row[col], v[col])


@pytest.fixture
def viewer(browser, stack, exp_keys):
    """A desktop page signed in with the workspace's read key (a viewer: no settings)."""
    ctx = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC", accept_downloads=True)
    page = ctx.new_page()
    enter(page, stack, exp_keys[1], "en", "UTC")
    yield page
    ctx.close()


@pytest.fixture
def editor(browser, stack, exp_keys):
    ctx = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    page = ctx.new_page()
    enter(page, stack, exp_keys[0], "en", "UTC")
    yield page
    ctx.close()


def test_a_winner_is_summed_up_with_the_api_numbers(viewer, stack, exp_keys):
    page = viewer
    open_experiment(page, stack, seed.WINNER)
    doc = experiment(stack, exp_keys[1], seed.WINNER)
    assert doc["status"] == "winner" and doc["winner"] == "B" and doc["baseline"] == "A"
    b = doc["variants"][1]
    summary = text_of(page, ".x-summary")
    m = re.fullmatch(r"Variant B is the best performer: \+200% unique clicks vs A, confidence (\d+\.\d+)%\.", summary)
    assert m, summary
    assert abs(float(m.group(1)) - b["confidence"] * 100) <= 0.051
    # the same confidence, written the same way, in the table
    assert page.inner_text(".widget[data-widget='x-variants'] tr[data-row='B'] [data-col=confidence]") == f"{m.group(1)}%"
    assert page.inner_text(".widget[data-widget='x-variants'] tr[data-row='A'] th") == "A (baseline)"
    check_table(page, doc)
    tiles = kpis(page, "x-kpis")
    assert number(tiles["lift"]["value"]) == b["lift"] and tiles["lift"]["text"] == "+200%"
    assert number(tiles["confidence"]["value"]) == b["confidence"]
    assert int(tiles["people"]["value"]) == 400 and tiles["status"]["text"] == "Winner: B"
    # what confidence means, from the catalogue, in the page
    assert "It is not the probability that the variant is better" in text_of(page, ".x-explain")
    assert page.get_attribute(".widget[data-widget='x-variants'] th[data-col=confidence] button", "title").startswith("1 − an anytime-valid")
    # the chart of the difference with its band, and its table alternative holding the API's series
    page.wait_for_selector(".widget[data-widget='x-chart'] .chart svg")
    alt = table(page, "x-chart")
    assert len(alt) == len(doc["series"])
    last = doc["series"][-1]["variants"][1]
    row = alt[doc["series"][-1]["t"]]
    assert (number(row["B|d"]), number(row["B|l"]), number(row["B|u"])) == (last["difference"], last["lower"], last["upper"])
    # a viewer reads, never changes: no settings
    assert page.locator(".x-settings").count() == 0
    # the address names the tab, channel and metric, with the workspace and zone
    assert re.search(r"ws=browser-exp&campaign=subject-line&tab=experiments&channel=email&metric=unique_clicks&tz=UTC", page.url)
    assert "Since " in text_of(page, ".period") and "baseline A" in text_of(page, ".period")


def test_a_campaign_without_variants_has_no_experimentation_tab(viewer, stack):
    page = viewer
    page.goto(f"{stack.web_url}?campaign={seed.PLAIN}&tab=email")
    page.wait_for_selector(f"main[data-loaded^='{seed.PLAIN}:email:']")
    assert page.locator("[role=tab][data-tab=experiments]").is_hidden()
    page.goto(f"{stack.web_url}?campaign={seed.WINNER}&tab=email")
    page.wait_for_selector(f"main[data-loaded^='{seed.WINNER}:email:']")
    assert page.locator("[role=tab][data-tab=experiments]").is_visible()
    # a link naming the tab for a campaign without variants says why there is nothing
    page.goto(f"{stack.web_url}?campaign={seed.PLAIN}&tab=experiments")
    page.wait_for_selector(".empty-tab[data-note=no-experiment]:not([hidden])")
    assert "none of its events carried a variant" in text_of(page, ".empty-tab")


def test_lower_is_better_revenue_and_the_metric_picker_walk_history(viewer, stack, exp_keys):
    page = viewer
    open_experiment(page, stack, seed.WINNER, "&channel=email&metric=unsubscribes", metric="unsubscribes")
    doc = experiment(stack, exp_keys[1], seed.WINNER, metric="unsubscribes")
    assert doc["direction"] == "lower" and doc["winner"] == "B"
    assert re.fullmatch(r"Variant B is the best performer: -91\.7% unsubscribes vs A \(fewer is better\), "
                        r"confidence \d+\.\d+%\.", text_of(page, ".x-summary")), text_of(page, ".x-summary")
    check_table(page, doc)
    # revenue: per person in the campaign's currency, from the picker (a history entry)
    page.select_option("#x-metric", "revenue")
    drawn(page, metric="revenue")
    assert "metric=revenue" in page.url
    revenue = experiment(stack, exp_keys[1], seed.WINNER, metric="revenue")
    assert revenue["currency"] == "EUR"
    check_table(page, revenue)
    assert page.inner_text(".widget[data-widget='x-variants'] tr[data-row='B'] [data-col=value]") == "€3.00"
    assert page.inner_text(".widget[data-widget='x-variants'] th[data-col=value]") == "Revenue per person"
    assert text_of(page, ".x-summary").startswith("No winner yet:")
    page.go_back()
    drawn(page, metric="unsubscribes")
    assert page.input_value("#x-metric") == "unsubscribes"
    page.go_forward()
    drawn(page, metric="revenue")


def test_channel_picker_an_aa_experiment_and_a_reload(viewer, stack, exp_keys):
    page = viewer
    open_experiment(page, stack, seed.WINNER)
    page.select_option("#x-channel", "sms")
    drawn(page, "sms")
    doc = experiment(stack, exp_keys[1], seed.WINNER, "sms")
    assert doc["status"] == "running" and doc["winner"] is None
    assert text_of(page, ".x-summary") == ("No winner yet: no variant differs from A on unique clicks at the 95% "
                                           "confidence level so far. Keep the experiment running.")
    check_table(page, doc)
    assert "channel=sms&metric=unique_clicks" in page.url
    page.reload()
    drawn(page, "sms", "unique_clicks")
    assert page.input_value("#x-channel") == "sms"
    # a link's channel without an experiment falls back to one that has, and says so
    page.goto(f"{stack.web_url}?campaign={seed.WINNER}&tab=experiments&channel=push")
    drawn(page, "email")
    page.wait_for_function("() => document.querySelector('div.sr-only[role=status]').textContent.includes('has no experiment')")


def test_sample_ratio_warning_from_planned_shares_set_in_the_dialog(editor, stack, exp_keys):
    page = editor
    open_experiment(page, stack, seed.SPLIT)
    assert page.locator(".x-warning").is_hidden()
    assert text_of(page, ".x-note") == "3 profiles were sent two variants: each counts in the first variant it received."
    page.click(".x-settings")
    page.fill(".x-shares input[data-variant=A]", "50")
    page.fill(".x-shares input[data-variant=B]", "50")
    page.click(".x-form button[type=submit]")
    page.wait_for_selector(".x-warning:not([hidden])")
    warning = text_of(page, ".x-warning")
    assert warning == ("People are not split as planned: planned A 50% / B 50%, observed A 75% / B 25% "
                       "(anytime-valid p < 0.0001). The assignment or the data is faulty: the results should not be trusted.")
    doc = experiment(stack, exp_keys[1], seed.SPLIT)
    assert doc["sample_ratio"]["mismatch"] is True and doc["contaminated_profiles"] == 3
    assert "planned split A 50% / B 50%" in text_of(page, ".period")


def test_settings_are_saved_by_an_editor_and_refused_to_a_read_key(editor, stack, exp_keys):
    manage, read = exp_keys
    page = editor
    open_experiment(page, stack, seed.SETTINGS)
    page.click(".x-settings")
    page.wait_for_selector(".x-form")
    # the page's own words first
    page.fill(".x-shares input[data-variant=A]", "abc")
    page.click(".x-form button[type=submit]")
    page.wait_for_selector("dialog.x-settings-dialog .error:text('Planned shares: give each variant')")
    assert page.get_attribute(".x-shares input[data-variant=A]", "aria-invalid") == "true"
    page.fill(".x-shares input[data-variant=A]", "")
    page.fill("#x-window", "91")
    page.click(".x-form button[type=submit]")
    page.wait_for_selector("dialog.x-settings-dialog .error:text('Attribution window: a number of days')")
    # saved: baseline B, 99 %, a 3-day window
    page.fill("#x-window", "3")
    page.select_option("#x-baseline", "B")
    page.select_option("#x-level", "0.99")
    page.click(".x-form button[type=submit]")
    page.wait_for_selector("dialog.x-settings-dialog", state="detached")
    page.wait_for_function("() => document.querySelector('.period').textContent.includes('baseline B')")
    period = text_of(page, ".period")
    assert "confidence level 99%" in period and "attribution window 3 d" in period
    page.wait_for_selector(".widget[data-widget='x-variants'] tr[data-row='B'] th:text-is('B (baseline)')")
    stored = seed.get(stack.api_url, read, f"/v1/campaigns/{seed.SETTINGS}/experiments/email")
    assert (stored["baseline"], stored["confidence_level"], stored["attribution_window_days"]) == ("B", 0.99, 3.0)
    # ending it without a winner: inconclusive
    page.click(".x-settings")
    page.check("#x-ended")
    page.click(".x-form button[type=submit]")
    page.wait_for_selector("section.x-head[data-status=inconclusive]")
    assert text_of(page, ".x-summary").startswith("Inconclusive: the experiment ended without a variant that differs from B")
    assert kpis(page, "x-kpis")["status"]["text"] == "Inconclusive"
    # the API's refusals, said in the page's words (the API's reason kept)
    page.route("**/experiments/email", lambda route: route.fulfill(status=422, content_type="application/json", body=json.dumps(
        {"error": {"code": "invalid_settings", "message": "planned_shares: Value error, between 2 and 8 variants"}}))
        if route.request.method == "PUT" else route.continue_())
    page.click(".x-settings")
    page.wait_for_selector(".x-form")
    page.click(".x-form button[type=submit]")
    page.wait_for_selector("dialog.x-settings-dialog .error:text('These settings were not saved: Planned shares — Value error')")
    page.unroute("**/experiments/email")
    page.route("**/experiments/email", lambda route: route.fulfill(status=403, content_type="application/json", body=json.dumps(
        {"error": {"code": "forbidden", "message": "this key lacks the manage scope"}}))
        if route.request.method == "PUT" else route.continue_())
    page.click(".x-form button[type=submit]")
    page.wait_for_selector("dialog.x-settings-dialog .error:text('Only editors and admins can change')")
    # a read key: the API refuses, the page offers nothing to change
    status, body = put_settings(stack, read, seed.SETTINGS, {"ended": False})
    assert status == 403, body


def test_french_summary_headers_and_csv(browser, stack, exp_keys):
    ctx = browser.new_context(viewport=DESKTOP, locale="fr-FR", timezone_id="Europe/Paris", accept_downloads=True)
    page = ctx.new_page()
    try:
        enter(page, stack, exp_keys[1], "fr", "Europe/Paris")
        open_experiment(page, stack, seed.WINNER)
        doc = experiment(stack, exp_keys[1], seed.WINNER)
        assert page.inner_text("[role=tab][data-tab=experiments]") == "Expérimentation"
        assert re.fullmatch(r"La variante B est la plus performante : clics uniques \+200 % par rapport à A, "
                            r"confiance \d+,\d+ %\.", text_of(page, ".x-summary")), text_of(page, ".x-summary")
        headers = page.eval_on_selector_all(".widget[data-widget='x-variants'] thead th", "els => els.map(e => e.innerText.trim())")
        assert headers == ["Variante", "Personnes", "Succès", "Taux", "Gain", "Borne inférieure", "Borne supérieure", "Confiance"]
        assert "Ce n'est pas la probabilité que la variante soit meilleure" in text_of(page, ".x-explain")
        page.click(".widget[data-widget='x-variants'] .menu-btn")
        with page.expect_download() as info:
            page.click(".widget[data-widget='x-variants'] [role=menuitem]:text-is('Télécharger en CSV')")
        text = open(info.value.path(), encoding="utf-8-sig").read()
        lines = text.splitlines()
        assert "Espace de travail;browser-exp" in lines and f"Campagne;{seed.WINNER}" in lines
        assert "Onglet;Expérimentation" in lines and "Canal;E-mail" in lines and "Mesure de succès;Clics uniques" in lines
        assert "Fuseau horaire;Europe/Paris" in lines and "Référence;A" in lines
        header = lines.index("Variante;Personnes;Succès;Taux;Gain;Borne inférieure (pt);Borne supérieure (pt);Confiance")
        b = doc["variants"][1]
        assert lines[header + 1].startswith("A (référence);200;20;10 %;")
        assert lines[header + 2].startswith(f"B;200;60;30 %;200 %;{_fr(b['lower'] * 100)};{_fr(b['upper'] * 100)};")
    finally:
        ctx.close()


def _fr(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".").replace(".", ",")


def test_people_arriving_show_without_a_reload(viewer, stack, exp_keys):
    page = viewer
    open_experiment(page, stack, seed.LIVE_EXP)
    assert page.get_attribute(".widget[data-widget='x-variants'] tr[data-row='B'] [data-col=people]", "data-value") == "40"
    now = datetime.now(timezone.utc)
    seed.post(stack.api_url, exp_keys[0], [
        {"event_id": f"live-exp-{i}", "timestamp": (now - timedelta(seconds=30)).isoformat(), "campaign_id": seed.LIVE_EXP,
         "channel": "email", "type": "sent", "profile_id": f"live-exp-new-{i}", "variant": "B"} for i in range(5)])
    stack.services.pump()
    page.wait_for_selector(".widget[data-widget='x-variants'] tr[data-row='B'] [data-col=people][data-value='45']", timeout=20000)
    check_table(page, experiment(stack, exp_keys[1], seed.LIVE_EXP))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_phone_layout_without_overflow(browser, stack, exp_keys, lang):
    ctx = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-GB", timezone_id="UTC")
    page = ctx.new_page()
    try:
        enter(page, stack, exp_keys[1], lang, "UTC")
        open_experiment(page, stack, seed.SPLIT)
        page.wait_for_selector(".widget[data-widget='x-chart'] .chart svg")
        page.wait_for_function("() => document.querySelector('.widget[data-widget=x-chart] .chart').clientHeight > 150")
        problems = page.evaluate(OVERFLOWS, True)
        problems += page.evaluate("""() => {
          const out = [];
          if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push(`page ${document.documentElement.scrollWidth}px wide`);
          for (const el of document.querySelectorAll('.x-head, .x-head > *, .controls > *, .period')) {
            const r = el.getBoundingClientRect();
            if (r.width && r.right > window.innerWidth + 1) out.push(`${el.className}: beyond the screen`);
          }
          return out;
        }""")
        assert not problems, "\n".join(problems)
    finally:
        ctx.close()

"""Links open exactly what was shared: the workspace (`ws`) and the time zone (`tz`) travel in the address;
a workspace the person (or key) is not in, or a campaign the workspace does not have, is said with a way on
(never another workspace's or campaign's numbers, never "Loading…" forever); a date range shared from
Europe/Paris reads the same days in New York; switching workspace keeps the campaign only where it exists,
and back/forward walk workspaces too."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest

from . import seed
from .conftest import DESKTOP, sign_in
from .helpers import kpis
from .test_accounts_page import add_member, fresh_email, sign_in_form

TWO = "links-two"  # a second workspace of the reader: a namesake spring-sale (2 sends) and a campaign of its own
ONLY_TWO = "only-in-two"
OUTSIDER = "browser-demo"  # a workspace the reader is not in


@pytest.fixture(scope="module")
def reader(stack):
    """A viewer of `browser` (the seeded spring-sale, 8 sends) and of links-two; not of browser-demo."""
    _, key = stack.services.keys.create(TWO, ["ingest", "read"], "links tests")
    events = [seed._ev("email", "sent", f"t{i}", 20, execution_id="two") for i in range(2)]
    events.append(seed._ev("email", "sent", "o0", 20, campaign=ONLY_TWO))
    seed.post(stack.api_url, key, events)
    stack.services.pump()
    email, password = fresh_email("reader"), "Reader-Pa55word!"
    add_member(stack, "browser", email, "viewer", "Link Reader", password=password)
    add_member(stack, TWO, email, "viewer", password=password)
    return {"email": email, "password": password, "key": key}


def signed_in(page, stack, reader, lang: str = "en") -> None:
    """Signed in through the form; no time zone preference (the browser's zone is the reader's own)."""
    page.goto(stack.web_url)
    page.evaluate("([l]) => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: l, tab: 'email'}))", [lang])
    page.reload()
    page.wait_for_selector("form.signin[data-screen=password]")
    sign_in_form(page, reader["email"], reader["password"])
    page.wait_for_selector("[role=tablist]")


def wait_in(page, ws: str, campaign: str, tab: str = "email", mode: str = "live") -> None:
    """The page drawn for this workspace's view (a new main per workspace: the old one's marks do not count)."""
    page.wait_for_selector(f"main[data-ws='{ws}'][data-loaded='{campaign}:{tab}:{mode}']", timeout=15000)


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def sent(page) -> int:
    return int(kpis(page, "email-kpis")["sent"]["value"])


def api_sent(stack, key: str, campaign: str) -> int:
    return seed.get(stack.api_url, key, f"/v1/campaigns/{campaign}/live?channel=email")["totals"]["sent"]


def note(page, kind: str) -> str:
    return page.inner_text(f".empty-tab[data-note='{kind}']:not([hidden])", timeout=15000)


def test_a_link_opens_its_workspace_and_back_forward_walk_workspaces(context, stack, reader):
    page = context.new_page()
    signed_in(page, stack, reader)
    assert page.input_value("#workspace") == "browser"  # where the reader's page is
    browser_sent, two_sent = api_sent(stack, stack.key, seed.CAMPAIGN), api_sent(stack, reader["key"], seed.CAMPAIGN)
    assert (browser_sent, two_sent) == (8, 2)

    # the bug: a link to links-two's spring-sale showed browser's namesake
    page.goto(f"{stack.web_url}?ws={TWO}&campaign={seed.CAMPAIGN}&tab=email&mode=live")
    wait_in(page, TWO, seed.CAMPAIGN)
    assert page.input_value("#workspace") == TWO and sent(page) == two_sent
    assert query(page)["ws"] == [TWO] and query(page)["tz"] == ["UTC"]  # the page names its zone too

    # a link without ws: the reader's current workspace, then written into the address
    page.goto(f"{stack.web_url}?campaign={seed.CAMPAIGN}&tab=email&mode=live")
    wait_in(page, TWO, seed.CAMPAIGN)
    assert query(page)["ws"] == [TWO] and sent(page) == two_sent

    # the header's chooser keeps the campaign where the new workspace has it (a history entry)
    page.select_option("#workspace", "browser")
    wait_in(page, "browser", seed.CAMPAIGN)
    assert sent(page) == browser_sent and query(page)["ws"] == ["browser"]
    assert page.inner_text(".picker-current") == seed.CAMPAIGN
    page.go_back()
    wait_in(page, TWO, seed.CAMPAIGN)
    assert page.input_value("#workspace") == TWO and sent(page) == two_sent
    page.go_forward()
    wait_in(page, "browser", seed.CAMPAIGN)
    assert page.input_value("#workspace") == "browser" and sent(page) == browser_sent

    # ... and clears it, saying so, where the new workspace has no campaign of that id
    page.goto(f"{stack.web_url}?ws={TWO}&campaign={ONLY_TWO}&tab=email&mode=live")
    wait_in(page, TWO, ONLY_TWO)
    page.select_option("#workspace", "browser")
    assert "No campaign chosen in workspace browser" in note(page, "no-campaign")
    assert page.inner_text(".picker-current") == "Choose a campaign" and "campaign" not in query(page)
    assert page.locator(".grid-stack .widget").count() == 0 or not page.locator(".board-slot").is_visible()
    page.go_back()
    wait_in(page, TWO, ONLY_TWO)


def test_a_workspace_the_reader_is_not_in_is_said_and_never_read(context, stack, reader):
    page = context.new_page()
    signed_in(page, stack, reader)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.headers.get("x-workspace", "")))
    page.goto(f"{stack.web_url}?ws={OUTSIDER}&campaign=black-friday-2026&tab=email&mode=global")
    page.wait_for_selector(f".not-member[data-workspace='{OUTSIDER}']")
    assert page.inner_text(".not-member [role=alert]") == f"You are not a member of workspace {OUTSIDER}."
    assert OUTSIDER not in asked  # nothing of it was asked for
    assert page.locator(".grid-stack").count() == 0 and page.locator(".picker").count() == 0
    choices = page.eval_on_selector_all(".ws-choices button", "bs => bs.map(b => b.dataset.workspace)")
    assert choices == ["browser", TWO]
    # a way on: one of the reader's workspaces (it has no black-friday-2026: none chosen, said)
    page.click(".ws-choices button[data-workspace='browser']")
    assert "No campaign chosen in workspace browser" in note(page, "no-campaign")
    assert query(page)["ws"] == ["browser"]
    page.go_back()  # the refused link again
    page.wait_for_selector(f".not-member[data-workspace='{OUTSIDER}']")

    page.evaluate("() => { const p = JSON.parse(localStorage.getItem('clr.prefs.v1')); p.lang = 'fr'; localStorage.setItem('clr.prefs.v1', JSON.stringify(p)); }")
    page.reload()
    page.wait_for_selector(f".not-member[data-workspace='{OUTSIDER}']")
    assert page.inner_text(".not-member [role=alert]") == f"Vous n’êtes pas membre de l’espace de travail {OUTSIDER}."
    assert page.inner_text(".ws-choices button[data-workspace='browser']") == "Ouvrir browser"


def test_a_key_opening_another_workspace_is_told_whose_key_it_is(page, stack):
    sign_in(page, stack)  # the key of workspace `browser`
    page.goto(f"{stack.web_url}?ws={TWO}&campaign={seed.CAMPAIGN}&tab=email&mode=live")
    page.wait_for_selector(f".not-member[data-workspace='{TWO}']")
    assert page.inner_text(".not-member [role=alert]") == f"This API key belongs to workspace browser, not to workspace {TWO}."
    page.click(".ws-choices button[data-workspace='browser']")
    wait_in(page, "browser", seed.CAMPAIGN)  # the key's workspace has a spring-sale: kept
    assert sent(page) == 8


def test_a_campaign_the_workspace_lacks_is_said_with_where_it_is(context, stack, reader):
    page = context.new_page()
    signed_in(page, stack, reader)
    # a link without ws (as every link was before) to a campaign of the reader's other workspace
    page.goto(f"{stack.web_url}?campaign={ONLY_TWO}&tab=email&mode=live")
    text = note(page, "campaign-missing")
    assert text.startswith(f"Campaign {ONLY_TWO} has no events in workspace browser.")
    assert page.inner_text(".picker-current") == ONLY_TWO  # says which campaign it names; shows none of another
    assert query(page)["ws"] == ["browser"] and query(page)["campaign"] == [ONLY_TWO]
    assert page.locator("main[data-loaded]").count() == 1  # drawn: not "Loading…" forever
    assert page.inner_text(".status:not(.latest-event)") != "Loading…"
    page.click(f".empty-tab .open-in[data-workspace='{TWO}']", timeout=15000)  # found in links-two
    wait_in(page, TWO, ONLY_TWO)
    assert sent(page) == api_sent(stack, reader["key"], ONLY_TWO) == 1
    # an explicit ws: the same message, and the picker as the way on
    page.goto(f"{stack.web_url}?ws=browser&campaign=no-such-campaign&tab=email&mode=global")
    assert note(page, "campaign-missing").startswith("Campaign no-such-campaign has no events in workspace browser.")
    page.click(".empty-tab .open-picker")
    page.click(f".picker-item[data-campaign='{seed.EMAIL_ONLY}']")
    wait_in(page, "browser", seed.EMAIL_ONLY, mode="global")


def test_a_range_shared_from_paris_reads_the_same_days_in_new_york(browser, stack, reader):
    ctx = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="America/New_York", accept_downloads=True)
    try:
        page = ctx.new_page()
        signed_in(page, stack, reader)
        paris = ZoneInfo("Europe/Paris")
        # whole Paris days around the seeded events, whatever the hour the test runs: from the Paris day of the
        # campaign's first data (the API clamps a range starting more than a day before it), to today
        life = seed.get(stack.api_url, stack.key, f"/v1/campaigns/{seed.CAMPAIGN}/report?channel=email")["range"]
        start = datetime.fromisoformat(life["resolved_start"].replace("Z", "+00:00"))
        first, last = (start.astimezone(paris).date(), datetime.now(paris).date())
        reports: list[str] = []
        page.on("request", lambda r: reports.append(r.url) if "/report?" in r.url else None)
        page.goto(f"{stack.web_url}?ws=browser&campaign={seed.CAMPAIGN}&tab=email&mode=global"
                  f"&from={first}&to={last}&tz=Europe/Paris")
        wait_in(page, "browser", seed.CAMPAIGN, mode="global")
        asked = parse_qs(urlparse(reports[-1]).query)
        assert (asked["tz"], asked["from"], asked["to"]) == (["Europe/Paris"], [str(first)], [str(last)])
        doc = seed.get(stack.api_url, stack.key, f"/v1/campaigns/{seed.CAMPAIGN}/report?channel=email"
                                                 f"&from={first}&to={last}&tz=Europe/Paris")
        assert int(kpis(page, "g-delivery")["sent"]["value"]) == doc["totals"]["sent"] == 8
        # the same days, said in the link's zone: midnight in Paris, not 18:00 the day before in New York
        assert (page.input_value("#from"), page.input_value("#to")) == (first.strftime("%d/%m/%Y"), last.strftime("%d/%m/%Y"))
        period = page.inner_text(".period")
        assert period.startswith(f"Covers {first.strftime('%d %b')}, 00:00") and "(Europe/Paris)" in period, period
        assert page.inner_text(".tz-note").startswith("Dates in Europe/Paris, the time zone of the link.")
        assert page.input_value("#tz") == "Europe/Paris"
        # the CSV says which workspace and zone it covers
        page.click(".widget[data-widget='g-delivery'] .menu-btn")
        with page.expect_download() as info:
            page.click(".menu:not([hidden]) [role=menuitem]:text('Download CSV')")
        rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read())))
        assert ["Workspace", "browser"] in rows and ["Time zone", "Europe/Paris"] in rows
        # a link's zone never becomes the reader's preference
        assert page.evaluate("() => JSON.parse(localStorage.getItem('clr.prefs.v1')).tz") in (None, "America/New_York")
        # the reader's own zone is one click away, and a link's zone never became their preference
        assert "tz" not in (page.evaluate("() => JSON.parse(localStorage.getItem('clr.prefs.v1'))") or {}) or \
            page.evaluate("() => JSON.parse(localStorage.getItem('clr.prefs.v1')).tz") == "America/New_York"
        page.click(".tz-note .tz-mine")
        page.wait_for_selector(".tz-note[hidden]", state="attached")
        page.wait_for_function("() => document.querySelector('.period')?.textContent.includes('(America/New_York)')")
        assert query(page)["tz"] == ["America/New_York"] and page.input_value("#tz") == "America/New_York"
        assert parse_qs(urlparse(reports[-1]).query)["tz"] == ["America/New_York"]
        # a zone the browser does not know is ignored, and said
        page.goto(f"{stack.web_url}?ws=browser&campaign={seed.CAMPAIGN}&tab=email&mode=live&tz=Mars/Olympus")
        wait_in(page, "browser", seed.CAMPAIGN)
        assert page.inner_text(".tz-note") == "The link’s time zone “Mars/Olympus” is unknown: dates are in America/New_York."
        assert query(page)["tz"] == ["America/New_York"]
    finally:
        ctx.close()


def test_a_link_opened_in_another_tab_leaves_this_tab_in_its_workspace(context, stack, reader):
    page = context.new_page()
    signed_in(page, stack, reader)
    page.goto(f"{stack.web_url}?ws=browser&campaign={seed.CAMPAIGN}&tab=email&mode=live")
    wait_in(page, "browser", seed.CAMPAIGN)
    other = context.new_page()  # same browser, same session: a colleague's link to the other workspace
    other.goto(f"{stack.web_url}?ws={TWO}&campaign={seed.CAMPAIGN}&tab=email&mode=live")
    wait_in(other, TWO, seed.CAMPAIGN)
    assert sent(other) == 2
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.headers.get("x-workspace", "")) if "/live?" in r.url else None)
    before = int(page.get_attribute("main", "data-refreshes"))
    # the page's next full refresh (at the latest every refreshSeconds, 5 s here)
    page.wait_for_function("n => Number(document.querySelector('main')?.dataset.refreshes) > n", arg=before, timeout=30000)
    assert asked and set(asked) == {"browser"} and sent(page) == 8  # still its own workspace's numbers
    page.reload()  # and a reload keeps the workspace its address names
    wait_in(page, "browser", seed.CAMPAIGN)
    assert sent(page) == 8

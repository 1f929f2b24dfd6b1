"""The CSV and the snapshot email say what the page says about platform traffic (issue 17): sent as reported plus
inferred ("Sent 45 (13 reported, 32 inferred)"), and opens and the open rate with and without machine opens.

Pure: the report documents are built by the catalogue's own functions from counts, as the reports build them.
"""
from __future__ import annotations

import csv
import io

import pytest

from chalicelib import catalogue
from chalicelib.csv_export import report_csv
from chalicelib.snapshots import render
from chalicelib.snapshots.subscriptions import Subscription

NOW = 1_800_000_000.0


def platform_doc() -> dict:
    """An SES-like email source: 13 sends reported, 40 delivered, 3 bounces, 2 errors; 6 human openers,
    10 openers with machine opens, 4 clickers."""
    totals = {"sent": 13, "delivered": 40, "bounce": 3, "error": 2, "open": 20, "open_machine": 9, "click": 4}
    distinct = {"open": 6, "open_machine": 5, "click": 4}
    combined = {"open_all": 10, "engaged": 8, "engaged_all": 12}
    both = {**distinct, **combined}
    return {"campaign_id": "ses-only", "tab": "email", "has_data": True,
            "window": {"start": "2027-01-14T08:00:00Z", "end": "2027-01-15T08:00:00Z", "seconds": 86400},
            "totals": totals, "distinct": distinct, "distinct_combined": combined,
            "inferred": catalogue.inferred("email", totals, both),
            "rates": catalogue.compute_rates("email", totals, both), "breakdowns": {}}


def sub(lang: str) -> Subscription:
    return Subscription(subscription_id="s1", workspace="w", created_at=0, campaign_id="ses-only", report="live",
                        channel="email", recipients=["ann@example.com"], frequency={"type": "hourly"}, language=lang)


def test_the_documents_figures_are_what_the_lines_below_expect():
    doc = platform_doc()
    assert doc["inferred"] == {"delivered": 0, "sent": 32}
    assert doc["rates"]["open_rate"] == 0.15 and doc["rates"]["open_rate_all"] == 0.25
    assert doc["rates"]["reactivity"] == 0.5 and doc["rates"]["reactivity_all"] == round(4 / 12, 6)
    assert doc["rates"]["delivered_rate"] == round(40 / 45, 6)  # never above 100 %


def test_csv_has_reported_inferred_and_total_and_both_open_figures():
    tables: dict[str, list[list[str]]] = {}
    name = None
    for row in csv.reader(io.StringIO(report_csv(platform_doc(), "w", "UTC"))):
        if not row:
            name = None
        elif name is None:
            name = row[0]
            tables[name] = []
        else:
            tables[name].append(row)
    sent = {r[0]: r[1:] for r in tables["sent and delivered"]}
    assert tables["sent and delivered"][0] == ["metric", "reported", "inferred", "total"]
    assert sent["sent"] == ["13", "32", "45"] and sent["delivered"] == ["40", "0", "40"]
    assert {r[0]: r[1] for r in tables["distinct"][1:]}["open"] == "6"  # human openers
    assert dict(tables["distinct combined"][1:])["open_all"] == "10"
    rates = dict(tables["rates"][1:])
    assert rates["open_rate"] == "0.15" and rates["open_rate_all"] == "0.25"
    assert rates["reactivity"] == "0.5" and rates["reactivity_all"] == str(round(4 / 12, 6))


@pytest.mark.parametrize("lang, sent_line, opens, opens_all", [
    ("en", "Sent: 45 (13 reported, 32 inferred)", "Distinct human opens: 6", "Distinct opens incl. machine opens: 10"),
    ("fr", "Envoyés\u00a0: 45 (13 signalés, 32 déduits)", "Ouvertures humaines distinctes\u00a0: 6",
     "Ouvertures distinctes, ouvertures machine comprises\u00a0: 10"),
])
def test_email_says_sent_inferred_and_opens_with_and_without_machine_opens(lang, sent_line, opens, opens_all):
    doc = platform_doc()
    out = render.render(sub(lang), [render.Section("live:email", "email", doc)], {}, NOW, "ann@example.com",
                        "https://x.test/unsub")
    lines = out.text.splitlines()
    assert sent_line in lines and opens in lines and opens_all in lines
    labels = catalogue.labels(lang)
    pct = render.fmt_pct
    for rate, value in (("open_rate", 0.15), ("open_rate_all", 0.25), ("reactivity", 0.5)):
        assert f"{labels[rate]}{':' if lang == 'en' else chr(160) + ':'} {pct(value, lang)}" in lines
    # the HTML tiles carry the API's numbers (sent = reported + inferred) and the note, with its definition
    assert 'data-metric="sent"' in out.html and 'data-value="45"' in out.html and 'data-inferred="1"' in out.html
    assert 'data-metric="distinct.open_all"' in out.html and 'data-value="10"' in out.html
    assert catalogue.definitions(lang)["inferred_sent"] in out.text  # the glossary says why


def test_french_note_is_singular_for_one_and_absent_when_all_were_reported():
    doc = platform_doc()
    doc["totals"]["sent"], doc["inferred"]["sent"] = 44, 1
    assert render.inferred_note(doc, "sent", "fr") == "44 signalés, 1 déduit"
    assert render.inferred_note(doc, "sent", "en") == "44 reported, 1 inferred"
    assert render.inferred_note(doc, "delivered", "en") == ""  # every delivery was reported

"""The experiment block of the snapshot email: the page's one-sentence summary and the variants table with
the API's numbers, in English and French, a warning when people are not split as planned, nothing for a
channel without variants, and variant names that stay text."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from html import unescape
from html.parser import HTMLParser

from chalicelib.snapshots import experiment
from tests.test_snapshots import manager, parse, run, sent_messages, snap, subscribe  # noqa: F401 (fixture)

NOW = datetime.now(timezone.utc)


def ev(i, etype, profile, variant=None, minutes_ago=30.0, campaign="subject", channel="email", **extra):
    out = {"event_id": f"{campaign}-{etype}-{i}", "timestamp": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
           "campaign_id": campaign, "channel": channel, "type": etype, "profile_id": profile, **extra}
    if variant:
        out["variant"] = variant
    if etype == "click":
        out["url"] = "https://shop.example/a"
    return out


def post_experiment(api, campaign="subject", a=(200, 20), b=(200, 60)):
    """A/B on email: A sent to a[0] people of whom a[1] click, B likewise; sends over 40 minutes, clicks after."""
    events = []
    for variant, (people, clicks) in (("A", a), ("B", b)):
        for i in range(people):
            p = f"{campaign}-{variant}{i}"
            events.append(ev(f"{variant}s{i}", "sent", p, variant, 50 - i % 40, campaign))
            if i < clicks:
                events.append(ev(f"{variant}c{i}", "click", p, variant, 45 - i % 40, campaign))
    events.append(ev("plain", "delivered", f"{campaign}-A0", None, 49, campaign))
    for i in range(0, len(events), 500):
        body = json.loads(api.post_events(events[i:i + 500]).body)
        assert not body["rejected"], body["rejected"][:3]


class Block(HTMLParser):
    """The experiment block: its summary, warnings, and per variant {column: data-value} and bounds."""

    def __init__(self):
        super().__init__()
        self.blocks, self.rows, self.bounds, self.summary, self.warning = [], {}, {}, "", False
        self._variant, self._in_summary = None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-experiment" in a:
            self.blocks.append((a["data-experiment"], a["data-status"]))
        if a.get("data-summary"):
            self._in_summary = True
        if a.get("data-warning") == "sample-ratio":
            self.warning = True
        if "data-variant" in a:
            self._variant = a["data-variant"]
            self.rows[self._variant] = {}
        if "data-col" in a and self._variant:
            self.rows[self._variant][a["data-col"]] = a["data-value"]
        if "data-bounds" in a:
            self.bounds[a["data-bounds"]] = (a["data-lift"], a["data-lower"], a["data-upper"])

    def handle_endtag(self, tag):
        self._in_summary = False

    def handle_data(self, data):
        if self._in_summary:
            self.summary += data


def num(s: str):
    return None if s == "" else float(s)


def test_snapshot_shows_the_experiment_summary_and_table_with_the_api_numbers(snap):
    post_experiment(snap)
    for lang in ("en", "fr"):
        subscribe(snap, campaign_id="subject", channel="email", language=lang, allow_unknown_campaign=False)
    assert run(time.time() + 3600).summary()["sent"] == 2
    doc = json.loads(snap.get("/v1/campaigns/subject/experiment?channel=email").body)
    assert doc["status"] == "winner" and doc["winner"] == "B"
    b = doc["variants"][1]
    for message in sent_messages():
        msg, text, html, *_ = parse(message.raw_data)
        fr = 'lang="fr"' in html
        block = Block()
        block.feed(html)
        assert block.blocks == [("email", "winner")]
        pattern = (r"La variante B est la plus performante : clics uniques \+200\u00a0% par rapport à A, confiance "
                   r"(\d+,\d+)\u00a0%\." if fr else
                   r"Variant B is the best performer: \+200% unique clicks vs A, confidence (\d+\.\d+)%\.")
        m = re.fullmatch(pattern, block.summary)
        assert m, block.summary
        assert abs(float(m.group(1).replace(",", ".")) - b["confidence"] * 100) <= 0.051
        assert block.summary in text  # the plain-text alternative says the same
        for v in doc["variants"]:
            row = block.rows[v["variant"]]
            assert {k: num(row[k]) for k in ("people", "successes", "rate", "confidence")} == \
                {k: v[k] for k in ("people", "successes", "rate", "confidence")}
        assert block.bounds["B"] == (str(b["lift"]), str(b["lower"]), str(b["upper"]))
        # labels from the catalogue, the baseline marked, the difference in percentage points
        assert ("A (référence)" if fr else "A (baseline)") in html
        assert ("Personnes" if fr else "People") in html and ("Confiance" if fr else "Confidence") in html
        low = f"{b['lower'] * 100:+.1f}".replace(".", "," if fr else ".")
        assert f"{low}\u00a0pt" in html
        # the glossary explains confidence and the bounds (catalogue definitions)
        shown = unescape(html)
        assert ("Ce n'est pas la probabilité" if fr else "It is not the probability that the variant is better") in shown
        assert ("Borne inférieure / Borne supérieure" if fr else "Lower bound / Upper bound") in shown
        assert not block.warning


def test_planned_shares_that_do_not_match_are_said_in_the_email(snap):
    post_experiment(snap, "split", a=(150, 15), b=(50, 5))
    put = snap.client.http.put("/v1/campaigns/split/experiments/email",
                               headers={"Authorization": f"Bearer {manager(snap)}", "Content-Type": "application/json"},
                               body=json.dumps({"planned_shares": {"A": 50, "B": 50}}))
    assert put.status_code == 200, put.body
    subscribe(snap, campaign_id="split", channel="all", allow_unknown_campaign=False)
    run(time.time() + 3600)
    msg, text, html, *_ = parse(sent_messages()[0].raw_data)
    block = Block()
    block.feed(html)
    assert block.warning and block.blocks == [("email", "running")]  # the email section only, not the campaign tab
    assert "People are not split as planned: planned A 50% / B 50%, observed A 75% / B 25%." in html
    assert "!! People are not split as planned" in text
    assert block.summary.startswith("No winner yet")


def test_a_campaign_without_variants_has_no_experiment_block(snap):
    snap.post_events([ev(i, "sent", f"p{i}", None, 10, "plain") for i in range(5)])
    subscribe(snap, campaign_id="plain", channel="email", allow_unknown_campaign=False)
    run(time.time() + 3600)
    msg, text, html, *_ = parse(sent_messages()[0].raw_data)
    assert "data-experiment" not in html and "Lower bound / Upper bound" not in html


HOSTILE = '<img src=x onerror="alert(1)">'


def test_variant_names_and_the_rest_stay_text():
    """Ingest admits only letters, digits and . _ : @ + - in variant names; the block escapes whatever it gets."""
    doc = {"campaign_id": "c", "channel": "email", "metric": "unique_clicks", "direction": "higher",
           "baseline": HOSTILE, "confidence_level": 0.95, "status": "winner", "winner": "B&B", "ended": False,
           "contaminated_profiles": 2, "sample_ratio": {"planned": {HOSTILE: 0.5, "B&B": 0.5},
                                                        "observed": {HOSTILE: 0.6, "B&B": 0.4}, "mismatch": True},
           "variants": [{"variant": HOSTILE, "people": 100, "successes": 10, "rate": 0.1, "value": None, "lift": None,
                         "difference": None, "lower": None, "upper": None, "confidence": None},
                        {"variant": "B&B", "people": 100, "successes": 30, "rate": 0.3, "value": None, "lift": 2.0,
                         "difference": 0.2, "lower": 0.05, "upper": 0.35, "confidence": 0.9999}]}
    for lang in ("en", "fr"):
        html, text = experiment.block(doc, lang)
        assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
        assert "B&B" not in html and "B&amp;B" in html
        assert "99.99%" in html or "99,99\u00a0%" in html  # never a rounded 100 %
        assert HOSTILE in "\n".join(text)  # plain text is text


def test_revenue_reads_per_person_in_the_campaign_currency_and_lower_is_better_says_so():
    base = {"campaign_id": "c", "channel": "email", "baseline": "A", "confidence_level": 0.95, "ended": False,
            "contaminated_profiles": 0, "sample_ratio": None, "currency": "EUR"}
    revenue = {**base, "metric": "revenue", "direction": "higher", "status": "running", "winner": None,
               "variants": [{"variant": "A", "people": 200, "successes": 300.0, "rate": None, "value": 1.5, "lift": None,
                             "difference": None, "lower": None, "upper": None, "confidence": None},
                            {"variant": "B", "people": 200, "successes": 600.0, "rate": None, "value": 3.0, "lift": 1.0,
                             "difference": 1.5, "lower": -1.71, "upper": 4.71, "confidence": 0.369}]}
    html, _ = experiment.block(revenue, "fr")
    assert "Chiffre d’affaires par personne" in html and "3,00\u00a0EUR" in html and "−" not in html
    assert "Écart +1,50\u00a0EUR, entre -1,71\u00a0EUR et +4,71\u00a0EUR" in html
    unsub = {**base, "metric": "unsubscribes", "direction": "lower", "status": "winner", "winner": "B",
             "variants": [{"variant": "A", "people": 200, "successes": 24, "rate": 0.12, "value": None, "lift": None,
                           "difference": None, "lower": None, "upper": None, "confidence": None},
                          {"variant": "B", "people": 200, "successes": 2, "rate": 0.01, "value": None,
                           "lift": -0.916667, "difference": -0.11, "lower": -0.208, "upper": -0.0118, "confidence": 0.978}]}
    assert experiment.summary(unsub, "en") == ("Variant B is the best performer: -91.7% unsubscribes vs A "
                                               "(fewer is better), confidence 97.8%.")

"""Every metric and rate the catalogue offers has a definition in both languages (the page's
hover text, the email's glossary): adding a metric without one fails here."""
from __future__ import annotations

from chalicelib import catalogue


def test_every_metric_and_rate_is_defined_in_english_and_french():
    names = set()
    for channel in catalogue.CHANNELS:
        names |= set(catalogue.metrics_for(channel)) | {r.name for r in catalogue.RATES if channel in r.channels}
    for lang in ("en", "fr"):
        defined = catalogue.definitions(lang)
        assert sorted(n for n in names if not defined.get(n, "").strip()) == [], lang
    en, fr = catalogue.definitions("en"), catalogue.definitions("fr")
    assert [n for n in names if en[n] == fr[n]] == []  # translated, not copied

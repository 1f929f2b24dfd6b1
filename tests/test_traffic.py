"""The demo's traffic (infra/local/traffic.py) reads like each channel's platforms:
every event is valid, and each channel's bounces, errors and exclusions are its own."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from chalicelib import catalogue
from chalicelib.events import validate_batch
from infra.local.traffic import REASONS, TrafficGenerator

SMTP = re.compile(r"^\d{3} \d\.\d\.\d")


def demo_events(count: int = 30000) -> list[dict]:
    now = datetime.now(timezone.utc)
    return list(TrafficGenerator(seed=11).events(count, now - timedelta(hours=3), now))


def test_every_demo_event_is_accepted():
    events = demo_events(5000)
    accepted, rejected = validate_batch(events, datetime.now(timezone.utc))
    assert rejected == [] and len(accepted) == len(events)


def test_each_channel_speaks_its_own_platforms_words():
    seen: dict[tuple[str, str], set[str]] = {}
    for ev in demo_events():
        if ev["type"] in ("bounce", "error", "excluded"):
            seen.setdefault((ev["channel"], ev["type"]), set()).add(ev["reason"])
            if ev["type"] == "bounce":
                assert ev["reason"] in REASONS[ev["channel"]].bounces[ev["bounce_type"]]
            if ev.get("error_type") is not None:
                assert ev["error_type"] in catalogue.ERROR_TYPES
    for channel, reasons in REASONS.items():
        bounces = {r for kind in reasons.bounces.values() for r in kind}
        assert seen.get((channel, "bounce"), set()) <= bounces
        assert seen.get((channel, "error"), set()) <= {reason for _, reason in reasons.errors}
        assert seen.get((channel, "excluded"), set()) <= set(reasons.exclusions)
    # only email bounces quote SMTP replies; direct mail never bounces
    assert any(SMTP.match(r) for r in seen[("email", "bounce")])
    for channel in ("sms", "push"):
        assert seen[(channel, "bounce")] and not any(SMTP.match(r) or "mailbox" in r.lower()
                                                     for r in seen[(channel, "bounce")] | seen[(channel, "error")])
    assert ("directmail", "bounce") not in seen
    assert not any("mailbox" in r.lower() for r in seen[("directmail", "error")])

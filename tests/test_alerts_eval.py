"""Alert evaluation on generated minute counters, checked against a brute-force
re-computation written independently of chalicelib.alerts.evaluate."""
from __future__ import annotations

import random

import pytest

from chalicelib.alerts.evaluate import evaluate, minute_series
from chalicelib.alerts.rules import Rule

T0 = 1_790_000_000 - 1_790_000_000 % 60  # a minute boundary


def rule(**kw) -> Rule:
    base = dict(name="r", campaign_id="c1", channel="email", metric="bounce_rate", op=">", threshold=0.05,
                window_minutes=5, min_volume=0, rule_id="al_test", workspace="acme", created_at=0)
    base.update(kw)
    return Rule(**base)


def minute(i: int) -> int:
    return T0 + 60 * i


def brute_window(series, end_minute: int, w: int, metrics) -> int:
    """Sum of metrics over minutes end_minute-w .. end_minute-1 (minute indexes)."""
    return sum(series.get(minute(m), {}).get(x, 0) for m in range(end_minute - w, end_minute) for x in metrics)


def brute_breach(r: Rule, series, e: int, firing_check: bool = True) -> bool:
    w = r.window_minutes
    if r.metric == "bounce_rate":
        den = brute_window(series, e, w, ["sent"])
        num = brute_window(series, e, w, ["bounce"])
        return den > 0 and den >= max(1, r.min_volume) and num / den > r.threshold
    if r.metric == "silence":
        all_types = ["targeted", "sent", "delivered", "bounce", "open", "error", "excluded"]
        now = brute_window(series, e, w, all_types)
        before = brute_window(series, e - w, w, all_types)
        return now == 0 and (before >= max(1, r.min_volume) or not firing_check)
    raise AssertionError(r.metric)


def brute_run(r: Rule, series, first: int, last: int) -> list[tuple[int, str]]:
    """The expected transitions, evaluating every minute end in [first, last]."""
    firing, out = False, []
    for e in range(first, last + 1):
        if not firing and brute_breach(r, series, e):
            firing = True
            out.append((e, "firing"))
        elif firing and all(not brute_breach(r, series, x, False) for x in range(e - r.window_minutes + 1, e + 1)):
            firing = False
            out.append((e, "ok"))
    return out


def run(r: Rule, series, first: int, last: int) -> list[tuple[int, str]]:
    firing, out = False, []
    for e in range(first, last + 1):
        v = evaluate(r, series, minute(e), firing)
        if v.fire:
            firing = True
            out.append((e, "firing"))
        elif v.resolve:
            firing = False
            out.append((e, "ok"))
    return out


def steady(minutes: range, sent: int = 100, bounce: int = 2) -> dict[int, dict[str, int]]:
    return {minute(m): {"sent": sent, "bounce": bounce, "delivered": sent - bounce, "targeted": sent}
            for m in minutes}


def bad_minute(row: dict[str, int], bounce: int) -> None:
    """A minute whose sends bounce more: fewer of them are delivered (delivered + bounces = sent)."""
    row["bounce"], row["delivered"] = bounce, row["sent"] - bounce


def test_a_bounce_spike_fires_and_resolves_after_a_full_window():
    series = steady(range(0, 60))
    bad_minute(series[minute(30)], 40)  # one bad minute: 40% bounces
    r = rule()
    got = run(r, series, 10, 59)
    # the spike minute (30) is in the windows ending at 31..35: it fires at 31;
    # the value is back under the threshold from 36 on, a full window later (40) it resolves
    assert got == [(31, "firing"), (40, "ok")]
    assert got == brute_run(r, series, 10, 59)
    assert evaluate(r, series, minute(31), False).reading.value == pytest.approx(48 / 500)
    assert evaluate(r, series, minute(31), False).reading.volume == 500


def test_resolution_waits_for_a_full_window_not_one_good_minute():
    series = steady(range(0, 60))
    for m in (30, 37):  # a second spike while firing restarts the wait
        bad_minute(series[minute(m)], 40)
    r = rule()
    got = run(r, series, 10, 59)
    assert got == brute_run(r, series, 10, 59) == [(31, "firing"), (47, "ok")]


def test_min_volume_suppresses_noise():
    series = steady(range(0, 30), sent=4, bounce=0)
    bad_minute(series[minute(20)], 2)  # 2 of 20 in the window = 10%, on tiny volume
    assert run(rule(min_volume=100), series, 5, 29) == []
    assert run(rule(min_volume=0), series, 5, 29) == brute_run(rule(min_volume=0), series, 5, 29) != []


def test_silence_fires_only_after_a_sending_campaign_goes_quiet():
    series = steady(range(0, 20), sent=20)
    r = rule(metric="silence", op=None, threshold=None, window_minutes=5)
    got = run(r, series, 1, 40)
    # last events in minute 19: windows ending at 20..24 contain it, 25 is the first empty one
    assert got == [(25, "firing")] == brute_run(r, series, 1, 40)
    assert evaluate(r, series, minute(25), False).reading.value == 0
    # a campaign that never sent stays quiet
    assert run(r, {}, 1, 40) == []
    # sending again: resolves once a full window of windows has events again
    series.update(steady(range(50, 70), sent=20))
    got = run(r, series, 1, 69)
    assert got == brute_run(r, series, 1, 69) == [(25, "firing"), (55, "ok")]


def test_random_series_match_the_brute_force():
    rnd = random.Random(13)
    for trial in range(30):
        series = {}
        for m in range(0, 90):
            if rnd.random() < 0.15:
                continue  # quiet minutes
            sent = rnd.randint(0, 30)
            series[minute(m)] = {"sent": sent, "bounce": rnd.randint(0, max(1, sent // (2 if rnd.random() < 0.1 else 10)))}
        r = rule(window_minutes=rnd.choice([5, 7, 10]), threshold=rnd.choice([0.05, 0.1, 0.2]),
                 min_volume=rnd.choice([0, 20, 60]))
        assert run(r, series, 20, 89) == brute_run(r, series, 20, 89), trial


def test_count_rules_and_below_thresholds():
    series = steady(range(0, 30), sent=50)
    for m in range(20, 30):
        series[minute(m)]["sent"] = 1  # the send slows down
    r = rule(metric="sent", op="<", threshold=100, min_volume=10)
    got = run(r, series, 5, 29)
    assert got and got[0][1] == "firing"
    v = evaluate(r, series, minute(29), True)
    assert v.reading.value == 5 and not v.resolve


def test_minute_series_ignores_dimensions_and_other_attributes():
    items = [{"pk": "acme#C#c1#email", "sk": "M#202611260601#_", "sent": 3, "bt|b|hard": 2, "bounce": 2,
              "expires_at": 123},
             {"pk": "acme#C#c1#email", "sk": "M#202611260601#run2", "sent": 1},
             {"pk": "acme#C#c1#email", "sk": "H#2026112606#_", "sent": 100}]
    from datetime import datetime, timezone
    t = int(datetime(2026, 11, 26, 6, 1, tzinfo=timezone.utc).timestamp())
    assert minute_series(items, t - 60, t + 60) == {t: {"sent": 4, "bounce": 2}}


def test_a_source_that_reports_no_sends_still_has_a_bounce_rate():
    """SES identity notifications carry deliveries and bounces only: they are the sends."""
    series = {minute(m): {"delivered": 90, "bounce": 10} for m in range(0, 30)}
    r = rule(threshold=0.05)
    v = evaluate(r, series, minute(20), False)
    assert v.reading.value == pytest.approx(0.1) and v.reading.volume == 500  # 5 minutes x 100 messages
    assert run(r, series, 5, 29)[0][1] == "firing"

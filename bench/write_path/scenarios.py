"""The write-path benchmark's traffic: which requests each point of the cost curve posts.

Owns the scenarios (issue 20 §1), all generated from `infra/local/traffic.py`'s
funnels with fixed seeds, so the new design, the previous design (58732dc, in a
subprocess) and the naive baseline meet exactly the same events:

- `single-<r>`: one-event requests at r requests/s (1, 5, 20, 50, 200, 1,000),
  evenly spaced, each event stamped 0.2 s before its request;
- `batch-minute`: 1,000-event requests one a minute, after warm-up minutes of the
  same traffic (mature sketches: the hour's sketches already hold tens of
  thousands of profiles when measuring starts);
- `batch-second`: 1,000-event requests one a second;
- `mix`: one campaign's send (1,000-event requests, two a second: a hot
  campaign, salted over shards) plus one-event receipts trickling on ten other
  campaigns (one request/s each).

Every scenario is preceded by an unpriced warm-up and followed by an unpriced
fill of the rest of the hour (see `harness.measure`).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from harness import Scenario

from infra.local.traffic import DEMO_CAMPAIGNS, Campaign, TrafficGenerator

HOUR_START = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc).timestamp()
HOUR_END = HOUR_START + 3600
#: one-event request rates of the curve (requests/s) and their measured seconds (quick, full)
SINGLE_RATES = (1, 5, 20, 50, 200, 1000)
#: Whole minutes where the minute's own writes (a new minute item and its mark, the schedule's run)
#: weigh on the figure: a shorter window that holds a minute boundary over-counts them.
SINGLE_SECONDS = {1: (120, 600), 5: (60, 300), 20: (60, 180), 50: (16, 120), 200: (5, 60), 1000: (1, 20)}
CAMPAIGNS = DEMO_CAMPAIGNS[:5]  # the demo's steady campaigns (the spiky one sends 2,000 at once)
#: events/s of the unpriced rest of the hour (quick: none, the hour roll sees the measured minutes only,
#: which under-prices it by at most a few hundredths of a WRU per event at 1 request/s)
FILL_EPS = (0.0, 20.0)


def _events(gen: TrafficGenerator, count: int, start: float, end: float,
            campaigns: tuple[Campaign, ...] = CAMPAIGNS) -> list[dict]:
    evs = list(gen.events(count, _dt(start), _dt(end), campaigns))[:count]
    return sorted(evs, key=lambda e: e["timestamp"])


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _stamped(ev: dict, at: float) -> dict:
    return {**ev, "timestamp": _dt(at).isoformat()}


def _one_event_requests(gen: TrafficGenerator, rate: float, start: float, seconds: float,
                        campaigns: tuple[Campaign, ...] = CAMPAIGNS) -> list[tuple[float, list[dict]]]:
    n = max(1, int(rate * seconds))
    evs = _events(gen, n, start, start + seconds, campaigns)
    return [(start + i / rate + 0.2, [_stamped(ev, start + i / rate)]) for i, ev in enumerate(evs)]


def _fill(gen: TrafficGenerator, start: float, eps: float, campaigns: tuple[Campaign, ...] = CAMPAIGNS,
          step: int = 300) -> list[tuple[float, list[dict]]]:
    """The rest of the hour in 5-minute chunks of `eps` events/s (unpriced; for the hour roll)."""
    out: list[tuple[float, list[dict]]] = []
    if eps <= 0:
        return out
    t = (start // 60 + 1) * 60
    while t < HOUR_END:
        end = min(t + step, HOUR_END)
        evs = _events(gen, int(eps * (end - t)), t, end, campaigns)
        for i in range(0, len(evs), 5000):
            out.append((end, evs[i:i + 5000]))
        t = end
    return out


def _warm(gen: TrafficGenerator, start: float, campaigns: tuple[Campaign, ...] = CAMPAIGNS) -> list[tuple[float, list[dict]]]:
    """A 1,500-event request two minutes before (the cardinality guard admits the campaigns' values;
    under the hot-campaign threshold), then a few one-event requests just before `start`."""
    big = _events(gen, 1500, start - 180, start - 120, campaigns)
    return [(start - 119.5, big)] + _one_event_requests(gen, 1, start - 10, 8, campaigns)


def _start(seconds: float) -> float:
    """A measured window that holds a run of the minute's schedule (at a minute + 1 s), however short."""
    return HOUR_START + 6 * 60 - min(seconds, 60) / 2


def single(rate: int, quick: bool, seed: int = 11) -> Scenario:
    gen = TrafficGenerator(seed=seed, profiles=200_000, prefix=f"s{rate}")
    seconds = SINGLE_SECONDS[rate][0 if quick else 1]
    start = _start(seconds)
    warm = _warm(gen, start)
    requests = _one_event_requests(gen, rate, start, seconds)
    end = start + seconds
    return Scenario(f"single-{rate}", f"one-event requests, {rate:,}/s", rate, rate, warm, requests, start, end,
                    HOUR_END, fill_eps=min(rate, FILL_EPS[0 if quick else 1]),
                    fill=_fill(gen, end, min(rate, FILL_EPS[0 if quick else 1])))


def batch_minute(quick: bool, seed: int = 2) -> Scenario:
    """1,000-event requests once a minute, each carrying the producer's previous minute."""
    gen = TrafficGenerator(seed=seed, profiles=200_000, prefix="bm")
    warm_minutes, minutes = (5, 8) if quick else (30, 20)
    first = HOUR_START + (warm_minutes + 2) * 60
    warm = [(first - (warm_minutes - i) * 60 + 0.5, _events(gen, 1000, first - (warm_minutes - i + 1) * 60,
                                                                first - (warm_minutes - i) * 60))
            for i in range(warm_minutes)]
    requests = [(first + i * 60 + 0.5, _events(gen, 1000, first + (i - 1) * 60, first + i * 60)) for i in range(minutes)]
    end = first + minutes * 60
    return Scenario("batch-minute", "1,000-event requests, one a minute (mature)", 1 / 60, 1000 / 60, warm, requests,
                    first, end, HOUR_END, fill_eps=0 if quick else 1000 / 60, fill=_fill(gen, end, 0 if quick else 1000 / 60))


def batch_second(quick: bool, seed: int = 3) -> Scenario:
    gen = TrafficGenerator(seed=seed, profiles=200_000, prefix="bs")
    seconds = 10 if quick else 60
    start = _start(seconds)
    warm = _warm(gen, start)
    requests = [(start + i + 0.5, _events(gen, 1000, start + i - 1, start + i)) for i in range(seconds)]
    eps_fill = FILL_EPS[0 if quick else 1]
    return Scenario("batch-second", "1,000-event requests, one a second", 1, 1000, warm, requests, start,
                    start + seconds, HOUR_END, fill_eps=eps_fill, fill=_fill(gen, start + seconds, eps_fill))


SEND = Campaign("spring-send", ("email",))
RECEIPTS = tuple(Campaign(f"receipts-{i}", ("email",)) for i in range(10))


def mix(quick: bool, seed: int = 5) -> Scenario:
    """One campaign's send (two 1,000-event requests a second) + receipts on ten others (1 request/s each)."""
    gen = TrafficGenerator(seed=seed, profiles=200_000, prefix="mx")
    seconds = 10 if quick else 90
    start = _start(seconds)
    warm = _warm(gen, start, (SEND,) + RECEIPTS)
    send = [(start + i / 2 + 0.4, _events(gen, 1000, start + i / 2 - 0.5, start + i / 2, (SEND,)))
            for i in range(seconds * 2)]
    trickle = _one_event_requests(gen, 10, start, seconds, RECEIPTS)
    requests = sorted(send + trickle, key=lambda r: r[0])
    eps_fill = FILL_EPS[0 if quick else 1]
    return Scenario("mix", "mix: a send (2,000 events/s) + receipts on 10 campaigns (10 requests/s)",
                    len(requests) / seconds, sum(len(e) for _, e in requests) / seconds, warm, requests, start,
                    start + seconds, HOUR_END, fill_eps=eps_fill,
                    fill=_fill(gen, start + seconds, eps_fill, (SEND,) + RECEIPTS))


def all_scenarios(quick: bool, only: set[str] | None = None) -> list[Scenario]:
    out = [single(r, quick) for r in SINGLE_RATES] + [batch_minute(quick), batch_second(quick), mix(quick)]
    return [s for s in out if only is None or s.key in only]

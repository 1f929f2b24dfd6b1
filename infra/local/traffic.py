"""Realistic event traffic: used by the demo, the benchmarks and the tests.

Each simulated profile walks a channel's funnel (targeted → excluded or
sent → delivered/bounce/error → open → click → unsubscribe...), so the mix
of types, reasons and domains looks like a real sending platform's.

`ExperimentTraffic` (end of the file) adds the demo's experiments: a
subject-line test with a real effect, an A/A test and conversions in EUR
credited by assignment (docs/experiments.md).
"""
from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

DOMAINS = ["gmail.com", "yahoo.fr", "orange.fr", "outlook.com", "free.fr", "hotmail.com", "laposte.net",
           "icloud.com", "sfr.fr", "proton.me"]


@dataclass(frozen=True)
class ChannelReasons:
    """What a sending platform says when a message of this channel does not get through.

    `bounces` per bounce type (hard, soft, ignored; empty for channels without
    bounces), `errors` as (error_type, reason) with error_type one of the
    catalogue's ERROR_TYPES or None (the platform gives no category),
    `exclusions` the reasons a profile is left out before sending."""

    bounces: dict[str, tuple[str, ...]]
    errors: tuple[tuple[str | None, str], ...]
    exclusions: tuple[str, ...]


#: Per channel, in the words of the platforms that send it: SMTP replies for
#: email, FCM/APNs error names for push, SMS gateway (carrier) statuses, postal
#: returns for direct mail. Add a channel or a reason here.
REASONS = {
    "email": ChannelReasons(
        bounces={"hard": ("550 5.1.1 user unknown", "550 5.4.1 recipient address rejected",
                          "550 5.1.2 invalid domain"),
                 "soft": ("452 4.2.2 mailbox full", "421 4.7.0 try again later", "connection timed out"),
                 "ignored": ("451 4.7.1 greylisted", "auto-reply")},
        errors=(("user_unknown", "Unknown user"), ("invalid_domain", "Invalid domain"),
                ("mailbox_full", "Mailbox full"), ("refused", "Refused by provider"), ("unreachable", "Unreachable"),
                ("account_disabled", "Account disabled")),
        exclusions=("Address on denylist", "Duplicate address", "Quarantined address",
                    "Typology rule: frequency cap", "Missing consent")),
    "push": ChannelReasons(
        bounces={"hard": ("Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"),
                 "soft": ("Unavailable", "DeviceMessageRateExceeded", "TooManyProviderTokenUpdates"),
                 "ignored": ("Expired before delivery (TTL)", "Collapsed by a newer notification")},
        errors=(("user_unknown", "InvalidRegistration"), ("account_disabled", "Unregistered"),
                ("refused", "MismatchSenderId"), ("not_connected", "Device not connected"),
                ("unreachable", "Unavailable")),
        exclusions=("No push token", "Push notifications turned off", "Typology rule: frequency cap",
                    "Duplicate device", "Missing consent")),
    "sms": ChannelReasons(
        bounces={"hard": ("Unknown destination handset", "Landline or unreachable carrier",
                          "Number no longer in service"),
                 "soft": ("Unreachable destination handset", "Carrier network congestion",
                          "Handset memory full"),
                 "ignored": ("Carrier violation", "Duplicate message suppressed")},
        errors=(("user_unknown", "Unknown destination handset"), ("invalid_domain", "Invalid number format"),
                ("refused", "Carrier violation"), ("unreachable", "Landline or unreachable carrier"),
                ("not_connected", "Handset switched off"), ("account_disabled", "Number opted out at the carrier")),
        exclusions=("No mobile number", "STOP received (opt-out)", "Quiet hours", "Typology rule: frequency cap",
                    "Missing consent")),
    "directmail": ChannelReasons(
        bounces={},
        errors=((None, "Address incomplete"), ("unreachable", "Undeliverable as addressed"),
                ("user_unknown", "Moved, left no address"), ("user_unknown", "Addressee unknown"),
                ("refused", "Refused by addressee"), (None, "Insufficient postage")),
        exclusions=("No postal address", "Address on the Robinson list", "Duplicate household",
                    "Outside the delivery area", "Missing consent")),
}
#: Bounce types drawn in this proportion (hard : soft : ignored).
BOUNCE_WEIGHTS = {"hard": 5, "soft": 4, "ignored": 1}
URLS = ["https://shop.example.com/black-friday", "https://shop.example.com/new", "https://shop.example.com/sale?cat=shoes",
        "https://blog.example.com/guide", "https://shop.example.com/account", "https://example.com/stores"]
PLATFORMS = ["ios", "android", "web"]
PUSH_ACTIONS = ["open_app", "view_offer", "dismiss", "snooze"]
ELEMENTS = ["hero-banner", "cta-button", "carousel", "footer-link"]
OFFERS = ["offer-10pct", "offer-free-shipping", "offer-gift"]


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    channels: tuple[str, ...]
    executions: tuple[str, ...] = ()
    #: bounce probability during the spike minutes (8-10 of every 20): a bad list now and then
    spike_bounce: float = 0.0
    #: a recurring send: every `cycle_minutes` a new execution targets `planned` profiles up front,
    #: then sends to them progressively (the progress widget's ETA moves)
    cycle_minutes: int = 0
    planned: int = 0


#: The alert demo (issue 13): its bounce rate spikes for 3 minutes every 20.
SPIKY = Campaign("flash-sale", ("email",), spike_bounce=0.45, cycle_minutes=20, planned=2000)


DEMO_CAMPAIGNS = (
    Campaign("black-friday-2026", ("email", "push", "sms")),
    Campaign("welcome-series", ("email",), ("2026-11-22T08:00", "2026-11-22T12:00", "2026-11-22T16:00")),
    Campaign("app-onboarding", ("inapp", "push")),
    Campaign("homepage-hero", ("web",)),
    Campaign("catalogue-winter", ("directmail",)),
    SPIKY,
)


class TrafficGenerator:
    def __init__(self, seed: int = 7, profiles: int = 5000, prefix: str = "ev") -> None:
        self.rng = random.Random(seed)
        self.profiles = profiles
        self.ids = itertools.count()
        self.prefix = prefix
        self.to_send: dict[str, int] = {}  # execution of a live cycle -> profiles still to process

    def _event(self, campaign: Campaign, channel: str, etype: str, ts: datetime, profile: str,
               execution: str | None, **extra: object) -> dict:
        ev = {"event_id": f"{self.prefix}-{next(self.ids)}", "timestamp": ts.isoformat(),
              "campaign_id": campaign.campaign_id, "channel": channel, "type": etype, "profile_id": profile}
        if execution:
            ev["execution_id"] = execution
        ev.update(extra)
        return ev

    def journey(self, campaign: Campaign, channel: str, ts: datetime, execution: str | None = None,
                targeted: bool = True) -> list[dict]:
        """All events of one profile's pass through a channel's funnel."""
        r = self.rng
        profile = f"p{r.randrange(self.profiles)}"
        if execution is None:
            execution = r.choice(campaign.executions) if campaign.executions else None
        e = lambda t, **x: self._event(campaign, channel, t, ts, profile, execution, **x)  # noqa: E731
        domain = r.choice(DOMAINS) if channel == "email" else None
        platform = r.choice(PLATFORMS) if channel in ("push", "inapp") else None
        common = {k: v for k, v in (("recipient_domain", domain), ("platform", platform)) if v}
        out = [e("targeted", **common)] if targeted else []
        if channel in ("inapp", "web"):
            out.append(e("impression", **common))
            if r.random() < 0.35:
                extra = {"interaction_type": r.choice(["click", "click", "dismiss", "other"])} if channel == "inapp" \
                    else {"element": r.choice(ELEMENTS)}
                out.append(e("interaction", **common, **extra))
            return out
        reasons = REASONS[channel]
        if r.random() < 0.04:
            return out + [e("excluded", reason=r.choice(reasons.exclusions), **common)]
        if channel == "email" and r.random() < 0.05:
            out.append(e("action_executed"))
        if r.random() < 0.02:
            error_type, reason = r.choice(reasons.errors)
            typed = {"error_type": error_type} if error_type else {}
            return out + [e("error", reason=reason, **typed, **common)]
        out.append(e("sent", **common))
        if channel == "directmail":
            return out
        spiking = campaign.spike_bounce and 8 <= ts.minute % 20 < 11
        if reasons.bounces and r.random() < (campaign.spike_bounce if spiking else 0.04):
            kind = r.choices(list(BOUNCE_WEIGHTS), list(BOUNCE_WEIGHTS.values()))[0]
            out.append(e("bounce", bounce_type=kind, reason=r.choice(reasons.bounces[kind]), **common))
            if kind == "hard":
                out.append(e("quarantine", **common))
            return out
        if channel == "email" and r.random() < 0.03:
            out.append(e("retry", **common))
        out.append(e("delivered", **common))
        if channel == "email" and r.random() < 0.3:
            for sent_offer in r.sample(OFFERS, 1):
                out.append(e("offer_sent", offer_id=sent_offer))
        if channel in ("email", "push") and r.random() < 0.35:
            out.append(e("open", machine=r.random() < 0.2, **common))
            if channel == "push" and r.random() < 0.5:
                out.append(e("action", action=r.choice(PUSH_ACTIONS), **common))
            if channel == "email" and r.random() < 0.05:
                out.append(e("mirror_page"))
            if channel == "email" and r.random() < 0.1:
                out.append(e("offer_impression", offer_id=r.choice(OFFERS)))
            if r.random() < 0.25:
                out.append(e("click", url=r.choice(URLS), **common))
                if channel == "email" and r.random() < 0.2:
                    out.append(e("offer_click", offer_id=r.choice(OFFERS)))
        elif channel == "sms" and r.random() < 0.1:
            out.append(e("click", url=r.choice(URLS)))
        if channel in ("email", "sms") and r.random() < 0.01:
            out.append(e("unsubscribe", **common))
        if channel == "email" and r.random() < 0.003:
            out.append(e("spam_complaint", **common))
        if channel == "email" and r.random() < 0.01:
            out.append(e("forward"))
        return out

    def events(self, count: int, start: datetime, end: datetime,
               campaigns: tuple[Campaign, ...] = DEMO_CAMPAIGNS) -> Iterator[dict]:
        """About `count` events with timestamps spread over [start, end)."""
        span = (end - start).total_seconds()
        produced = idle = 0
        while produced < count and idle < 1000:  # recurring sends with nothing left to send yield nothing
            campaign = self.rng.choice(campaigns)
            channel = self.rng.choice(campaign.channels)
            ts = datetime.fromtimestamp(start.timestamp() + self.rng.random() * span, tz=timezone.utc)
            if campaign.cycle_minutes:
                journey = self._cycle_journey(campaign, channel, ts, end)
                idle = 0 if journey else idle + 1
                for ev in journey:
                    produced += 1
                    yield ev
                continue
            for ev in self.journey(campaign, channel, ts):
                produced += 1
                yield ev

    def _cycle_journey(self, campaign: Campaign, channel: str, ts: datetime, end: datetime) -> list[dict]:
        """A recurring send: the cycle still running at `end` targets its whole audience at its
        start and then sends until none is left; older cycles (a backfill), and one joined in
        its last three quarters, look finished (targeted as they are sent).

        A planned run is never targeted again: a batch that straddles the end of its cycle
        (events just before the boundary) or a run still sending when its cycle is over sends
        to what is left of its audience, so a run of `planned` targets stays at `planned`
        (it read 2,001 when those events took the unplanned path and targeted once more)."""
        size = campaign.cycle_minutes * 60
        cycle = int(ts.timestamp()) - int(ts.timestamp()) % size
        key = f"{campaign.campaign_id}@{cycle}"  # not the id alone: ids (HHMM) repeat every day
        execution = f"{campaign.campaign_id}-{datetime.fromtimestamp(cycle, timezone.utc):%H%M}"
        unfinished = next((k for k, left in self.to_send.items() if left > 0 and k.startswith(f"{campaign.campaign_id}@")
                           and int(k.rsplit("@", 1)[1]) <= cycle), None)
        if unfinished is not None and unfinished != key:  # an earlier run still sending: it goes first
            key, cycle = unfinished, int(unfinished.rsplit("@", 1)[1])
            execution = f"{campaign.campaign_id}-{datetime.fromtimestamp(cycle, timezone.utc):%H%M}"
        if key in self.to_send:  # a planned run: only what is left of its audience
            if self.to_send[key] <= 0:
                return []
            self.to_send[key] -= 1
            return self.journey(campaign, channel, ts, execution, targeted=False)
        if cycle + size <= end.timestamp() or end.timestamp() - cycle > size // 4:
            return self.journey(campaign, channel, ts, execution)  # past, or joined too late: no plan to track
        self.to_send[key] = campaign.planned - 1
        at = datetime.fromtimestamp(min(cycle + 1, ts.timestamp()), timezone.utc)
        out = [self._event(campaign, channel, "targeted", at, f"p{self.rng.randrange(self.profiles)}", execution)
               for _ in range(campaign.planned)]
        return out + self.journey(campaign, channel, ts, execution, targeted=False)


# --- experiments (issue 18): a subject-line test with a real effect, an A/A test, conversions ---------------

@dataclass(frozen=True)
class VariantRates:
    """One variant of a demo experiment and its true rates, per person sent."""

    variant: str
    open_rate: float
    click_rate: float  # a click implies an open: click_rate <= open_rate


@dataclass(frozen=True)
class ExperimentPlan:
    """A one-off send split between variants: `profiles` distinct people (stable ids
    `<prefix>-00042`), each assigned by hashing their id, sent progressively during
    `send_minutes` from the experiment's start; opens, clicks and conversions follow."""

    campaign_id: str
    channel: str
    arms: tuple[VariantRates, ...]
    profiles: int
    prefix: str
    send_minutes: int = 30
    #: share of clickers who buy (value in EUR), and of openers who buy without clicking
    convert_after_click: float = 0.0
    convert_after_open: float = 0.0


#: A subject line that makes people open and click more: B wins (8 % vs 12 % unique clicks).
SUBJECT_LINE_TEST = ExperimentPlan(
    "newsletter-subject-test", "email", (VariantRates("A", 0.30, 0.08), VariantRates("B", 0.38, 0.12)), profiles=5000,
    prefix="sub", convert_after_click=0.3, convert_after_open=0.02)
#: Two identical notifications: no winner, whatever the page says minute after minute.
AA_TEST = ExperimentPlan(
    "push-aa-test", "push", (VariantRates("A1", 0.25, 0.10), VariantRates("A2", 0.25, 0.10)), profiles=3000, prefix="aa")
DEMO_EXPERIMENTS = (SUBJECT_LINE_TEST, AA_TEST)

BUCKETS = 10_000
CURRENCY = "EUR"


def assign(profile: str, arms: tuple[VariantRates, ...], salt: str) -> VariantRates:
    """The arm a profile receives: its id hashed into 10,000 buckets split evenly, as sending
    platforms assign (stable: the same person always gets the same variant)."""
    bucket = int.from_bytes(hashlib.sha256(f"{salt}:{profile}".encode()).digest()[:8], "big") % BUCKETS
    return arms[bucket * len(arms) // BUCKETS]


class ExperimentTraffic:
    """The demo's experiments: every profile's events are planned up front from a seeded
    RNG (timestamps relative to `start`) and handed out as the clock passes them, so the
    report moves from "no winner yet" to a winner on the subject-line test while the
    A/A test stays without one. Half the conversions carry no variant: the aggregator
    credits them to the variant the profile received (attribution window)."""

    def __init__(self, start: datetime, seed: int = 7, plans: tuple[ExperimentPlan, ...] = DEMO_EXPERIMENTS,
                 prefix: str = "xp") -> None:
        rng = random.Random(seed)
        planned: list[tuple[float, int, dict]] = []
        ids = itertools.count()
        for plan in plans:
            for i in range(plan.profiles):
                for at, event in self._profile(rng, plan, f"{plan.prefix}-{i:05d}", start.timestamp()):
                    n = next(ids)
                    planned.append((at, n, {"event_id": f"{prefix}-{n}", **event,
                                            "timestamp": datetime.fromtimestamp(at, timezone.utc).isoformat()}))
        planned.sort(key=lambda p: (p[0], p[1]))
        self.planned = [event for _, _, event in planned]
        self._times = [at for at, _, _ in planned]
        self._next = 0

    @staticmethod
    def _profile(rng: random.Random, plan: ExperimentPlan, profile: str, start: float) -> list[tuple[float, dict]]:
        arm = assign(profile, plan.arms, plan.campaign_id)
        base = {"campaign_id": plan.campaign_id, "channel": plan.channel, "profile_id": profile}
        tagged = {**base, "variant": arm.variant}
        if plan.channel == "email":
            tagged["recipient_domain"] = rng.choice(DOMAINS)
        elif plan.channel in ("push", "inapp"):
            tagged["platform"] = rng.choice(PLATFORMS)
        sent = start + rng.random() * plan.send_minutes * 60
        out = [(sent, {**tagged, "type": "sent"})]
        if rng.random() < 0.02:  # a bounce: still one of the variant's people, who never opens
            kind = "hard" if rng.random() < 0.6 else "soft"
            reason = REASONS[plan.channel].bounces[kind][0]
            return out + [(sent + 5, {**tagged, "type": "bounce", "bounce_type": kind, "reason": reason})]
        out.append((sent + rng.uniform(1, 20), {**tagged, "type": "delivered"}))
        u = rng.random()  # one draw decides open and click, so a click always comes with an open
        if u >= arm.open_rate:
            return out
        opened = sent + 20 + rng.expovariate(1 / 240)
        out.append((opened, {**tagged, "type": "open", "machine": False}))
        buy_rate = plan.convert_after_open
        last = opened
        if u < arm.click_rate:
            last = opened + rng.expovariate(1 / 90)
            out.append((last, {**tagged, "type": "click", "url": rng.choice(URLS)}))
            buy_rate = plan.convert_after_click
        if rng.random() < buy_rate:
            value = round(min(900.0, rng.lognormvariate(3.6, 0.6)), 2)  # about 37 EUR, a long tail
            conversion = {**(tagged if rng.random() < 0.5 else base), "type": "conversion",
                          "value": value, "currency": CURRENCY}
            out.append((last + rng.expovariate(1 / 360), conversion))
        return out

    def due(self, now: datetime) -> list[dict]:
        """The planned events whose time has come (timestamp <= now) and were not handed out yet."""
        end = bisect.bisect_right(self._times, now.timestamp(), lo=self._next)
        out = self.planned[self._next:end]
        self._next = end
        return out

    @property
    def finished(self) -> bool:
        return self._next >= len(self.planned)

"""The SPEC in code: channels, event types, dimensions and derived rates.

Everything else (validation, aggregation, reports, the web page, the emails)
reads this module, so adding a metric is one edit here (and its definition in
catalogue_definitions.py). It is long because it is the whole SPEC's vocabulary,
in one place by design.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# The EN/FR definitions are prose: a module of their own, part of the catalogue.
from .catalogue_definitions import DEFINITIONS, definitions  # noqa: F401  (re-exported)

CHANNELS: tuple[str, ...] = ("email", "push", "sms", "inapp", "web", "directmail")
ALL = frozenset(CHANNELS)


@dataclass(frozen=True)
class EventType:
    name: str
    en: str
    fr: str
    channels: frozenset[str]


def _t(name: str, en: str, fr: str, channels: frozenset[str] | tuple[str, ...] = ALL) -> EventType:
    return EventType(name, en, fr, frozenset(channels))


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        _t("targeted", "Targeted", "Ciblés"),
        _t("excluded", "Excluded", "Exclus"),
        _t("sent", "Sent", "Envoyés"),
        _t("delivered", "Delivered", "Délivrés", ("email", "push", "sms")),
        _t("bounce", "Bounces", "Rebonds", ("email", "push", "sms")),
        _t("error", "Errors", "Erreurs"),
        _t("retry", "Retries", "Reprises", ("email",)),
        _t("quarantine", "New quarantines", "Nouvelles quarantaines", ("email", "sms", "push")),
        _t("open", "Opens", "Ouvertures", ("email", "push")),
        _t("click", "Clicks", "Clics", ("email", "sms", "push")),
        _t("unsubscribe", "Unsubscribes", "Désabonnements", ("email", "sms")),
        _t("spam_complaint", "Spam complaints", "Plaintes contre le spam", ("email",)),
        _t("mirror_page", "Mirror page", "Page miroir", ("email",)),
        _t("forward", "Forwards", "Transférer", ("email",)),
        _t("action", "Actions", "Actions", ("push",)),
        _t("impression", "Impressions", "Impressions", ("inapp", "web")),
        _t("interaction", "Interactions", "Interactions", ("inapp", "web")),
        _t("offer_sent", "Offers sent", "Offres envoyées", ("email",)),
        _t("offer_impression", "Offer impressions", "Impressions d'offres", ("email",)),
        _t("offer_click", "Offer clicks", "Clics sur les offres", ("email",)),
        _t("action_executed", "Actions executed", "Actions réalisées"),
        _t("conversion", "Conversions", "Conversions"),
    )
}

# Counters that are not event types but are counted at ingest.
EXTRA_COUNTERS: dict[str, tuple[str, str]] = {
    "open_machine": ("Machine opens", "Ouvertures machine"),
}
#: Labels of read-time figures that are neither events nor counters.
FIGURE_LABELS: dict[str, tuple[str, str]] = {
    "open_all": ("Distinct opens incl. machine opens", "Ouvertures distinctes, ouvertures machine comprises"),
    "revenue": ("Revenue", "Chiffre d'affaires"),
    "revenue_per_recipient": ("Revenue per recipient", "Chiffre d'affaires par destinataire"),
    "variant": ("Variant", "Variante"),
    "people": ("People", "Personnes"),
    "successes": ("Successes", "Succès"),
    "lift": ("Lift", "Gain"),
    "confidence": ("Confidence", "Confiance"),
    "lower": ("Lower bound", "Borne inférieure"),
    "upper": ("Upper bound", "Borne supérieure"),
    "contaminated_profiles": ("Profiles seen in two variants", "Profils vus dans deux variantes"),
    "sample_ratio": ("Sample ratio", "Répartition des personnes"),
    "engaged": ("Distinct openers or clickers", "Ouvreurs ou cliqueurs distincts"),
    "engaged_all": ("Distinct openers or clickers incl. machine opens",
                    "Ouvreurs ou cliqueurs distincts, machine comprises"),
    "inferred_sent": ("Inferred sends", "Envois déduits"),
    "inferred_delivered": ("Inferred deliveries", "Délivrances déduites"),
}

#: Revenue (the `value` of conversions) is counted in integer units of 1/10,000 of the
#: campaign's currency, so sums stay exact in DynamoDB and in the rollup's integer
#: counters; reports show currency units. One currency per campaign (ingest checks it).
REVENUE_COUNTER = "revenue"
REVENUE_SCALE = 10_000


def revenue_units(value: float) -> int:
    return int(round(float(value) * REVENUE_SCALE))


@dataclass(frozen=True)
class ExperimentMetric:
    """A success metric of the Experimentation tab: per person, a 0/1 "did it at least
    once" (`unique`) or the sum of its conversions' values (`value`)."""

    name: str
    code: str  # attribute code in experiment counter items: "<variant>|<code>"
    event: str
    en: str
    fr: str
    channels: frozenset[str]
    higher_is_better: bool = True
    kind: str = "unique"


EXPERIMENT_METRICS: dict[str, ExperimentMetric] = {m.name: m for m in (
    ExperimentMetric("unique_opens", "o", "open", "Unique opens", "Ouvertures uniques", frozenset({"email", "push"})),
    ExperimentMetric("unique_clicks", "c", "click", "Unique clicks", "Clics uniques",
                     frozenset({"email", "sms", "push"})),
    ExperimentMetric("unique_interactions", "ia", "interaction", "Unique interactions", "Interactions uniques",
                     frozenset({"inapp", "web"})),
    ExperimentMetric("conversions", "k", "conversion", "Conversions", "Conversions", ALL),
    ExperimentMetric("revenue", "r", "conversion", "Revenue", "Chiffre d'affaires", ALL, kind="value"),
    ExperimentMetric("unsubscribes", "u", "unsubscribe", "Unsubscribes", "Désabonnements",
                     frozenset({"email", "sms"}), higher_is_better=False),
    ExperimentMetric("complaints", "sc", "spam_complaint", "Spam complaints", "Plaintes pour spam",
                     frozenset({"email"}), higher_is_better=False),
)}
#: The event that assigns a profile to a variant (the people of an experiment).
ASSIGNMENT_EVENT = {"email": "sent", "push": "sent", "sms": "sent", "directmail": "sent",
                    "inapp": "impression", "web": "impression"}
DEFAULT_EXPERIMENT_METRIC = {"email": "unique_clicks", "push": "unique_clicks", "sms": "unique_clicks",
                             "inapp": "unique_interactions", "web": "unique_interactions",
                             "directmail": "conversions"}


def experiment_metrics_for(channel: str) -> list[str]:
    return [m.name for m in EXPERIMENT_METRICS.values() if channel in m.channels]


# Metrics derived from totals at read time (never stored).
DERIVED_TOTALS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "engagements": (("open", "action"), "Engagements", "Engagements"),
}
DERIVED_FOR_CHANNEL: dict[str, tuple[str, ...]] = {"push": ("engagements",)}


def metrics_for(channel: str) -> list[str]:
    """Canonical metric names of a channel tab, in catalogue order."""
    names = [t.name for t in EVENT_TYPES.values() if channel in t.channels]
    if "open" in names:
        names.append("open_machine")
    names.extend(DERIVED_FOR_CHANNEL.get(channel, ()))
    return names


@dataclass(frozen=True)
class Dimension:
    """A producer-controlled breakdown, counted per value and per metric.

    ``cap`` bounds the distinct values admitted per campaign (the excess is
    folded into ``other``) so that no counter item can grow without bound.
    ``allowed`` restricts the value to a closed vocabulary when set.
    """

    name: str
    field: str
    metrics: frozenset[str]
    cap: int
    en: str
    fr: str
    allowed: frozenset[str] | None = None
    default: str | None = None  # value used when the field is missing
    channels: frozenset[str] = ALL
    primary: str | None = None  # the metric a row is ranked by; None: all its metrics


#: Bytes of attribute names one dimension may add to a counter item: a value costs its
#: length once per metric it breaks down, so its admitted values' total length is capped
#: at this ÷ its metrics (`Dimension.value_budget`). With at most a dozen dimensions an
#: item stays under ~300 KB whatever producers send (DynamoDB refuses 400 KB; DESIGN
#: invariant 4), and a long value costs its share: 253-character domains fill the budget
#: sooner than short ones, then count as "other".
DIMENSION_ITEM_BYTES = 20_000


def _value_budget(self: "Dimension") -> int:
    return DIMENSION_ITEM_BYTES // max(1, len(self.metrics))


Dimension.value_budget = property(_value_budget)  # type: ignore[attr-defined]

BOUNCE_TYPES = frozenset({"hard", "soft", "ignored"})
ERROR_TYPES: dict[str, tuple[str, str]] = {
    "user_unknown": ("User unknown", "Utilisateur inconnu"),
    "invalid_domain": ("Invalid domain", "Domaine invalide"),
    "mailbox_full": ("Mailbox full", "Boîte pleine"),
    "account_disabled": ("Account disabled", "Compte désactivé"),
    "refused": ("Refused", "Refusés"),
    "unreachable": ("Unreachable", "Inatteignable"),
    "not_connected": ("Not connected", "Non connecté"),
}
ERROR_TYPE_LABELS = {**ERROR_TYPES, "unspecified": ("Unspecified", "Non spécifié"), "other": ("Other", "Autre")}
INTERACTION_TYPES = frozenset({"click", "dismiss", "other"})
OTHER = "other"
UNSPECIFIED = "unspecified"

DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("bounce_type", "bounce_type", frozenset({"bounce"}), 3,
                  "Bounce categories", "Catégories de rebonds", allowed=BOUNCE_TYPES, primary="bounce"),
        Dimension("bounce_reason", "reason", frozenset({"bounce"}), 100,
                  "Bounce reasons", "Raisons des rebonds", default=UNSPECIFIED, primary="bounce"),
        Dimension("error_reason", "reason", frozenset({"error"}), 100,
                  "Error reasons", "Raisons des erreurs", default=UNSPECIFIED, primary="error"),
        Dimension("error_type", "error_type", frozenset({"error"}), len(ERROR_TYPES) + 1,
                  "Errors by type", "Erreurs par type", allowed=frozenset(ERROR_TYPES), primary="error",
                  default=UNSPECIFIED),
        Dimension("exclusion_reason", "reason", frozenset({"excluded"}), 100,
                  "Exclusion reasons", "Raisons des exclusions", default=UNSPECIFIED,
                  primary="excluded"),
        Dimension("recipient_domain", "recipient_domain",
                  frozenset({"sent", "delivered", "bounce", "error", "open", "click",
                             "spam_complaint", "unsubscribe"}), 100,
                  "Recipient domains", "Domaines des destinataires",
                  channels=frozenset({"email"}), primary="open"),
        Dimension("platform", "platform",
                  frozenset({"targeted", "excluded", "sent", "delivered", "bounce", "error",
                             "open", "action", "impression", "interaction"}), 20,
                  "Platforms", "Plateformes", channels=frozenset({"push", "inapp"})),
        Dimension("interaction_type", "interaction_type", frozenset({"interaction"}), 4,
                  "Interactions by type", "Interactions par type",
                  allowed=INTERACTION_TYPES, channels=frozenset({"inapp"}), primary="interaction"),
        Dimension("element", "element", frozenset({"interaction"}), 100,
                  "Interactions by element", "Interactions par élément",
                  channels=frozenset({"web"}), primary="interaction"),
        Dimension("url", "url", frozenset({"click"}), 200, "Links", "Liens", primary="click"),
        Dimension("offer", "offer_id",
                  frozenset({"offer_sent", "offer_impression", "offer_click"}), 100,
                  "Offers", "Offres", channels=frozenset({"email"})),
        Dimension("action", "action", frozenset({"action"}), 50,
                  "Push actions", "Actions push", channels=frozenset({"push"}), primary="action"),
    )
}

# Event type -> dimensions that break it down (precomputed for the hot path).
DIMENSIONS_BY_TYPE: dict[str, tuple[Dimension, ...]] = {
    name: tuple(d for d in DIMENSIONS.values() if name in d.metrics) for name in EVENT_TYPES
}


#: Short codes in counter attribute names (`<dimension>|<metric>|<value>`). An item
#: is billed by its whole size and these names repeat on every dimension value,
#: so short codes roughly halve the hour and day items. Stored items keep them:
#: never change or reuse a code.
DIMENSION_CODES: dict[str, str] = {
    "bounce_type": "bt", "bounce_reason": "br", "error_reason": "er", "error_type": "et",
    "exclusion_reason": "xr", "recipient_domain": "rd", "platform": "pf", "interaction_type": "it",
    "element": "el", "url": "u", "offer": "of", "action": "ac"}
METRIC_CODES: dict[str, str] = {
    "targeted": "tg", "excluded": "xc", "sent": "s", "delivered": "d", "bounce": "b", "error": "e",
    "retry": "rt", "quarantine": "q", "open": "o", "click": "c", "unsubscribe": "us", "spam_complaint": "sc",
    "mirror_page": "mp", "forward": "fw", "action": "a", "impression": "im", "interaction": "ia",
    "offer_sent": "os", "offer_impression": "oi", "offer_click": "oc", "action_executed": "ax",
    "conversion": "cv"}
DIMENSION_NAMES = {code: name for name, code in DIMENSION_CODES.items()}
METRIC_NAMES = {code: name for name, code in METRIC_CODES.items()}
assert set(DIMENSION_CODES) == set(DIMENSIONS) and len(DIMENSION_NAMES) == len(DIMENSION_CODES)
assert set(METRIC_CODES) == set(EVENT_TYPES) and len(METRIC_NAMES) == len(METRIC_CODES)


def dimensions_for(channel: str) -> list[str]:
    """Dimensions that can carry values on a channel tab."""
    metrics = set(metrics_for(channel))
    return [d.name for d in DIMENSIONS.values() if channel in d.channels and d.metrics & metrics]


@dataclass(frozen=True)
class Rate:
    name: str
    numerator: str  # a totals key or "distinct.<metric>"
    denominator: str
    en: str
    fr: str
    channels: frozenset[str] = field(default=ALL)


RATES: tuple[Rate, ...] = (
    Rate("delivered_rate", "delivered", "sent", "Delivered rate", "Taux de délivrabilité",
         frozenset({"email", "push", "sms"})),
    Rate("bounce_rate", "bounce", "sent", "Bounce rate", "Taux de rebond",
         frozenset({"email", "push", "sms"})),
    Rate("error_rate", "error", "sent", "Error rate", "Taux d'erreur"),
    Rate("open_rate", "distinct.open", "delivered", "Open rate", "Taux d'ouverture",
         frozenset({"email", "push"})),
    Rate("open_rate_all", "distinct.open_all", "delivered", "Open rate incl. machine opens",
         "Taux d'ouverture, ouvertures machine comprises", frozenset({"email", "push"})),
    Rate("click_rate", "distinct.click", "delivered", "Click rate", "Taux de clic",
         frozenset({"email", "push", "sms"})),
    Rate("reactivity", "distinct.click", "distinct.engaged", "Reactivity", "Réactivité",
         frozenset({"email", "push"})),
    Rate("reactivity_all", "distinct.click", "distinct.engaged_all", "Reactivity incl. machine opens",
         "Réactivité, ouvertures machine comprises", frozenset({"email", "push"})),
    Rate("unsubscribe_rate", "unsubscribe", "delivered", "Unsubscribe rate", "Taux de désabonnement",
         frozenset({"email", "sms"})),
    Rate("complaint_rate", "spam_complaint", "delivered", "Complaint rate", "Taux de plainte",
         frozenset({"email"})),
    Rate("conversion_rate", "distinct.conversion", "reached", "Conversion rate", "Taux de conversion"),
)

#: Which way is good news, for the colour and the spoken word of a trend (page and emails):
#: "up" when more is better, "down" when more is worse (bounces, errors, unsubscribes...),
#: "neutral" for volumes that are neither. Every metric and rate declares one (checked below),
#: so a new metric cannot show a trend in the wrong colour.
BETTER: dict[str, str] = {
    "targeted": "neutral", "excluded": "down", "sent": "up", "delivered": "up", "bounce": "down",
    "error": "down", "retry": "down", "quarantine": "down", "open": "up", "click": "up",
    "unsubscribe": "down", "spam_complaint": "down", "mirror_page": "up", "forward": "up", "action": "up",
    "impression": "up", "interaction": "up", "offer_sent": "neutral", "offer_impression": "up",
    "offer_click": "up", "action_executed": "neutral", "open_machine": "neutral", "engagements": "up",
    "delivered_rate": "up", "bounce_rate": "down", "error_rate": "down", "open_rate": "up",
    "click_rate": "up", "reactivity": "up", "unsubscribe_rate": "down", "complaint_rate": "down",
    "conversion": "up", "conversion_rate": "up", "open_rate_all": "up", "reactivity_all": "up",
}
assert set(BETTER) == (set(EVENT_TYPES) | set(EXTRA_COUNTERS) | set(DERIVED_TOTALS) | {r.name for r in RATES}), \
    "every metric and rate declares whether up is good news (BETTER)"
assert set(BETTER.values()) <= {"up", "down", "neutral"}


#: What a channel's messages reach, the denominator of conversion rate and revenue per
#: recipient: delivered messages, displayed in-app and web messages, sent direct mail.
REACHED = {"email": "delivered", "push": "delivered", "sms": "delivered",
           "inapp": "impression", "web": "impression", "directmail": "sent"}

#: Profiles kept in HLL sketches, per stored sketch metric. `open` holds human openers
#: only and `open_machine` profiles with a machine open (privacy proxies, scanners):
#: an open event goes into exactly one of them (see `sketch_metric`).
DISTINCT_METRICS: dict[str, frozenset[str]] = {
    "targeted": ALL,
    "open": frozenset({"email", "push"}),
    "open_machine": frozenset({"email", "push"}),
    "click": frozenset({"email", "sms", "push"}),
    "impression": frozenset({"inapp", "web"}),
    "conversion": ALL,
}

#: Distinct figures read as unions of stored sketches (a report's `distinct_combined`).
#: `engaged` adds clickers to human openers: a click proves an open (images blocked
#: hide many), so reactivity, clickers ÷ engaged, can never pass 100 %. They are kept
#: apart from `distinct`, whose every key is a counted metric and never exceeds its total.
COMBINED_DISTINCT: dict[str, tuple[str, ...]] = {
    "open_all": ("open", "open_machine"),
    "engaged": ("open", "click"),
    "engaged_all": ("open", "open_machine", "click"),
}


def sketch_metric(etype: str, machine: bool) -> str:
    """The sketch an event's profile goes into."""
    return "open_machine" if etype == "open" and machine else etype


def distinct_metrics_for(channel: str) -> list[str]:
    """Stored sketch metrics of a channel: the keys of a report's `distinct`."""
    return [m for m, chans in DISTINCT_METRICS.items() if channel in chans]


def combined_distinct_for(channel: str) -> dict[str, tuple[str, ...]]:
    """Combined figure -> the stored sketches whose union it is, on a channel with opens."""
    stored = distinct_metrics_for(channel)
    return {name: tuple(p for p in parts if p in stored)
            for name, parts in COMBINED_DISTINCT.items() if parts[0] in stored}


def _distinct_value(name: str, distinct: Mapping[str, int]) -> int:
    """A distinct figure; a combined one missing from `distinct` reads as its largest
    part (a lower bound of the union), so callers without sketches still get a rate."""
    if name in distinct:
        return int(distinct[name])
    parts = COMBINED_DISTINCT.get(name, ())
    return max((int(distinct.get(p, 0)) for p in parts), default=0)


def inferred(channel: str, totals: Mapping[str, int], distinct: Mapping[str, int]) -> dict[str, int]:
    """Messages a source never reported sent (or delivered) that its other events prove.

    Platforms do not always report a send for every message (SES identity
    notifications carry deliveries, bounces and complaints only) nor a delivery
    for every opened one. So a message delivered, bounced or failed counts as sent,
    and a message opened, clicked, unsubscribed from or complained about counts as
    delivered: `sent` = reported + inferred, where inferred = what the outcomes
    prove beyond the reported count. No rate can then pass 100 %. Reported counts
    stay exact in `totals`; these are shown beside them."""
    out: dict[str, int] = {}
    channel_metrics = metrics_for(channel)
    delivered = int(totals.get("delivered", 0))
    if "delivered" in channel_metrics:
        engaged = max(_distinct_value("engaged_all", distinct), int(distinct.get("click", 0)))
        proven = max(engaged, int(totals.get("unsubscribe", 0)), int(totals.get("spam_complaint", 0)))
        out["delivered"] = max(0, proven - delivered)
        delivered += out["delivered"]
    outcomes = delivered + int(totals.get("bounce", 0)) + int(totals.get("error", 0))
    out["sent"] = max(0, outcomes - int(totals.get("sent", 0)))
    return out


def effective_totals(channel: str, totals: Mapping[str, int], distinct: Mapping[str, int]) -> dict[str, int]:
    """Totals with the inferred sends and deliveries added: the denominators of rates
    (and `reached`, what the channel's messages reached: catalogue.REACHED)."""
    out = dict(totals)
    for metric, n in inferred(channel, totals, distinct).items():
        out[metric] = int(out.get(metric, 0)) + n
    out["reached"] = int(out.get(REACHED[channel], 0))
    return out


def compute_rates(channel: str, totals: Mapping[str, int], distinct: Mapping[str, int]) -> dict[str, float | None]:
    """Derived rates of a tab; None (shown as "—") when the denominator is 0.

    Denominators include inferred sends and deliveries (`inferred`), and distinct
    openers include clickers, so every rate is at most 1; the cap only absorbs a
    sketch estimate's noise above a few thousand profiles."""
    effective = effective_totals(channel, totals, distinct)

    def value(ref: str) -> int:
        if ref.startswith("distinct."):
            return _distinct_value(ref.split(".", 1)[1], distinct)
        return int(effective.get(ref, 0))

    out: dict[str, float | None] = {}
    for rate in RATES:
        if channel not in rate.channels:
            continue
        den = value(rate.denominator)
        out[rate.name] = round(min(1.0, value(rate.numerator) / den), 6) if den else None
    return out


# Labels of closed-vocabulary dimension values ("<dimension>.<value>"), and of the
# values every dimension can hold (unspecified, other).
VALUE_LABELS: dict[str, tuple[str, str]] = {
    "bounce_type.hard": ("Hard", "Hard"), "bounce_type.soft": ("Soft", "Soft"),
    "bounce_type.ignored": ("Ignored", "Ignorés"),
    "interaction_type.click": ("Click", "Clic"), "interaction_type.dismiss": ("Dismiss", "Fermeture"),
    "interaction_type.other": ("Other", "Autre"),
    "unspecified": ("Unspecified", "Non spécifié"), "other": ("Other", "Autre"),
}

def value_label(dimension: str, value: str, lang: str) -> str:
    """The label of a dimension value: closed vocabularies and known error codes are
    translated (a reason sent as `mailbox_full` or "Mailbox full" reads "Boîte pleine")."""
    idx = 1 if lang == "fr" else 0
    pair = VALUE_LABELS.get(f"{dimension}.{value}") or VALUE_LABELS.get(value)
    if pair is None and dimension in ("error_type", "error_reason", "bounce_reason"):
        pair = ERROR_TYPES.get(value) or _ERROR_BY_LABEL.get(value.strip().lower())
    return pair[idx] if pair else value


_ERROR_BY_LABEL = {en.lower(): (en, fr) for en, fr in ERROR_TYPES.values()}


def labels(lang: str) -> dict[str, str]:
    """Every metric, dimension, rate and error-type label in one language."""
    idx = 1 if lang == "fr" else 0
    out: dict[str, str] = {}
    for t in EVENT_TYPES.values():
        out[t.name] = (t.en, t.fr)[idx]
    for name, pair in {**EXTRA_COUNTERS, **FIGURE_LABELS}.items():
        out[name] = pair[idx]
    for m in EXPERIMENT_METRICS.values():
        out[f"experiment.{m.name}"] = (m.en, m.fr)[idx]
    for name, (_, en, fr) in DERIVED_TOTALS.items():
        out[name] = (en, fr)[idx]
    for d in DIMENSIONS.values():
        out[d.name] = (d.en, d.fr)[idx]
    for r in RATES:
        out[r.name] = (r.en, r.fr)[idx]
    for name, pair in ERROR_TYPE_LABELS.items():
        out[f"error_type.{name}"] = pair[idx]
    for name, pair in VALUE_LABELS.items():
        out.setdefault(name, pair[idx])
    return out


def catalogue_document() -> dict:
    """The catalogue as JSON for the web page, so it never re-declares metrics."""
    return {
        "channels": list(CHANNELS),
        "metrics": {c: metrics_for(c) for c in CHANNELS},
        "dimensions": {c: dimensions_for(c) for c in CHANNELS},
        "distinct": {c: distinct_metrics_for(c) for c in CHANNELS},
        "distinct_combined": {c: list(combined_distinct_for(c)) for c in CHANNELS},
        "rates": {c: [r.name for r in RATES if c in r.channels] for c in CHANNELS},
        "labels": {"en": labels("en"), "fr": labels("fr")},
        "definitions": {"en": definitions("en"), "fr": definitions("fr")},
        "better": dict(BETTER),
    }

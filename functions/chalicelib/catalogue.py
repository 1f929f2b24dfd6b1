"""The SPEC in code: channels, event types, dimensions and derived rates.

Everything else (validation, aggregation, reports, the web page, the emails)
reads this module, so adding a metric is one edit here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

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
    )
}

# Counters that are not event types but are counted at ingest.
EXTRA_COUNTERS: dict[str, tuple[str, str]] = {
    "open_machine": ("Machine opens", "Ouvertures machine"),
}

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
    "offer_sent": "os", "offer_impression": "oi", "offer_click": "oc", "action_executed": "ax"}
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
    Rate("click_rate", "distinct.click", "delivered", "Click rate", "Taux de clic",
         frozenset({"email", "push", "sms"})),
    Rate("reactivity", "distinct.click", "distinct.open", "Reactivity", "Réactivité",
         frozenset({"email", "push"})),
    Rate("unsubscribe_rate", "unsubscribe", "delivered", "Unsubscribe rate", "Taux de désabonnement",
         frozenset({"email", "sms"})),
    Rate("complaint_rate", "spam_complaint", "delivered", "Complaint rate", "Taux de plainte",
         frozenset({"email"})),
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
}
assert set(BETTER) == (set(EVENT_TYPES) | set(EXTRA_COUNTERS) | set(DERIVED_TOTALS) | {r.name for r in RATES}), \
    "every metric and rate declares whether up is good news (BETTER)"
assert set(BETTER.values()) <= {"up", "down", "neutral"}


# Metrics whose distinct profiles are counted (HLL sketches per bucket).
DISTINCT_METRICS: dict[str, frozenset[str]] = {
    "targeted": ALL,
    "open": frozenset({"email", "push"}),
    "click": frozenset({"email", "sms", "push"}),
    "impression": frozenset({"inapp", "web"}),
}


def distinct_metrics_for(channel: str) -> list[str]:
    return [m for m, chans in DISTINCT_METRICS.items() if channel in chans]


def compute_rates(channel: str, totals: Mapping[str, int], distinct: Mapping[str, int]) -> dict[str, float | None]:
    """Derived rates of a tab; None (shown as "—") when the denominator is 0."""

    def value(ref: str) -> int:
        if ref.startswith("distinct."):
            metric = ref.split(".", 1)[1]
            return int(distinct.get(metric, totals.get(metric, 0)))
        return int(totals.get(ref, 0))

    out: dict[str, float | None] = {}
    for rate in RATES:
        if channel not in rate.channels:
            continue
        den = value(rate.denominator)
        out[rate.name] = round(value(rate.numerator) / den, 6) if den else None
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

# One-sentence definitions (EN, FR): shown on hover/focus in the page and in the email's glossary.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "audience": ("Distinct profiles targeted on any channel in the period.",
                 "Profils distincts ciblés sur au moins un canal pendant la période."),
    "targeted": ("Profiles that qualified as targets of the message.", "Profils retenus comme cibles du message."),
    "excluded": ("Targeted profiles left out before sending (rules, denylist, consent).",
                 "Profils ciblés écartés avant l'envoi (règles, liste de blocage, consentement)."),
    "sent": ("Messages handed to the sending pipeline.", "Messages remis à la chaîne d'envoi."),
    "delivered": ("Messages the recipient's provider accepted.", "Messages acceptés par le fournisseur du destinataire."),
    "bounce": ("Messages returned by the recipient's server: hard (permanent), soft (temporary) or ignored.",
               "Messages renvoyés par le serveur du destinataire : hard (définitif), soft (temporaire) ou ignoré."),
    "error": ("Messages that could not be sent (invalid address, refused, unreachable...).",
              "Messages qui n'ont pas pu être envoyés (adresse invalide, refus, injoignable...)."),
    "retry": ("Messages put back in the retry queue.", "Messages replacés dans la file de reprise."),
    "quarantine": ("Addresses newly quarantined after repeated failures.",
                   "Adresses mises en quarantaine après des échecs répétés."),
    "open": ("Opens, counted each time a message is opened.", "Ouvertures, comptées à chaque ouverture."),
    "click": ("Clicks on tracked links, counted each time.", "Clics sur les liens suivis, comptés à chaque fois."),
    "distinct": ("Each profile counted once, however often it acted (estimated within 2 %).",
                 "Chaque profil compté une fois, quel que soit le nombre de ses actions (estimé à 2 % près)."),
    "unsubscribe": ("Clicks on the unsubscribe link.", "Clics sur le lien de désabonnement."),
    "spam_complaint": ("Recipients who reported the message as spam.", "Destinataires qui ont signalé le message comme spam."),
    "mirror_page": ("Clicks on the mirror-page link.", "Clics sur le lien de la page miroir."),
    "forward": ("Messages forwarded by their recipient.", "Messages transférés par leur destinataire."),
    "action": ("Actions on a push notification (button, dismiss).", "Actions sur une notification push (bouton, fermeture)."),
    "engagements": ("Push opens plus actions.", "Ouvertures push plus actions."),
    "impression": ("Times an in-app message or web experience was displayed.",
                   "Affichages d'un message in-app ou d'une expérience web."),
    "unique_impression": ("Distinct profiles who saw at least one impression.",
                          "Profils distincts ayant vu au moins un affichage."),
    "interaction": ("Interactions with an in-app message or web element.",
                    "Interactions avec un message in-app ou un élément web."),
    "action_executed": ("Campaign actions executed for a profile (a workflow step).",
                        "Actions de campagne réalisées pour un profil (une étape du workflow)."),
    "delivered_rate": ("Delivered ÷ sent.", "Délivrés ÷ envoyés."),
    "bounce_rate": ("Bounces ÷ sent.", "Rebonds ÷ envoyés."),
    "error_rate": ("Errors ÷ sent.", "Erreurs ÷ envoyés."),
    "open_rate": ("Distinct openers ÷ delivered.", "Ouvreurs distincts ÷ délivrés."),
    "click_rate": ("Distinct clickers ÷ delivered.", "Cliqueurs distincts ÷ délivrés."),
    "reactivity": ("Distinct clickers ÷ distinct openers: the share of openers who went on to click.",
                   "Cliqueurs distincts ÷ ouvreurs distincts : la part des ouvreurs qui ont cliqué."),
    "unsubscribe_rate": ("Unsubscribes ÷ delivered.", "Désabonnements ÷ délivrés."),
    "complaint_rate": ("Spam complaints ÷ delivered.", "Plaintes pour spam ÷ délivrés."),
}


def definitions(lang: str) -> dict[str, str]:
    idx = 1 if lang == "fr" else 0
    return {name: pair[idx] for name, pair in DEFINITIONS.items()}


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
    for name, pair in EXTRA_COUNTERS.items():
        out[name] = pair[idx]
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
        "rates": {c: [r.name for r in RATES if c in r.channels] for c in CHANNELS},
        "labels": {"en": labels("en"), "fr": labels("fr")},
        "definitions": {"en": definitions("en"), "fr": definitions("fr")},
        "better": dict(BETTER),
    }

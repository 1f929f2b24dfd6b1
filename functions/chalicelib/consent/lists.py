"""What an address is on (a snapshot subscription or an alert rule), named for people.

A list reference is `sub:<subscription id>` or `alert:<rule id>`; the
description is what the confirmation request and the confirm / unsubscribe
pages say the person would receive, in the list's language.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUB, ALERT = "sub", "alert"
_DAYS = {"en": {"monday": "Monday", "tuesday": "Tuesday", "wednesday": "Wednesday", "thursday": "Thursday",
                "friday": "Friday", "saturday": "Saturday", "sunday": "Sunday"},
         "fr": {"monday": "lundi", "tuesday": "mardi", "wednesday": "mercredi", "thursday": "jeudi",
                "friday": "vendredi", "saturday": "samedi", "sunday": "dimanche"}}
_TEXT = {
    "en": {"live": "the live report", "global": "the campaign report", "all": "all channels",
           "hourly": "every hour at :{m:02d} UTC", "daily": "every day at {time} ({tz})",
           "weekly": "every {day} at {time} ({tz})",
           "sub": "{report} of campaign {campaign} ({scope}), {when}",
           "alert": "the alert “{name}” on {campaign} ({channel}), when it fires and resolves",
           "every_campaign": "every campaign"},
    "fr": {"live": "le rapport en direct", "global": "le rapport de campagne", "all": "tous les canaux",
           "hourly": "toutes les heures à :{m:02d} UTC", "daily": "chaque jour à {time} ({tz})",
           "weekly": "chaque {day} à {time} ({tz})",
           "sub": "{report} de la campagne {campaign} ({scope}), {when}",
           "alert": "l'alerte « {name} » sur {campaign} ({channel}), quand elle se déclenche et se résout",
           "every_campaign": "toutes les campagnes"},
}


@dataclass(frozen=True)
class ListContext:
    """Who asks, and for what: stored with each recipient so emails and pages can say it."""
    lang: str
    what: str
    inviter: str


def ref(kind: str, list_id: str) -> str:
    return f"{kind}:{list_id}"


def kind_of(list_ref: str) -> str:
    return list_ref.split(":", 1)[0]


def id_of(list_ref: str) -> str:
    return list_ref.split(":", 1)[1] if ":" in list_ref else ""


def describe_subscription(sub: Any) -> str:
    from ..snapshots.render import channel_name
    lang = sub.language if sub.language in _TEXT else "en"
    t, f = _TEXT[lang], sub.frequency
    if f.type == "hourly":
        when = t["hourly"].format(m=f.minute)
    elif f.type == "daily":
        when = t["daily"].format(time=f.time, tz=f.tz)
    else:
        when = t["weekly"].format(day=_DAYS[lang][f.day], time=f.time, tz=f.tz)
    scope = t["all"] if sub.channel == "all" else channel_name(sub.channel, lang)
    return t["sub"].format(report=t[sub.report], campaign=sub.campaign_id, scope=scope, when=when)


def describe_rule(rule: Any) -> str:
    from ..snapshots.render import channel_name
    lang = rule.language if rule.language in _TEXT else "en"
    t = _TEXT[lang]
    campaign = t["every_campaign"] if rule.campaign_id == "*" else rule.campaign_id
    return t["alert"].format(name=rule.name, campaign=campaign, channel=channel_name(rule.channel, lang))


def inviter_of(principal: Any, display_name: str = "") -> str:
    """How the person who added the address is named: their name and email, or the API key."""
    if principal.kind == "user":
        email = principal.email or ""
        return f"{display_name} ({email})" if display_name and email else (display_name or email or principal.key_id)
    return f"API key {principal.key_id}"

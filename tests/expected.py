"""An independent count of generated events: what every report must show.

Deliberately written from SPEC.md, not from the product's catalogue or
aggregation code, so a bug there cannot hide in the expectation.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

# SPEC: which event field breaks down which event type, per dimension name.
SPEC_DIMENSIONS = {
    "bounce_type": ("bounce_type", {"bounce"}, None),
    "bounce_reason": ("reason", {"bounce"}, None),
    "error_reason": ("reason", {"error"}, None),
    "error_type": ("error_type", {"error"}, None),
    "exclusion_reason": ("reason", {"excluded"}, None),
    "recipient_domain": ("recipient_domain", {"sent", "delivered", "bounce", "error", "open", "click",
                                              "spam_complaint", "unsubscribe"}, {"email"}),
    "platform": ("platform", {"targeted", "excluded", "sent", "delivered", "bounce", "error", "open", "action",
                              "impression", "interaction"}, {"push", "inapp"}),
    "interaction_type": ("interaction_type", {"interaction"}, {"inapp"}),
    "element": ("element", {"interaction"}, {"web"}),
    "url": ("url", {"click"}, None),
    "offer": ("offer_id", {"offer_sent", "offer_impression", "offer_click"}, {"email"}),
    "action": ("action", {"action"}, {"push"}),
}


class Expected:
    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self.by_exec: dict[tuple[str, str, str | None], Counter] = defaultdict(Counter)
        self.dims: dict[tuple[str, str, str], dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.profiles: dict[tuple[str, str, str], set] = defaultdict(set)
        self.campaign_targeted: dict[str, set] = defaultdict(set)
        self.campaign_counts: dict[str, Counter] = defaultdict(Counter)

    def add(self, ev: dict) -> None:
        c, ch, t = ev["campaign_id"], ev["channel"], ev["type"]
        self.totals[(c, ch)][t] += 1
        self.by_exec[(c, ch, ev.get("execution_id"))][t] += 1
        self.campaign_counts[c][t] += 1
        if t == "open" and ev.get("machine"):
            self.totals[(c, ch)]["open_machine"] += 1
            self.by_exec[(c, ch, ev.get("execution_id"))]["open_machine"] += 1
        for dim, (field, types, channels) in SPEC_DIMENSIONS.items():
            if t in types and (channels is None or ch in channels):
                value = ev.get(field)
                if value is None and dim in ("bounce_reason", "error_reason", "exclusion_reason", "error_type"):
                    value = "unspecified"
                if value is not None:
                    self.dims[(c, ch, dim)][value][t] += 1
        if ev.get("profile_id"):
            # SPEC: distinct opens count human opens; machine opens are shown beside them
            key = "open_machine" if t == "open" and ev.get("machine") else t
            self.profiles[(c, ch, key)].add(ev["profile_id"])
            if t == "targeted":
                self.campaign_targeted[c].add(ev["profile_id"])

    def add_all(self, events, start: datetime | None = None, end: datetime | None = None) -> None:
        for ev in events:
            ts = datetime.fromisoformat(ev["timestamp"])
            if (start is None or ts >= start) and (end is None or ts < end):
                self.add(ev)

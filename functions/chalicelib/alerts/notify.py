"""What a state change says: the email (rule's language) and the webhook body.

The rule's name and the campaign id are the caller's text: every HTML use
goes through html.escape, and the plain text and the subject carry them as
text only (names with control characters are refused at creation, so no
header can be smuggled). The webhook body has a `text` field, so Slack and
compatible incoming webhooks post it as a message as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any, Optional
from urllib.parse import urlencode

from ..snapshots.render import Rendered, channel_name, fmt_int, fmt_pct
from .rules import Rule, metric_label

TEXT = {
    "en": {"fired": "Alert", "resolved": "Resolved", "what_fired": "{name} fired on {campaign} ({channel})",
           "what_resolved": "{name} is back to normal on {campaign} ({channel})",
           "value": "Value", "threshold": "Threshold", "window": "Window", "minutes": "{n} minutes",
           "volume": "Volume", "at": "At", "open": "Open the live report", "silence": "no event for {n} minutes",
           "footer": "Alert rule {rule} of workspace {ws}. Manage alerts on the dashboard.",
           "unsubscribe": "Stop these alert emails"},
    "fr": {"fired": "Alerte", "resolved": "Résolue", "what_fired": "{name} s'est déclenchée sur {campaign} ({channel})",
           "what_resolved": "{name} est revenue à la normale sur {campaign} ({channel})",
           "value": "Valeur", "threshold": "Seuil", "window": "Fenêtre", "minutes": "{n} minutes",
           "volume": "Volume", "at": "Le", "open": "Ouvrir le rapport en direct",
           "silence": "aucun événement depuis {n} minutes",
           "footer": "Règle d'alerte {rule} de l'espace {ws}. Gérez les alertes depuis le tableau de bord.",
           "unsubscribe": "Ne plus recevoir ces alertes"},
}


@dataclass(frozen=True)
class Change:
    rule: Rule
    campaign_id: str
    to: str  # "firing" | "ok"
    value: Optional[float]
    volume: int
    at: int


#: The zone an alert's times are written in (the email's "At" line), and so the zone its link opens in.
ALERT_TZ = "UTC"


def deep_link(web_url: str, workspace: str, campaign_id: str, channel: str) -> str:
    """The dashboard's live view of the campaign's tab in the rule's workspace (a reader whose page is in
    another workspace is not shown another campaign's numbers), dates in the zone the email uses."""
    params = {"ws": workspace, "campaign": campaign_id, "tab": channel, "mode": "live", "tz": ALERT_TZ}
    return f"{web_url.rstrip('/')}/?{urlencode(params)}"


def fmt_value(rule: Rule, value: Optional[float], lang: str) -> str:
    if value is None:
        return "—"
    if rule.kind == "rate":
        return fmt_pct(value, lang) if value >= 0.001 or value == 0 else f"{value * 100:.3f}%"
    return fmt_int(value, lang)


def condition(rule: Rule, lang: str) -> str:
    if rule.kind == "silence":
        return TEXT[lang]["silence"].format(n=rule.window_minutes)
    return f"{metric_label(rule.metric, lang)} {rule.op} {fmt_value(rule, rule.threshold, lang)}"


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime(f"%Y-%m-%d %H:%M {ALERT_TZ}")


def render_email(change: Change, web_url: str, unsubscribe_url: str = "") -> Rendered:
    """The email of one recipient (`unsubscribe_url`: their own link, in the footer and the headers)."""
    rule, lang = change.rule, change.rule.language
    ui = TEXT[lang]
    fired = change.to == "firing"
    channel = channel_name(rule.channel, lang)
    headline = ui["what_fired" if fired else "what_resolved"].format(name=rule.name, campaign=change.campaign_id,
                                                                       channel=channel)
    subject = f"[{ui['fired' if fired else 'resolved']}] {headline}"
    link = deep_link(web_url, rule.workspace, change.campaign_id, rule.channel)
    rows = [(ui["value"], f"{metric_label(rule.metric, lang)}: {fmt_value(rule, change.value, lang)}"),
            (ui["threshold"], condition(rule, lang)),
            (ui["window"], ui["minutes"].format(n=rule.window_minutes)),
            (ui["volume"], fmt_int(change.volume, lang)),
            (ui["at"], _when(change.at))]
    footer = ui["footer"].format(rule=rule.rule_id, ws=rule.workspace)
    leave = [f"{ui['unsubscribe']}: {unsubscribe_url}"] if unsubscribe_url else []
    text = "\n".join([headline, "", *(f"{k}: {v}" for k, v in rows), "", f"{ui['open']}: {link}", "", footer,
                      *leave])
    leave_html = (f' <a href="{escape(unsubscribe_url, quote=True)}" style="color:#6b7280;">'
                  f'{escape(ui["unsubscribe"])}</a>') if unsubscribe_url else ""
    color = "#b91c1c" if fired else "#047857"
    # Phones: a viewport, one fluid column (at most 600 px), label above value when the names are long,
    # and long names or ids wrap instead of widening the page.
    wrap = "overflow-wrap:anywhere;word-break:break-word"
    cells = "".join(
        f'<tr><td valign="top" style="padding:4px 12px 4px 0;color:#6b7280;white-space:nowrap;">{escape(k)}</td>'
        f'<td style="padding:4px 0;{wrap}" data-field="{escape(k)}">{escape(v)}</td></tr>' for k, v in rows)
    html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(subject)}</title></head>'
            '<body style="margin:0;padding:0;background:#f3f4f6;">'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" '
            'style="padding:12px 6px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'style="max-width:600px;background:#ffffff;border-radius:6px;"><tr><td style="padding:16px;'
            f'font-family:Arial,Helvetica,sans-serif;color:#1f2937;font-size:15px;line-height:1.4;{wrap}">'
            f'<h1 style="font-size:18px;margin:0 0 10px;color:{color};{wrap}">{escape(headline)}</h1>'
            f'<table role="presentation" width="100%" style="font-size:14px;border-collapse:collapse;">{cells}</table>'
            f'<p style="margin:14px 0;"><a href="{escape(link, quote=True)}" style="color:#1d4ed8;">{escape(ui["open"])}</a></p>'
            f'<p style="font-size:12px;color:#6b7280;margin:0;">{escape(footer)}{leave_html}</p>'
            '</td></tr></table></td></tr></table></body></html>')
    return Rendered(subject=subject, html=html, text=text)


def webhook_payload(change: Change, web_url: str) -> dict[str, Any]:
    """Slack-compatible (`text`) plus the structured alert for programs."""
    rule = change.rule
    rendered_text = render_email(change, web_url)
    link = deep_link(web_url, rule.workspace, change.campaign_id, rule.channel)
    return {
        "text": f"{rendered_text.subject}\n{condition(rule, rule.language)} · "
                f"{fmt_value(rule, change.value, rule.language)} · {link}",
        "alert": {"rule_id": rule.rule_id, "name": rule.name, "state": change.to,
                  "campaign_id": change.campaign_id, "channel": rule.channel, "metric": rule.metric,
                  "op": rule.op, "threshold": rule.threshold, "window_minutes": rule.window_minutes,
                  "min_volume": rule.min_volume, "value": change.value, "volume": change.volume,
                  "at": datetime.fromtimestamp(change.at, timezone.utc).isoformat().replace("+00:00", "Z"),
                  "link": link},
    }

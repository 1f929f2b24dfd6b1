"""The snapshot email's HTML and plain-text bodies.

HTML that survives common mail clients: tables for layout, inline CSS only,
no scripts, no external resources (the chart is an inline `cid:` image).
Every label of a metric, rate or dimension comes from the catalogue in the
subscription's language; every value (above all producer-controlled ones:
reasons, domains, URLs, elements) goes through html.escape.
Rows carry `data-metric` / `data-value` so tests and tools can read numbers
back without parsing localised formatting.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any, Optional
from zoneinfo import ZoneInfo

from .. import catalogue
from .subscriptions import Daily, Subscription, Weekly

MAX_ROWS = 10
UI = {
    "en": {"live": "Live report", "global": "Campaign report", "all": "all channels", "campaign": "Campaign",
           "last24": "Last {h} hours, until {end}", "whole": "Whole life of the campaign",
           "range": "From {start} to {end}", "kpis": "Key figures", "rates": "Rates", "value": "Value",
           "change": "Change", "metric": "Indicator", "count": "Count", "share": "Share",
           "changed": "What changed since the previous snapshot", "first": "First snapshot: nothing to compare with yet.",
           "nochange": "No change since the previous snapshot.", "was": "was", "audience": "Audience",
           "distinct": "{label} (distinct profiles)", "attached": "The full tables are attached as CSV.",
           "footer": "You receive this because {who} is subscribed to this report.",
           "unsubscribe": "Unsubscribe", "nodata": "No events in this period.", "chart": "Chart",
           "top_links": "Top links", "errors_by_type": "Errors by type", "by_domain": "By recipient domain"},
    "fr": {"live": "Rapport en direct", "global": "Rapport de campagne", "all": "tous les canaux",
           "campaign": "Campagne", "last24": "{h} dernières heures, jusqu'au {end}",
           "whole": "Toute la vie de la campagne", "range": "Du {start} au {end}", "kpis": "Chiffres clés",
           "rates": "Taux", "value": "Valeur", "change": "Évolution", "metric": "Indicateur", "count": "Nombre",
           "share": "Part", "changed": "Ce qui a changé depuis le précédent envoi",
           "first": "Premier envoi : rien à comparer pour l'instant.",
           "nochange": "Aucun changement depuis le précédent envoi.", "was": "avant", "audience": "Audience",
           "distinct": "{label} (profils distincts)", "attached": "Les tableaux complets sont joints en CSV.",
           "footer": "Vous recevez ce message car {who} est abonné à ce rapport.",
           "unsubscribe": "Se désabonner", "nodata": "Aucun événement sur cette période.", "chart": "Graphique",
           "top_links": "Liens les plus cliqués", "errors_by_type": "Erreurs par type",
           "by_domain": "Par domaine de destinataire"},
}
CHANNEL_NAMES = {"email": ("Email", "Email"), "push": ("Push", "Push"), "sms": ("SMS", "SMS"),
                 "inapp": ("In-app", "In-app"), "web": ("Web", "Web"), "directmail": ("Direct mail", "Courrier"),
                 "campaign": ("Campaign", "Campagne")}
FONT = "font-family:Arial,Helvetica,sans-serif;"
TD = f"{FONT}font-size:13px;color:#1f2937;padding:6px 8px;border-bottom:1px solid #e5e7eb;"
TH = f"{FONT}font-size:12px;color:#6b7280;text-align:left;padding:6px 8px;border-bottom:2px solid #d1d5db;"
NUM = "text-align:right;white-space:nowrap;"


@dataclass
class Section:
    key: str  # e.g. "live:email": also the key of its totals in the stored snapshot
    channel: str  # a tab or channel name
    doc: dict[str, Any]
    chart_cid: Optional[str] = None


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


def channel_name(channel: str, lang: str) -> str:
    pair = CHANNEL_NAMES.get(channel)
    return pair[1 if lang == "fr" else 0] if pair else channel


def fmt_int(n: Any, lang: str) -> str:
    text = f"{int(n):,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def fmt_pct(v: Optional[float], lang: str) -> str:
    if v is None:
        return "—"
    text = f"{v * 100:.1f}"
    return f"{text.replace('.', ',')}\u00a0%" if lang == "fr" else f"{text}%"


def fmt_delta(now: Any, before: Any, lang: str, pct: bool = False) -> str:
    if before is None or now is None:
        return "—"
    d = now - before
    if pct:
        if abs(d) < 0.0005:
            return "="
        pts = f"{abs(d) * 100:.1f}".replace(".", "," if lang == "fr" else ".")
        return f"{'+' if d > 0 else '−'}{pts} pt"
    return "=" if d == 0 else f"{'+' if d > 0 else '−'}{fmt_int(abs(d), lang)}"


def kpis(doc: dict[str, Any], lang: str) -> list[tuple[str, str, int]]:
    """(name, label, value) of the section's key figures."""
    labels, ui = catalogue.labels(lang), UI[lang]
    if "kpis" in doc:  # the live report's campaign tab
        return [(k, ui["audience"] if k == "audience" else labels.get(k, k), int(v)) for k, v in doc["kpis"].items()]
    rows = [(k, labels.get(k, k), int(v)) for k, v in doc.get("totals", {}).items()]
    rows += [(f"distinct.{k}", ui["distinct"].format(label=labels.get(k, k)), int(v))
             for k, v in (doc.get("distinct") or {}).items()]
    return rows


def rates(doc: dict[str, Any], lang: str) -> list[tuple[str, str, Optional[float]]]:
    labels = catalogue.labels(lang)
    return [(f"rate.{k}", labels.get(k, k), v) for k, v in (doc.get("rates") or {}).items()]


def snapshot_numbers(doc: dict[str, Any]) -> dict[str, Any]:
    """What the next snapshot compares with: key figures and rates by name."""
    return {**{n: v for n, _, v in kpis(doc, "en")}, **{n: v for n, _, v in rates(doc, "en")}}


def tables_of(doc: dict[str, Any], lang: str) -> list[tuple[str, list[tuple[str, int, Optional[float]]]]]:
    """(title, [(value, count, share)]) of the breakdowns worth showing; values are producer data."""
    labels, ui = catalogue.labels(lang), UI[lang]
    out = []
    for name, rows in (doc.get("breakdowns") or {}).items():
        if rows:
            out.append((labels.get(name, name), [(r["value"], r["count"], r.get("share")) for r in rows[:MAX_ROWS]]))
    if doc.get("top_links"):
        out.append((ui["top_links"], [(r["url"], r["clicks"], r.get("share")) for r in doc["top_links"][:MAX_ROWS]]))
    if doc.get("errors_by_type"):
        out.append((ui["errors_by_type"], [(labels.get(f"error_type.{r['value']}", r["value"]), r["count"], r.get("share"))
                                           for r in doc["errors_by_type"][:MAX_ROWS]]))
    if doc.get("by_domain"):
        out.append((ui["by_domain"], [(r["domain"], r["sent"], None) for r in doc["by_domain"][:MAX_ROWS]]))
    return out


def _local(sub: Subscription, iso_or_epoch: Any) -> str:
    tz = ZoneInfo(sub.frequency.tz) if isinstance(sub.frequency, (Daily, Weekly)) else timezone.utc
    moment = (datetime.fromtimestamp(iso_or_epoch, timezone.utc) if isinstance(iso_or_epoch, (int, float))
              else datetime.fromisoformat(str(iso_or_epoch).replace("Z", "+00:00")))
    local = moment.astimezone(tz)
    return local.strftime("%d/%m/%Y %H:%M" if sub.language == "fr" else "%Y-%m-%d %H:%M") + f" {local.tzname()}"


def period_text(sub: Subscription, doc: dict[str, Any]) -> str:
    ui = UI[sub.language]
    if "window" in doc:
        return ui["last24"].format(h=doc["window"]["seconds"] // 3600, end=_local(sub, doc["window"]["end"]))
    rng = doc.get("range") or {}
    if rng.get("whole_life", True):
        return ui["whole"]
    return ui["range"].format(start=_local(sub, rng["resolved_start"]), end=_local(sub, rng["resolved_end"]))


def subject(sub: Subscription, now: float) -> str:
    ui = UI[sub.language]
    scope = ui["all"] if sub.channel == "all" else channel_name(sub.channel, sub.language)
    return f"{ui[sub.report]} · {sub.campaign_id} · {scope} · {_local(sub, now)}"


def changes(sections: list[Section], baseline: dict[str, Any], lang: str) -> Optional[list[str]]:
    """Plain sentences for the biggest changes; None when there is no previous snapshot."""
    if not baseline:
        return None
    found, colon = [], "\u00a0:" if lang == "fr" else ":"
    for s in sections:
        before = baseline.get(s.key) or {}
        prefix = f"{channel_name(s.channel, lang)} · " if len(sections) > 1 else ""
        for name, label, value in kpis(s.doc, lang):
            if name in before and value != before[name]:
                found.append((abs(value - before[name]), f"{prefix}{label}{colon} {fmt_delta(value, before[name], lang)} "
                                                          f"({UI[lang]['was']} {fmt_int(before[name], lang)})"))
    return [text for _, text in sorted(found, key=lambda x: -x[0])[:6]]


def _kpi_table(s: Section, before: dict[str, Any], lang: str) -> str:
    ui = UI[lang]
    head = (f'<tr><th style="{TH}">{escape(ui["metric"])}</th><th style="{TH}{NUM}">{escape(ui["value"])}</th>'
            f'<th style="{TH}{NUM}">{escape(ui["change"])}</th></tr>')
    rows = [f'<tr data-metric="{escape(n)}"><td style="{TD}">{escape(label)}</td>'
            f'<td style="{TD}{NUM}" data-value="{v}">{escape(fmt_int(v, lang))}</td>'
            f'<td style="{TD}{NUM}">{escape(fmt_delta(v, before.get(n), lang))}</td></tr>'
            for n, label, v in kpis(s.doc, lang)]
    rows += [f'<tr data-metric="{escape(n)}"><td style="{TD}">{escape(label)}</td>'
             f'<td style="{TD}{NUM}" data-value="{"" if v is None else v}">{escape(fmt_pct(v, lang))}</td>'
             f'<td style="{TD}{NUM}">{escape(fmt_delta(v, before.get(n), lang, pct=True))}</td></tr>'
             for n, label, v in rates(s.doc, lang)]
    return f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;">{head}{"".join(rows)}</table>'


def _breakdown_html(title: str, rows: list[tuple[str, int, Optional[float]]], lang: str) -> str:
    ui = UI[lang]
    body = "".join(f'<tr><td style="{TD}word-break:break-all;">{escape(str(v))}</td>'
                   f'<td style="{TD}{NUM}">{escape(fmt_int(c, lang))}</td>'
                   f'<td style="{TD}{NUM}">{escape(fmt_pct(sh, lang) if sh is not None else "")}</td></tr>'
                   for v, c, sh in rows)
    return (f'<h3 style="{FONT}font-size:14px;color:#111827;margin:18px 0 6px;">{escape(title)}</h3>'
            f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;">'
            f'<tr><th style="{TH}">{escape(ui["value"])}</th><th style="{TH}{NUM}">{escape(ui["count"])}</th>'
            f'<th style="{TH}{NUM}">{escape(ui["share"])}</th></tr>{body}</table>')


def render(sub: Subscription, sections: list[Section], baseline: dict[str, Any], now: float,
           recipient: str, unsubscribe_url: str) -> Rendered:
    lang, ui = sub.language, UI[sub.language]
    title = subject(sub, now)
    changed = changes(sections, baseline, lang)
    change_lines = [ui["first"]] if changed is None else (changed or [ui["nochange"]])
    parts = [f'<h1 style="{FONT}font-size:20px;color:#111827;margin:0 0 4px;">{escape(ui[sub.report])} · '
             f'{escape(sub.campaign_id)}</h1>',
             f'<h2 style="{FONT}font-size:14px;color:#374151;margin:16px 0 6px;">{escape(ui["changed"])}</h2>',
             "<ul style=\"margin:0 0 8px;padding-left:18px;\">" +
             "".join(f'<li style="{FONT}font-size:13px;color:#1f2937;">{escape(line)}</li>' for line in change_lines)
             + "</ul>"]
    c = "\u00a0:" if lang == "fr" else ":"  # French typography: a space before the colon
    text = [title, "", ui["changed"] + c, *[f"- {line}" for line in change_lines], ""]
    for s in sections:
        before = baseline.get(s.key) or {}
        heading = f"{channel_name(s.channel, lang)} — {period_text(sub, s.doc)}"
        parts.append(f'<h2 style="{FONT}font-size:16px;color:#111827;margin:24px 0 6px;border-top:1px solid #e5e7eb;'
                     f'padding-top:14px;">{escape(heading)}</h2>')
        if not s.doc.get("has_data"):
            parts.append(f'<p style="{FONT}font-size:13px;color:#6b7280;">{escape(ui["nodata"])}</p>')
        parts.append(_kpi_table(s, before, lang))
        if s.chart_cid:
            parts.append(f'<p style="margin:14px 0;"><img src="cid:{escape(s.chart_cid)}" width="600" '
                         f'alt="{escape(ui["chart"])}" style="display:block;max-width:100%;height:auto;border:0;"></p>')
        text += [heading, "=" * min(len(heading), 70)]
        text += [f"{label}{c} {fmt_int(v, lang)}  ({fmt_delta(v, before.get(n), lang)})" for n, label, v in kpis(s.doc, lang)]
        text += [f"{label}{c} {fmt_pct(v, lang)}" for n, label, v in rates(s.doc, lang)]
        for table_title, rows in tables_of(s.doc, lang):
            parts.append(_breakdown_html(table_title, rows, lang))
            text += ["", table_title + c] + [f"  {v}{c} {fmt_int(n, lang)}" for v, n, _ in rows]
        text.append("")
    footer = ui["footer"].format(who=recipient)
    parts.append(f'<p style="{FONT}font-size:12px;color:#6b7280;margin:24px 0 0;">{escape(ui["attached"])}<br>'
                 f'{escape(footer)} <a href="{escape(unsubscribe_url)}" style="color:#2563eb;">'
                 f'{escape(ui["unsubscribe"])}</a></p>')
    text += [ui["attached"], footer, f"{ui['unsubscribe']}{c} {unsubscribe_url}"]
    html = ('<!DOCTYPE html><html lang="' + lang + '"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(title)}</title></head><body style="margin:0;padding:0;background:#f3f4f6;">'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;">'
            '<tr><td align="center" style="padding:16px;"><table role="presentation" width="640" cellpadding="0" '
            'cellspacing="0" style="max-width:640px;width:100%;background:#ffffff;border-radius:6px;">'
            f'<tr><td style="padding:20px;">{"".join(parts)}</td></tr></table></td></tr></table></body></html>')
    return Rendered(title, html, "\n".join(text) + "\n")

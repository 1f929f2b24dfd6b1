"""The snapshot email's HTML and plain-text bodies: what a marketer reads in 20 seconds.

Order: the period in words and a link to the same view on the dashboard, then
per section the key figures with their change since the previous snapshot,
the rates, the chart, and the top rows of each breakdown (labels, never
codes). A glossary of the figures shown closes the email.

HTML that survives mail clients: tables, short inline styles (Gmail clips
HTML beyond ~102 KB, so styles are not repeated on every cell: the font is
set once and inherited), no scripts or external resources. Every label comes
from the catalogue in the subscription's language; every value goes through
html.escape. Key-figure and rate rows carry `data-metric` / `data-value` so
tools and tests can read numbers back without parsing localised formatting.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any, Optional
from zoneinfo import ZoneInfo

from .. import catalogue
from . import experiment
from . import chart
from .subscriptions import Subscription

TOP_ROWS = 3
UI = {
    "en": {"live": "Live report", "global": "Campaign report", "all": "all channels",
           "last": "Last {h} hours, until {end}", "whole": "Whole life of the campaign, until {end}",
           "range": "From {start} to {end}", "rates": "Rates", "change": "since last", "first":
           "First snapshot: changes will show from the next one.", "distinct": "{label} (distinct)",
           "attached": "The full tables are attached as CSV.", "open": "Open this view in the dashboard",
           "footer": "You receive this because {who} is subscribed to this report.", "unsubscribe": "Unsubscribe",
           "nodata": "No events for {what} in this period.", "chart": "{title}, {period} ({tz})",
           "glossary": "Definitions", "top_links": "Top links", "errors_by_type": "Errors by type",
           "errors_by_domain": "Errors by domain", "by_domain": "Sent by recipient domain", "audience": "Audience", "domains_by_open": "Recipient domains, by opens",
           "test": "Test", "test_note": "A test sent at your request: the scheduled emails go to the report's "
           "recipients, with the change since the previous email.",
           "test_footer": "You receive this test because you asked for it on the dashboard.",
           "human_opens": "Distinct human opens", "inferred": ("{n} reported", "{n} reported", "{n} inferred", "{n} inferred")},
    "fr": {"live": "Rapport en direct", "global": "Rapport de campagne", "all": "tous les canaux",
           "last": "{h} dernières heures, jusqu'au {end}", "whole": "Toute la vie de la campagne, jusqu'au {end}",
           "range": "Du {start} au {end}", "rates": "Taux", "change": "depuis le dernier envoi", "first":
           "Premier envoi : les évolutions apparaîtront au prochain.", "distinct": "{label} (profils distincts)",
           "attached": "Les tableaux complets sont joints en CSV.", "open": "Ouvrir cette vue dans le tableau de bord",
           "footer": "Vous recevez ce message car {who} est abonné à ce rapport.", "unsubscribe": "Se désabonner",
           "nodata": "Aucun événement pour {what} sur cette période.", "chart": "{title}, {period} ({tz})",
           "glossary": "Définitions", "top_links": "Liens les plus cliqués", "errors_by_type": "Erreurs par type",
           "errors_by_domain": "Erreurs par domaine", "by_domain": "Envoyés par domaine de destinataire",
           "audience": "Audience", "domains_by_open": "Domaines des destinataires, par ouvertures",
           "test": "Essai", "test_note": "Un essai envoyé à votre demande : les envois programmés partent aux "
           "destinataires du rapport, avec l'évolution depuis l'envoi précédent.",
           "test_footer": "Vous recevez cet essai car vous l'avez demandé depuis le tableau de bord.",
           "human_opens": "Ouvertures humaines distinctes", "inferred": ("{n} signalé", "{n} signalés", "{n} déduit", "{n} déduits")},
}
CHANNEL_NAMES = {"email": ("Email", "E-mail"), "push": ("Push", "Push"), "sms": ("SMS", "SMS"),
                 "inapp": ("In-app", "In-app"), "web": ("Web", "Web"), "directmail": ("Direct mail", "Courrier"),
                 "campaign": ("Campaign", "Campagne")}
#: Key figures worth a line, in order (the rest stays in the CSV attachment).
HEADLINE = ("audience", "targeted", "excluded", "sent", "delivered", "bounce", "error",
            "distinct.open", "distinct.open_all", "distinct.click", "unsubscribe", "spam_complaint", "action", "engagements",
            "impression", "distinct.impression", "interaction", "offer_sent", "offer_click", "action_executed")
#: Breakdowns shown (top rows) and the metric each row is counted by.
BREAKDOWNS = (("bounce_type", "bounce"), ("bounce_reason", "bounce"), ("error_type", "error"),
              ("error_reason", "error"), ("exclusion_reason", "excluded"), ("recipient_domain", "open"),
              ("platform", "sent|impression"), ("interaction_type", "interaction"), ("element", "interaction"),
              ("url", "click"), ("action", "action"), ("offer", "offer_sent"))
FONT = "font-family:Arial,Helvetica,sans-serif;color:#1f2937;font-size:14px;line-height:1.4"
CELL = ' style="padding:3px 6px;border-bottom:1px solid #e5e7eb"'
NUM = ' align="right" style="padding:3px 6px;border-bottom:1px solid #e5e7eb;white-space:nowrap"'
WRAP = ' style="padding:3px 6px;border-bottom:1px solid #e5e7eb;word-break:break-word"'
SUB = ' style="padding:10px 6px 2px;font-weight:bold;color:#374151"'
MUTED = "color:#6b7280;font-size:12px"


@dataclass
class Section:
    key: str  # e.g. "live:email": also the key of its totals in the stored snapshot
    channel: str  # a tab or channel name
    doc: dict[str, Any]
    chart_cid: Optional[str] = None
    link: str = ""  # the same view on the dashboard
    experiment: Optional[dict[str, Any]] = None  # the channel's experiment (GET …/experiment), when it has variants


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
    """▲ +6 / ▼ −0.4 pt / = ; "" when there is nothing to compare with."""
    if before is None or now is None:
        return ""
    d = now - before
    if (pct and abs(d) < 0.0005) or (not pct and d == 0):
        return "="
    size = f"{abs(d) * 100:.1f}".replace(".", "," if lang == "fr" else ".") + "\u00a0pt" if pct else fmt_int(abs(d), lang)
    return f"{'▲ +' if d > 0 else '▼ −'}{size}"


def kpis(doc: dict[str, Any], lang: str) -> list[tuple[str, str, int]]:
    """(name, label, value) of every key figure of a section (what the next snapshot compares with)."""
    labels, ui = catalogue.labels(lang), UI[lang]
    if "kpis" in doc:  # the live report's campaign tab
        return [(k, ui["audience"] if k == "audience" else labels.get(k, k), int(v)) for k, v in doc["kpis"].items()]
    # sent and delivered count what the source reported plus what its other events prove (as on the page)
    inferred = doc.get("inferred") or {}
    rows = [(k, labels.get(k, k), int(v) + int(inferred.get(k, 0))) for k, v in doc.get("totals", {}).items()]
    combined = doc.get("distinct_combined") or {}
    rows += [(f"distinct.{k}", ui["human_opens"] if k == "open" and "open_all" in combined
              else ui["distinct"].format(label=labels.get(k, k)), int(v))
             for k, v in (doc.get("distinct") or {}).items()]
    # opens with machine opens beside the human ones (the open rate's two variants are among the rates)
    if "open_all" in combined:
        rows.append(("distinct.open_all", labels["open_all"], int(combined["open_all"])))
    return rows


def inferred_note(doc: dict[str, Any], name: str, lang: str) -> str:
    """"13 reported, 32 inferred" for sent or delivered when the source did not report them all; else ""."""
    extra = int((doc.get("inferred") or {}).get(name, 0))
    if not extra or name not in (doc.get("totals") or {}):
        return ""
    one_reported, many_reported, one_inferred, many_inferred = UI[lang]["inferred"]
    reported = int(doc["totals"][name])
    return ", ".join(((one_reported if reported <= 1 else many_reported).format(n=fmt_int(reported, lang)),
                      (one_inferred if extra <= 1 else many_inferred).format(n=fmt_int(extra, lang))))


def headline(doc: dict[str, Any], lang: str) -> list[tuple[str, str, int]]:
    """The few key figures an email shows: HEADLINE order, zeros left out (but sent, audience)."""
    by_name = {n: (n, label, v) for n, label, v in kpis(doc, lang)}
    return [by_name[n] for n in HEADLINE if n in by_name and (by_name[n][2] or n in ("sent", "audience"))]


def rates(doc: dict[str, Any], lang: str) -> list[tuple[str, str, Optional[float]]]:
    labels = catalogue.labels(lang)
    return [(f"rate.{k}", labels.get(k, k), v) for k, v in (doc.get("rates") or {}).items()]


def snapshot_numbers(doc: dict[str, Any]) -> dict[str, Any]:
    """What the next snapshot compares with: key figures and rates by name."""
    return {**{n: v for n, _, v in kpis(doc, "en")}, **{n: v for n, _, v in rates(doc, "en")}}


def _top(rows: list[dict[str, Any]], dim: str, metric: str, lang: str) -> list[tuple[str, int, Optional[float]]]:
    """Top rows counted by one metric (a platform row counts sent, not every event type);
    `a|b`: the first of those metrics the rows carry."""
    seen = {m for r in rows for m in (r.get("counts") or {})}
    metric = next((m for m in metric.split("|") if m in seen), metric.split("|")[0])
    counted = [(r["value"], int((r.get("counts") or {}).get(metric, 0) if r.get("counts") else r["count"]))
               for r in rows]
    counted = sorted(((v, n) for v, n in counted if n), key=lambda x: (-x[1], x[0]))
    total = sum(n for _, n in counted)
    return [(catalogue.value_label(dim, str(v), lang), n, n / total if total else None) for v, n in counted[:TOP_ROWS]]


def reasons_repeat_types(breakdowns: dict[str, Any]) -> bool:
    """Whether the error reasons are the error types again (platforms often send the code as both)."""
    def counted(dim: str) -> dict[str, int]:  # by label: "mailbox_full" and "Mailbox full" are one reason
        out: dict[str, int] = {}
        for r in breakdowns.get(dim) or []:
            label = catalogue.value_label(dim, str(r["value"]), "en")
            out[label] = out.get(label, 0) + int(r.get("count") or 0)
        return {k: v for k, v in out.items() if v}
    reasons = counted("error_reason")
    return bool(reasons) and reasons == counted("error_type")


def tables_of(doc: dict[str, Any], lang: str) -> list[tuple[str, list[tuple[str, int, Optional[float]]]]]:
    """(title, [(label, count, share)]) of the breakdowns worth showing; values are producer data."""
    labels, ui, out = catalogue.labels(lang), UI[lang], []
    found = doc.get("breakdowns") or {}
    for dim, metric in BREAKDOWNS:
        if dim == "error_reason" and reasons_repeat_types(found):
            continue  # the reasons are the error types themselves: one table says it
        rows = _top(found.get(dim) or [], dim, metric, lang)
        if rows:
            out.append((ui["domains_by_open"] if dim == "recipient_domain" else labels.get(dim, dim), rows))
    listed = (("top_links", "url", "clicks"), ("errors_by_type", "value", "count"),
              ("errors_by_domain", "value", "count"), ("by_domain", "domain", "sent"))
    for name, key, count in listed:
        rows = [r for r in doc.get(name) or [] if r.get(count)][:TOP_ROWS]
        total = sum(r[count] for r in doc.get(name) or [])
        if rows:
            dim = "error_type" if name == "errors_by_type" else name
            out.append((ui[name], [(catalogue.value_label(dim, str(r[key]), lang), r[count],
                                    r[count] / total if total else None) for r in rows]))
    return out


def zone_of(sub: Subscription) -> ZoneInfo:
    return ZoneInfo(getattr(sub.frequency, "tz", None) or "UTC")


def local_time(sub: Subscription, iso_or_epoch: Any) -> str:
    moment = (datetime.fromtimestamp(iso_or_epoch, timezone.utc) if isinstance(iso_or_epoch, (int, float))
              else datetime.fromisoformat(str(iso_or_epoch).replace("Z", "+00:00")))
    local = moment.astimezone(zone_of(sub))
    return local.strftime("%d/%m/%Y %H:%M" if sub.language == "fr" else "%d %b %Y %H:%M") + f" {local.tzname()}"


def period_text(sub: Subscription, doc: dict[str, Any], now: float) -> str:
    ui = UI[sub.language]
    if "window" in doc:
        return ui["last"].format(h=doc["window"]["seconds"] // 3600, end=local_time(sub, min(now, _epoch(doc["window"]["end"]))))
    rng = doc.get("range") or {}
    if rng.get("whole_life", True):
        return ui["whole"].format(end=local_time(sub, now))
    end = min(now, _epoch(rng["resolved_end"]))
    return ui["range"].format(start=local_time(sub, rng["resolved_start"]), end=local_time(sub, end))


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def subject(sub: Subscription, now: float) -> str:
    ui = UI[sub.language]
    scope = ui["all"] if sub.channel == "all" else channel_name(sub.channel, sub.language)
    return f"{ui[sub.report]} · {sub.campaign_id} · {scope} · {local_time(sub, now)}"


def _tiles(tiles: list[str]) -> str:
    """Tiles three to a row: readable in a 600 px column and on a phone."""
    rows = ["".join(tiles[i:i + 3]) + '<td width="33%"></td>' * (3 - len(tiles[i:i + 3]))
            for i in range(0, len(tiles), 3)]
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>")


def _tile(name: str, label: str, value: Any, text: str, delta: str, note: str = "") -> str:
    return (f'<td width="33%" valign="top" style="padding:6px 6px 8px" data-metric="{escape(name)}">'
            f'<div style="font-size:20px;font-weight:bold" data-value="{"" if value is None else value}">{escape(text)}</div>'
            f'<div style="{MUTED}">{escape(label)}</div>'
            + (f'<div style="{MUTED}" data-inferred="1">{escape(note)}</div>' if note else "")
            + (f'<div style="font-size:12px;color:#374151">{escape(delta)}</div>' if delta else "") + "</td>")


def _figures_html(s: Section, before: dict[str, Any], lang: str) -> tuple[str, list[str], list[str]]:
    """Key figures and rates as tiles; plain-text lines; names shown (for the glossary)."""
    figures, text, shown, c = [], [], [], "\u00a0:" if lang == "fr" else ":"
    for n, label, v in headline(s.doc, lang):
        delta, note = fmt_delta(v, before.get(n), lang), inferred_note(s.doc, n, lang)
        figures.append(_tile(n, label, v, fmt_int(v, lang), delta, note))
        text.append(f"{label}{c} {fmt_int(v, lang)}" + (f" ({note})" if note else "") + (f"  ({delta})" if delta else ""))
        shown.append(n.split(".")[-1] if n.startswith("distinct.") else n)
        if note:
            shown.append(f"inferred_{n}")
    listed = [r for r in rates(s.doc, lang) if r[2] is not None]
    rate_tiles = []
    for n, label, v in listed:
        delta = fmt_delta(v, before.get(n), lang, pct=True)
        rate_tiles.append(_tile(n, label, v, fmt_pct(v, lang), delta))
        text.append(f"{label}{c} {fmt_pct(v, lang)}" + (f"  ({delta})" if delta else ""))
        shown.append(n[5:])
    if any(n.startswith("distinct.") for n, _, _ in headline(s.doc, lang)):
        shown.append("distinct")
    html = _tiles(figures)
    if rate_tiles:
        html += f'<div style="margin:6px 6px 0;font-weight:bold;color:#374151">{escape(UI[lang]["rates"])}</div>' + _tiles(rate_tiles)
    return html, text, shown


def _breakdowns_html(doc: dict[str, Any], lang: str) -> tuple[str, list[str]]:
    rows, text, c = [], [], "\u00a0:" if lang == "fr" else ":"
    for title, items in tables_of(doc, lang):
        rows.append(f'<tr><td colspan="3"{SUB}>{escape(title)}</td></tr>')
        text.append(f"{title}{c} " + ", ".join(f"{v} {fmt_int(n, lang)}" for v, n, _ in items))
        for v, n, share in items:
            rows.append(f'<tr><td{WRAP}>{escape(str(v))}</td>'
                        f'<td{NUM}>{escape(fmt_int(n, lang))}</td><td{NUM}>{escape(fmt_pct(share, lang))}</td></tr>')
    if not rows:
        return "", text
    return f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0">{"".join(rows)}</table>', text


def _link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}" style="color:#1d4ed8">{escape(text)}</a>'


def render(sub: Subscription, sections: list[Section], baseline: dict[str, Any], now: float,
           recipient: str, unsubscribe_url: str, dashboard_url: str = "", test: bool = False) -> Rendered:
    """The email; `test`: one sent on request to the requester (said in the subject, no unsubscribe link)."""
    lang, ui = sub.language, UI[sub.language]
    c = "\u00a0:" if lang == "fr" else ":"  # French typography: a space before the colon
    title = (f"[{ui['test']}] " if test else "") + subject(sub, now)
    scope = ui["all"] if sub.channel == "all" else channel_name(sub.channel, lang)
    period = period_text(sub, sections[0].doc, now) if sections else ""
    parts = [f'<h1 style="font-size:20px;margin:0">{escape(ui[sub.report])} · {escape(sub.campaign_id)}</h1>',
             f'<p style="margin:4px 0 12px;{MUTED}">{escape(scope)} · {escape(period)}'
             + (f"<br>{_link(dashboard_url, ui['open'] + ' →')}" if dashboard_url else "") + "</p>"]
    text = [title, period] + ([f"{ui['open']}: {dashboard_url}"] if dashboard_url else []) + [""]
    with_data = [s for s in sections if s.doc.get("has_data")]
    if not with_data:  # one line instead of a page of zeros
        line = ui["nodata"].format(what=sub.campaign_id)
        parts.append(f'<p data-nodata="1">{escape(line)}</p>')
        text.append(line)
    elif test:
        parts.append(f'<p style="{MUTED}" data-test="1">{escape(ui["test_note"])}</p>')
        text += [ui["test_note"], ""]
    elif not baseline:
        parts.append(f'<p style="{MUTED}">{escape(ui["first"])}</p>')
        text += [ui["first"], ""]
    glossary: list[str] = []
    for s in sections if with_data else []:
        name = channel_name(s.channel, lang)
        head = f'<h2 style="font-size:16px;margin:18px 0 4px;padding-top:10px;border-top:2px solid #e5e7eb">{escape(name)}'
        if s.link:
            head += f' <span style="font-size:12px;font-weight:normal">{_link(s.link, "↗")}</span>'
        parts.append(head + "</h2>")
        text += [name, "-" * len(name)]
        if not s.doc.get("has_data"):
            line = ui["nodata"].format(what=name)
            parts.append(f'<p style="{MUTED}">{escape(line)}</p>')
            text += [line, ""]
            continue
        figures, lines, shown = _figures_html(s, baseline.get(s.key) or {}, lang)
        parts.append(figures)
        text += lines
        glossary += [n for n in shown if n not in glossary]
        if s.experiment:
            block, lines = experiment.block(s.experiment, lang)
            parts.append(block)
            text += [""] + lines
            glossary += [n for n in experiment.GLOSSARY if n not in glossary]
        if s.chart_cid:
            # shown at most DISPLAY_MAX_PX wide: its text is sized to read there and on a phone (chart.py)
            parts.append(f'<img src="cid:{escape(s.chart_cid)}" width="{chart.DISPLAY_MAX_PX}" alt="{escape(name)}" '
                         f'style="display:block;width:100%;max-width:{chart.DISPLAY_MAX_PX}px;height:auto;margin:10px 0">')
        table, lines = _breakdowns_html(s.doc, lang)
        parts.append(table)
        text += lines + [""]
    defs, labels = catalogue.definitions(lang), catalogue.labels(lang)
    names = {**labels, **{n: t.en if lang == "en" else t.fr for n, t in catalogue.EVENT_TYPES.items()},
             "audience": ui["audience"], "distinct": ui["distinct"].format(label="…"),
             "bounds": experiment.UI[lang]["bounds"]}
    entries = [(names.get(n, n), defs[n])
               for n in glossary if n in defs]
    if entries:
        parts.append(f'<p style="margin:18px 0 0;{MUTED}"><b>{escape(ui["glossary"])}</b><br>'
                     + "<br>".join(f"<b>{escape(k)}</b>{c} {escape(v)}" for k, v in entries) + "</p>")
        text += [ui["glossary"] + c] + [f"  {k}{c} {v}" for k, v in entries] + [""]
    if test or not unsubscribe_url:
        footer = ui["test_footer"]
        parts.append(f'<p style="margin:16px 0 0;{MUTED}">{escape(ui["attached"])}<br>{escape(footer)}</p>')
        text += [ui["attached"], footer]
    else:
        footer = ui["footer"].format(who=recipient)
        parts.append(f'<p style="margin:16px 0 0;{MUTED}">{escape(ui["attached"])}<br>{escape(footer)} '
                     f'{_link(unsubscribe_url, ui["unsubscribe"])}</p>')
        text += [ui["attached"], footer, f"{ui['unsubscribe']}{c} {unsubscribe_url}"]
    html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(title)}</title></head><body style="margin:0;padding:0;background:#f3f4f6">'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" '
            'style="padding:12px 6px"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'style="max-width:640px;background:#fff;border-radius:6px">'
            f'<tr><td style="padding:16px;{FONT}">{"".join(parts)}</td></tr></table></td></tr></table></body></html>')
    return Rendered(title, html, "\n".join(text) + "\n")

"""The experiment block of a snapshot email: the one-sentence summary the page shows, the
variants table (exact people and successes, rate or revenue per person, lift, confidence, and
under each treatment its difference with the baseline and the bounds of that difference),
the sample-ratio warning and the profiles seen in two variants.

The document is GET /v1/campaigns/{id}/experiment's, built by the same ExperimentReports:
the email shows the API's numbers. Labels and definitions come from the catalogue; the
sentences are the page's (web/src/messages.ts, x_sum*) in the subscription's language.
Variant names are producer data: escaped like every other value. The table keeps to five
narrow columns so it reads on a phone without scrolling.
"""
from __future__ import annotations

from html import escape
from typing import Any, Optional

from .. import catalogue

UI = {
    "en": {"title": "Experiment · {metric}", "rate": "Rate", "per_person": "Revenue per person",
           "baseline": "{v} (baseline)", "diff": "Difference {d}, between {lo} and {hi}",
           "winner": "Variant {v} is the best performer: {lift} {metric} vs {base}, confidence {conf}.",
           "winner_lower": "Variant {v} is the best performer: {lift} {metric} vs {base} (fewer is better), "
                           "confidence {conf}.",
           "baseline_wins": "The baseline {base} is the best performer: every variant does worse on {metric} "
                            "(confidence at least {conf}).",
           "running": "No winner yet: no variant differs from {base} on {metric} at the {level} confidence level "
                      "so far. Keep the experiment running.",
           "too_few": "No winner yet: too few people so far to compare the variants with {base}.",
           "inconclusive": "Inconclusive: the experiment ended without a variant that differs from {base} on "
                           "{metric} at the {level} confidence level.",
           "none": "No one has been sent a variant on this channel yet.",
           "srm": "People are not split as planned: planned {planned}, observed {observed}. The assignment or the "
                  "data is faulty: the results should not be trusted.",
           "contaminated": "{n} profiles were sent two variants: each counts in the first variant it received.",
           "bounds": "Lower bound / Upper bound"},
    "fr": {"title": "Expérience · {metric}", "rate": "Taux", "per_person": "Chiffre d’affaires par personne",
           "baseline": "{v} (référence)", "diff": "Écart {d}, entre {lo} et {hi}",
           "winner": "La variante {v} est la plus performante : {metric} {lift} par rapport à {base}, "
                     "confiance {conf}.",
           "winner_lower": "La variante {v} est la plus performante : {metric} {lift} par rapport à {base} "
                           "(moins, c’est mieux), confiance {conf}.",
           "baseline_wins": "La référence {base} est la plus performante : toutes les variantes font moins bien sur "
                            "« {metric} » (confiance d’au moins {conf}).",
           "running": "Pas encore de gagnant : aucune variante ne se distingue de {base} sur « {metric} » au niveau "
                      "de confiance de {level} pour l’instant. Laissez l’expérience se poursuivre.",
           "too_few": "Pas encore de gagnant : trop peu de personnes pour l’instant pour comparer les variantes "
                      "à {base}.",
           "inconclusive": "Non concluant : l’expérience s’est terminée sans qu’aucune variante ne se distingue de "
                           "{base} sur « {metric} » au niveau de confiance de {level}.",
           "none": "Personne n’a encore reçu de variante sur ce canal.",
           "srm": "Les personnes ne sont pas réparties comme prévu : prévu {planned}, observé {observed}. "
                  "L’affectation ou les données sont défaillantes : les résultats ne sont pas fiables.",
           "contaminated": "{n} profils ont reçu deux variantes : chacun compte dans la première variante reçue.",
           "bounds": "Borne inférieure / Borne supérieure"},
}
#: glossary entries the block adds (catalogue definitions)
GLOSSARY = ("people", "successes", "lift", "bounds", "confidence")
CELL = ' style="padding:3px 4px;border-bottom:1px solid #e5e7eb;word-break:break-word"'
NUM = ' align="right" style="padding:3px 4px;border-bottom:1px solid #e5e7eb;white-space:nowrap"'
HEAD = ' style="padding:3px 4px;border-bottom:2px solid #d1d5db;font-size:12px;color:#374151"'
HEAD_NUM = ' align="right" style="padding:3px 4px;border-bottom:2px solid #d1d5db;font-size:12px;color:#374151"'
SUB = ' colspan="5" style="padding:0 4px 6px;border-bottom:1px solid #e5e7eb;font-size:12px;color:#4b5563"'


def _number(x: float, decimals: int, lang: str, signed: bool = False, trim: bool = True) -> str:
    text = f"{x:+.{decimals}f}" if signed else f"{x:.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if signed and text in ("+0", "-0"):
        text = "0"
    return text.replace(".", ",") if lang == "fr" else text


def _pct(x: Optional[float], lang: str, signed: bool = False, decimals: int = 1) -> str:
    if x is None:
        return "—"
    return _number(x * 100, decimals, lang, signed) + ("\u00a0%" if lang == "fr" else "%")


def confidence(c: Optional[float], lang: str) -> str:
    """As the page: one decimal, two from 99.5 %, never a rounded 100 %."""
    if c is None:
        return "—"
    digits = 2 if c >= 0.995 else 1
    return _number(min(c, 0.9999) * 100, digits, lang, trim=False) + ("\u00a0%" if lang == "fr" else "%")


def _amount(x: Optional[float], doc: dict[str, Any], lang: str, signed: bool = False) -> str:
    """A difference of rates in percentage points, or an amount of money per person."""
    if x is None:
        return "—"
    if doc["metric"] == "revenue":
        text = _number(x, 2, lang, signed, trim=False)
        return f"{text}\u00a0{doc.get('currency') or ''}".rstrip()
    return _number(x * 100, 1, lang, signed, trim=False) + "\u00a0pt"


def metric_name(doc: dict[str, Any], lang: str) -> str:
    return catalogue.labels(lang).get(f"experiment.{doc['metric']}", doc["metric"])


def _in_sentence(label: str) -> str:
    return label[0].lower() + label[1:] if len(label) > 1 and label[1] == label[1].lower() else label


def summary(doc: dict[str, Any], lang: str) -> str:
    """The page's one-sentence summary (web/src/widgets/experiment.ts: summary)."""
    ui = UI[lang]
    base, metric = doc.get("baseline") or "", _in_sentence(metric_name(doc, lang))
    level = _pct(doc["confidence_level"], lang)
    rows = doc.get("variants") or []
    treatments = [r for r in rows if r["variant"] != base]
    if doc["status"] == "none" or not rows:
        return ui["none"]
    if doc["status"] == "winner" and doc["winner"] == base:
        conf = confidence(min((r["confidence"] or 0.0) for r in treatments), lang)
        return ui["baseline_wins"].format(base=base, metric=metric, conf=conf)
    if doc["status"] == "winner" and doc["winner"]:
        w = next(r for r in rows if r["variant"] == doc["winner"])
        lift = _pct(w["lift"], lang, signed=True) if w["lift"] is not None else _amount(w["difference"], doc, lang, True)
        key = "winner_lower" if doc["direction"] == "lower" else "winner"
        return ui[key].format(v=w["variant"], lift=lift, metric=metric, base=base, conf=confidence(w["confidence"], lang))
    if doc["status"] == "inconclusive":
        return ui["inconclusive"].format(base=base, metric=metric, level=level)
    if any(r["confidence"] is not None for r in treatments):
        return ui["running"].format(base=base, metric=metric, level=level)
    return ui["too_few"].format(base=base)


def _split(shares: dict[str, Any], lang: str) -> str:
    return " / ".join(f"{v} {_pct(s, lang)}" for v, s in shares.items())


def block(doc: dict[str, Any], lang: str) -> tuple[str, list[str]]:
    """(HTML, plain-text lines) of the experiment of one channel."""
    ui, labels = UI[lang], catalogue.labels(lang)
    c = "\u00a0:" if lang == "fr" else ":"
    title = ui["title"].format(metric=metric_name(doc, lang))
    sentence = summary(doc, lang)
    html = [f'<div data-experiment="{escape(doc["channel"])}" data-status="{escape(doc["status"])}" '
            'style="margin:12px 0 6px;padding:8px 10px;border:1px solid #d1d5db;border-radius:6px">',
            f'<div style="font-weight:bold;color:#374151">{escape(title)}</div>',
            f'<p data-summary="1" style="margin:4px 0 6px;font-weight:bold">{escape(sentence)}</p>']
    text = [title, sentence]
    srm = doc.get("sample_ratio")
    if srm and srm.get("mismatch"):
        line = ui["srm"].format(planned=_split(srm["planned"], lang), observed=_split(srm["observed"], lang))
        html.append(f'<p data-warning="sample-ratio" style="margin:0 0 6px;padding:6px 8px;background:#fef2f2;'
                    f'color:#991b1b;font-weight:bold">{escape(line)}</p>')
        text.append(f"!! {line}")
    if doc.get("contaminated_profiles"):
        line = ui["contaminated"].format(n=doc["contaminated_profiles"])
        html.append(f'<p style="margin:0 0 6px;color:#78350f;font-size:12px">{escape(line)}</p>')
        text.append(line)
    rows = doc.get("variants") or []
    if rows:
        value = doc["metric"] == "revenue"
        cols = [labels["variant"], labels["people"], metric_name(doc, lang) if value else labels["successes"],
                ui["per_person"] if value else ui["rate"], labels["confidence"]]
        html.append('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="font-size:13px">'
                    f'<tr><td{HEAD}>{escape(cols[0])}</td>'
                    + "".join(f"<td{HEAD_NUM}>{escape(x)}</td>" for x in cols[1:]) + "</tr>")
        for r in rows:
            html.append(_row(doc, r, lang, value))
            text.append(_text_row(doc, r, lang, value, c))
        html.append("</table>")
    html.append("</div>")
    return "".join(html), text + [""]


def _cells(doc: dict[str, Any], r: dict[str, Any], lang: str, value: bool) -> list[tuple[str, Any, str]]:
    """(column, raw value, text) of a row's numbers."""
    successes = _number(r["successes"], 2, lang, trim=False) if value else _fmt_int(r["successes"], lang)
    rate = (_amount(r["value"], doc, lang) if value else _pct(r["rate"], lang))
    return [("people", r["people"], _fmt_int(r["people"], lang)), ("successes", r["successes"], successes),
            ("value" if value else "rate", r["value"] if value else r["rate"], rate),
            ("confidence", r["confidence"], confidence(r["confidence"], lang))]


def _fmt_int(n: Any, lang: str) -> str:
    text = f"{int(n):,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def _row(doc: dict[str, Any], r: dict[str, Any], lang: str, value: bool) -> str:
    ui = UI[lang]
    is_base = r["variant"] == doc.get("baseline")
    name = ui["baseline"].format(v=r["variant"]) if is_base else r["variant"]
    tds = "".join(f'<td{NUM} data-col="{col}" data-value="{"" if raw is None else escape(str(raw))}">{escape(txt)}</td>'
                  for col, raw, txt in _cells(doc, r, lang, value))
    weight = "font-weight:bold;" if is_base else ""
    out = (f'<tr data-variant="{escape(r["variant"])}"><td{CELL[:-1]};{weight}">{escape(name)}</td>{tds}</tr>')
    if not is_base:
        lift = catalogue.labels(lang)["lift"]
        line = (f"{lift} {_pct(r['lift'], lang, signed=True)} · "
                + ui["diff"].format(d=_amount(r["difference"], doc, lang, True), lo=_amount(r["lower"], doc, lang, True),
                                    hi=_amount(r["upper"], doc, lang, True)))
        out += (f'<tr data-bounds="{escape(r["variant"])}" data-lift="{"" if r["lift"] is None else r["lift"]}" '
                f'data-lower="{"" if r["lower"] is None else r["lower"]}" data-upper="{"" if r["upper"] is None else r["upper"]}">'
                f'<td{SUB}>{escape(line)}</td></tr>')
    return out


def _text_row(doc: dict[str, Any], r: dict[str, Any], lang: str, value: bool, c: str) -> str:
    ui, labels = UI[lang], catalogue.labels(lang)
    is_base = r["variant"] == doc.get("baseline")
    name = ui["baseline"].format(v=r["variant"]) if is_base else r["variant"]
    cells = _cells(doc, r, lang, value)
    heads = {"people": labels["people"], "successes": labels["successes"], "rate": ui["rate"],
             "value": ui["per_person"], "confidence": labels["confidence"]}
    parts = [f"{heads[col].lower()} {txt}" for col, _, txt in cells if not (is_base and col == "confidence")]
    if not is_base:
        parts.insert(3, f"{labels['lift'].lower()} {_pct(r['lift'], lang, signed=True)}")
        parts.insert(4, ui["diff"].format(d=_amount(r["difference"], doc, lang, True),
                                          lo=_amount(r["lower"], doc, lang, True),
                                          hi=_amount(r["upper"], doc, lang, True)).lower())
    return f"  {name}{c} " + ", ".join(parts)

"""Report documents as CSV: one table per widget, separated by a blank line.

The first table, `context`, says what the file covers: the workspace, the
campaign, the report and channel, the period and the time zone its days were
read in (the period's bounds are written in that zone), so a file passed on
reads the same for everyone. Every producer-controlled cell is neutralised
against formula injection: a cell starting with = + - @ (or tab/CR) gets a
leading apostrophe, as OWASP recommends, so spreadsheets show it as text.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Iterable, Optional
from zoneinfo import ZoneInfo

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _table(out: csv.writer, title: str, header: list[str], rows: Iterable[list[Any]]) -> None:
    out.writerow([safe_cell(title)])
    out.writerow(header)
    for row in rows:
        out.writerow([safe_cell(c) if not isinstance(c, (int, float)) or isinstance(c, bool) else c for c in row])
    out.writerow([])


def _in_zone(iso: Optional[str], zone: ZoneInfo) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone).isoformat()


def context_rows(doc: dict[str, Any], workspace: str, tz: Optional[str] = None) -> list[list[str]]:
    """What the file covers. `tz`: the zone of a live report's reader (a global report names its own)."""
    period = doc.get("window") or {}
    rng = doc.get("range") or {}
    zone_name = rng.get("tz") or tz or "UTC"
    zone = ZoneInfo(zone_name)
    start = period.get("start") if period else rng.get("resolved_start")
    end = period.get("end") if period else rng.get("resolved_end")
    return [["workspace", workspace], ["campaign", doc.get("campaign_id", "")],
            ["report", "live" if period else "global"], ["channel", doc.get("tab") or doc.get("channel") or ""],
            ["period_start", _in_zone(start, zone)], ["period_end", _in_zone(end, zone)],
            *([["whole_life", "true"]] if rng.get("whole_life") else []), ["time_zone", zone_name]]


def report_csv(doc: dict[str, Any], workspace: Optional[str] = None, tz: Optional[str] = None) -> str:
    """Tables of a live or global report document (the shapes in docs/api-contract.md); with `workspace`,
    a `context` table first (context_rows)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    if workspace is not None:
        _table(out, "context", ["field", "value"], context_rows(doc, workspace, tz))
    totals = doc.get("totals", {})
    _table(out, "totals", ["metric", "count"], ([k, v] for k, v in totals.items()))
    if doc.get("distinct"):
        _table(out, "distinct", ["metric", "estimate", "lower", "upper"],
               ([m, n, doc.get("error_bound", {}).get(m, {}).get("lower"), doc.get("error_bound", {}).get(m, {}).get("upper")]
                for m, n in doc["distinct"].items()))
    if doc.get("distinct_combined"):  # opens incl. machine opens, openers or clickers (the rates' denominators)
        _table(out, "distinct combined", ["metric", "estimate"], ([m, n] for m, n in doc["distinct_combined"].items()))
    if doc.get("inferred") is not None:
        # sent and delivered as reported, what the other events prove beyond them, and the sum the rates use
        _table(out, "sent and delivered", ["metric", "reported", "inferred", "total"],
               ([m, totals.get(m, 0), n, totals.get(m, 0) + n] for m, n in doc["inferred"].items()))
    if doc.get("rates"):
        _table(out, "rates", ["rate", "value"], ([k, "" if v is None else v] for k, v in doc["rates"].items()))
    for name, rows in (doc.get("breakdowns") or {}).items():
        metrics = sorted({m for r in rows for m in r.get("counts", {})})
        _table(out, f"breakdown {name}", ["value", "count", "share", *metrics],
               ([r["value"], r["count"], "" if r.get("share") is None else r["share"],
                 *[r.get("counts", {}).get(m, 0) for m in metrics]] for r in rows))
    if doc.get("executions"):
        metrics = list(doc["executions"][0]["totals"])
        _table(out, "executions", ["execution_id", *metrics],
               ([r["execution_id"] or "", *[r["totals"][m] for m in metrics]] for r in doc["executions"]))
    if doc.get("channels"):
        metrics = list(doc["channels"][0]["totals"])
        _table(out, "channels", ["channel", *metrics], ([r["channel"], *[r["totals"][m] for m in metrics]] for r in doc["channels"]))
    for block, values in (doc.get("blocks") or {}).items():
        _table(out, block, ["indicator", "value"], ([k, "" if v is None else v] for k, v in values.items()))
    if "top_links" in doc:
        _table(out, "top links", ["url", "clicks", "share"], ([r["url"], r["clicks"], r["share"] or ""] for r in doc["top_links"]))
    if "errors_by_type" in doc:
        _table(out, "errors by type", ["error_type", "count", "share"], ([r["value"], r["count"], r["share"] or ""] for r in doc["errors_by_type"]))
    if "errors_by_domain" in doc:
        _table(out, "errors by domain", ["domain", "count", "errors", "bounces", "share"],
               ([r["value"], r["count"], r["errors"], r["bounces"], r["share"] or ""] for r in doc["errors_by_domain"]))
    if "by_domain" in doc:
        _table(out, "by domain", ["domain", "sent", "complaints", "opens", "clicks", "raw_reactivity"],
               ([r["domain"], r["sent"], r["complaints"], r["opens"], r["clicks"],
                 "" if r["raw_reactivity"] is None else r["raw_reactivity"]] for r in doc["by_domain"]))
    series = doc.get("series")
    if series and series.get("timestamps"):
        metrics = list(series["values"])
        _table(out, "series", ["start", *metrics],
               ([ts, *[series["values"][m][i] for m in metrics]] for i, ts in enumerate(series["timestamps"])))
    return buf.getvalue()

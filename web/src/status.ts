// What the page says about time: the period a report covers, and when the campaign's latest event came in.
import type { Doc } from "./api";
import { fmtDateTime, fmtRelative, getTimeZone, locale, t } from "./i18n";

/** The covered period in words, never beyond now (the future drawn as zeros read as "activity collapsed"),
 *  and the period KPI changes are compared with. */
export function periodText(doc: Doc, tz: string): string {
  const now = Date.now();
  const end = (iso?: string) => fmtDateTime(Math.min(now, Date.parse(iso ?? "") || now));
  let text = "";
  if (doc.window) text = t("periodLive", { start: fmtDateTime(doc.window.start), end: end(doc.window.end), tz });
  else if (doc.range) {
    text = t(doc.range.whole_life ? "periodWhole" : "periodRange",
      { start: fmtDateTime(doc.range.resolved_start), end: end(doc.range.resolved_end), tz });
  }
  const prev = doc.previous as Doc | null | undefined;
  if (text && prev?.period) text += ` · ${t("periodCompared", { start: fmtDateTime(prev.period.start), end: fmtDateTime(prev.period.end) })}`;
  return text;
}

/** The covered period for a CSV file's context line: "03/12/2026 21:27 – 04/12/2026 21:26 (Europe/Paris)",
 *  with the year, without the page's label ("Covers", "Période :") or the comparison period. */
export function periodSpan(doc: Doc, tz: string): string {
  const now = Date.now();
  const fmt = new Intl.DateTimeFormat(locale(), { timeZone: getTimeZone(), year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit" });
  const at = (iso?: string, cap = false) => fmt.format(cap ? Math.min(now, Date.parse(iso ?? "") || now) : Date.parse(iso ?? "") || now);
  if (doc.window) return `${at(doc.window.start)} – ${at(doc.window.end, true)} (${tz})`;
  if (!doc.range) return "";
  const span = `${at(doc.range.resolved_start)} – ${at(doc.range.resolved_end, true)} (${tz})`;
  return doc.range.whole_life ? t("csvWholeLife", { span }) : span;
}

/** ["Latest event received 3 minutes ago", its exact time]: a sending platform gone quiet shows. */
export function latestText(lastEvent: number | null): [string, string] {
  return lastEvent ? [t("latestEvent", { when: fmtRelative(lastEvent) }), fmtDateTime(lastEvent * 1000)] : [t("noEventYet"), ""];
}

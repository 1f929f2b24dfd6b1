// Client-side CSV from a widget's own data, in the page's language and time zone.
// French files use ";" and the decimal comma (what French Excel expects), shares are percentages,
// times are in the selected zone, and a few context lines say what the file is.
// Cells a spreadsheet would run as a formula are neutralised.
import { fmtDateTime, getLang, getTimeZone, t } from "./i18n";
import type { TableData } from "./widgets/model";

const FORMULA = /^[=+\-@\t\r]/;

/** What the file covers, written as its first lines. */
export interface CsvContext {
  workspace: string; campaign: string; tab: string; period: string; timeZone: string; executions: string;
  extra?: [string, string][]; // lines a tab adds (the experiment's channel, metric, baseline…)
}

function separator(): string { return getLang() === "fr" ? ";" : ","; }

export function csvCell(v: unknown, sep = separator()): string {
  let s = v === null || v === undefined ? "" : String(v);
  if (typeof v === "string" && FORMULA.test(s)) s = `'${s}`;
  return s.includes(sep) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A number as spreadsheets of the language read it: no grouping, decimal comma in French. */
function number(v: number, decimals: number): string {
  const text = Number.isInteger(v) && decimals === 0 ? String(v) : v.toFixed(decimals).replace(/\.?0+$/, "");
  return getLang() === "fr" ? text.replace(".", ",") : text;
}

function pct(v: number | null): string { return v === null ? "" : `${number(v * 100, 2)}${getLang() === "fr" ? " %" : "%"}`; }

/** Time column values: the selected zone, with the zone named in the header. */
function time(v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return v;
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: getTimeZone(), year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(d);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

export function toCsv(tables: TableData[], kpiRows: [string, number | null, boolean][] = [], context?: CsvContext): string {
  const sep = separator();
  const line = (cells: unknown[]) => cells.map((c) => csvCell(c, sep)).join(sep);
  const lines: string[] = [];
  if (context) {
    lines.push(line([t("csvWorkspace"), context.workspace]), line([t("csvCampaign"), context.campaign]),
      line([t("csvTab"), context.tab]), line([t("csvPeriod"), context.period]), line([t("csvTimeZone"), context.timeZone]),
      ...(context.extra ?? []).map(([k, v]) => line([k, v])),
      line([t("csvExecutions"), context.executions]),
      line([t("csvGenerated"), `${fmtDateTime(Date.now())} (${getTimeZone()})`]), "");
  }
  if (kpiRows.length) {
    lines.push(line([t("csvMetric"), t("value")]));
    for (const [label, value, percent] of kpiRows) lines.push(line([label, value === null ? "" : percent ? pct(value) : number(value, 0)]));
  }
  for (const table of tables) {
    if (lines.length && lines[lines.length - 1] !== "") lines.push("");
    lines.push(line(table.columns.map((c) => (c.type === "time" ? `${c.label} (${getTimeZone()})`
      : c.type === "pt" ? `${c.label} (pt)` : (c.type === "dec" || c.type === "sdec") && c.currency ? `${c.label} (${c.currency})` : c.label))));
    for (const row of table.total ? [...table.rows, table.total] : table.rows) {
      lines.push(line(table.columns.map((c) => {
        const v = row[c.key];
        if (v === null || v === undefined) return "";
        if (c.type === "pct" || c.type === "spct" || c.type === "conf") return typeof v === "number" ? pct(v) : "";
        if (c.type === "pt") return typeof v === "number" ? number(v * 100, 4) : "";
        if (c.type === "dec" || c.type === "sdec") return typeof v === "number" ? number(v, 4) : "";
        if (c.type === "int") return typeof v === "number" ? number(v, 0) : v;
        if (c.type === "time") return time(String(v));
        return v;
      })));
    }
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function download(filename: string, text: string): void {
  const blob = new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename.replace(/[^\w.-]+/g, "_");
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

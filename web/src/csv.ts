// Client-side CSV from a widget's own data. Cells a spreadsheet would run as a formula are neutralised.
import type { TableData } from "./widgets/model";

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  if (typeof v === "string" && FORMULA.test(s)) s = `'${s}`;
  return /[",\r\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(tables: TableData[], kpiRows: [string, string, number | null][] = []): string {
  const lines: string[] = [];
  if (kpiRows.length) {
    lines.push(["metric", "label", "value"].map(csvCell).join(","));
    for (const r of kpiRows) lines.push(r.map(csvCell).join(","));
  }
  for (const table of tables) {
    if (lines.length) lines.push("");
    lines.push(table.columns.map((c) => csvCell(c.label)).join(","));
    for (const row of table.rows) lines.push(table.columns.map((c) => csvCell(row[c.key])).join(","));
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

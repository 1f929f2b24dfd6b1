// Sortable tables. Producer strings go in as text; URLs become links only when http(s). A Total row sits in the
// table's foot, kept in view (sticky) while the rows scroll; a scrolling table shows whole rows only (fitWholeRows).
import { clear, h, safeLink } from "./dom";
import { fmtConfidence, fmtDateTime, fmtDec, fmtInt, fmtPct, fmtPt, fmtSignedPct, t } from "./i18n";
import type { Column, TableData } from "./widgets/model";

type Cell = string | number | null;

function formatCell(col: Column, v: Cell): Node | string {
  if (col.type === "int") return typeof v === "number" ? fmtInt(v) : t("dash");
  if (col.type === "pct") return typeof v === "number" ? fmtPct(v) : t("dash");
  if (col.type === "conf") return typeof v === "number" ? fmtConfidence(v) : t("dash");
  if (col.type === "spct") return typeof v === "number" ? fmtSignedPct(v) : t("dash");
  if (col.type === "pt") return typeof v === "number" ? fmtPt(v) : t("dash");
  if (col.type === "dec" || col.type === "sdec") return typeof v === "number" ? fmtDec(v, col.currency, col.type === "sdec") : t("dash");
  if (col.type === "time") return typeof v === "string" ? fmtDateTime(v) : "";
  if (col.type === "url") return safeLink(String(v ?? ""));
  return String(v ?? "");
}

const numeric = (col: Column) => !["text", "url", "time"].includes(col.type);

export class SortableTable {
  readonly el: HTMLTableElement;
  private data: TableData | null = null;
  private sort: { key: string; dir: 1 | -1 } | null = null;
  private sig = "";
  /** Called after each draw (a sort too): the widget fits the scrolling area to whole rows. */
  onRender: () => void = () => undefined;

  constructor(private caption: string) {
    this.el = h("table", { class: "data-table" });
  }

  set(data: TableData, force = false): void {
    const sig = JSON.stringify(data);
    if (!force && sig === this.sig) return;
    this.sig = sig;
    this.data = data;
    this.render();
  }

  setCaption(c: string): void { this.caption = c; this.sig = ""; }

  private sortedRows(): Record<string, Cell>[] {
    const rows = [...(this.data?.rows ?? [])];
    if (!this.sort) return rows;
    const { key, dir } = this.sort;
    rows.sort((a, b) => {
      const x = a[key], y = b[key];
      if (typeof x === "number" && typeof y === "number") return (x - y) * dir;
      if (x === null) return 1;
      if (y === null) return -1;
      return String(x).localeCompare(String(y)) * dir;
    });
    return rows;
  }

  private row(data: TableData, row: Record<string, Cell>): HTMLTableRowElement {
    const tr = h("tr", { "data-row": String(row[data.rowKey] ?? "") });
    data.columns.forEach((col, i) => {
      const v = row[col.key] ?? null;
      const cell = h(i === 0 ? "th" : "td", {
        "data-col": col.key, "data-value": v === null ? "" : String(v), class: cellClass(col), scope: i === 0 ? "row" : null,
      });
      cell.append(formatCell(col, v));
      tr.append(cell);
    });
    return tr;
  }

  private render(): void {
    const data = this.data!;
    clear(this.el);
    this.el.append(h("caption", { class: "sr-only", text: this.caption }));
    const head = h("tr");
    for (const col of data.columns) {
      const sorted = this.sort?.key === col.key;
      const ariaSort = sorted ? (this.sort!.dir === 1 ? "ascending" : "descending") : "none";
      const btn = h("button", { type: "button", class: col.def ? "sort has-def" : "sort",
        "aria-label": t("sortBy", { col: col.label }), title: col.def || null },
        col.label, h("span", { class: "sort-mark", "aria-hidden": "true", text: sorted ? (this.sort!.dir === 1 ? " ▲" : " ▼") : "" }));
      btn.addEventListener("click", () => {
        this.sort = sorted ? { key: col.key, dir: this.sort!.dir === 1 ? -1 : 1 } : { key: col.key, dir: col.type === "text" || col.type === "url" ? 1 : -1 };
        this.render();
        (this.el.querySelector(`th[data-col="${CSS.escape(col.key)}"] button`) as HTMLButtonElement | null)?.focus();
      });
      head.append(h("th", { scope: "col", "aria-sort": ariaSort, "data-col": col.key, class: cellClass(col) }, btn));
    }
    const body = h("tbody");
    const rows = this.sortedRows();
    if (!rows.length) {
      body.append(h("tr", {}, h("td", { colspan: data.columns.length, class: "empty", text: t("noRows") })));
    }
    for (const row of rows) body.append(this.row(data, row));
    this.el.append(h("thead", {}, head), body);
    if (data.total) this.el.append(h("tfoot", {}, this.row(data, data.total)));
    this.onRender();
  }
}

function cellClass(col: Column): string {
  return [numeric(col) ? "num" : "", col.optional ? "opt" : ""].filter(Boolean).join(" ");
}

/** A table that scrolls inside `wrap` shows whole rows: the visible height is cut after the last row that fits,
 *  so no row is half shown (the header and a Total foot stay in view, sticky). Called after each draw and resize. */
export function fitWholeRows(wrap: HTMLElement): void {
  wrap.style.maxHeight = "";
  const table = wrap.querySelector("table");
  const avail = wrap.clientHeight;
  if (!table || !avail || wrap.scrollHeight <= avail + 1) return;
  const head = table.tHead?.offsetHeight ?? 0;
  const foot = table.tFoot?.offsetHeight ?? 0;
  let used = head + foot;
  for (const tr of Array.from(table.tBodies[0]?.rows ?? [])) {
    if (used + tr.offsetHeight > avail) break;
    used += tr.offsetHeight;
  }
  if (used < avail) wrap.style.maxHeight = `${used}px`;
}

// One widget's body: KPI tiles, a chart with its table alternative, tables. Updated in place on refresh.
import { Chart } from "../charts";
import { clear, h } from "../dom";
import { definition, fmtDelta, fmtInt, fmtPct, t, trendTone } from "../i18n";
import { fitWholeRows, SortableTable } from "../table";
import { type CsvContext, toCsv } from "../csv";
import type { Kpi, WidgetData, WidgetDef } from "./model";

export class WidgetView {
  readonly body: HTMLElement;
  private kpiBox = h("div", { class: "kpis" });
  private chartEl: HTMLElement | null = null;
  private chart: Chart | null = null;
  private table: SortableTable;
  private table2: SortableTable;
  private tableWrap = h("div", { class: "table-wrap" });
  private table2Wrap = h("div", { class: "table-wrap" });
  private data: WidgetData = {};
  private observer: ResizeObserver;
  private sized = "";
  showTable = false; // chart widgets: the marketer switched to the table view

  constructor(readonly def: WidgetDef, private title: () => string) {
    this.body = h("div", { class: `widget-body kind-${def.kind.replace("+", "-")}` });
    this.table = new SortableTable(title());
    this.table2 = new SortableTable(title());
    this.tableWrap.append(this.table.el);
    this.table2Wrap.append(this.table2.el);
    this.table.onRender = this.table2.onRender = () => this.fitTables();
    // A resized widget fits its tables again; on a phone the height follows the content (refitting would
    // change it again), so only a new width counts there.
    this.observer = new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      const sized = `${Math.round(width)}x${matchMedia("(max-width: 760px)").matches ? "" : Math.round(height)}`;
      if (sized !== this.sized) { this.sized = sized; this.fitTables(); }
    });
    this.observer.observe(this.body);
  }

  /** Scrolling tables show whole rows (no half row at the bottom). */
  fitTables(): void {
    for (const wrap of [this.tableWrap, this.table2Wrap]) {
      if (wrap.isConnected && !wrap.classList.contains("sr-only")) fitWholeRows(wrap);
      else wrap.style.maxHeight = "";
    }
  }

  hasChart(): boolean { return !!this.data.chart; }

  update(data: WidgetData, force = false): void {
    this.data = data;
    this.renderNote(data.note ?? "");
    if (data.kpis) this.renderKpis(data.kpis);
    if (data.chart) {
      if (!this.chartEl) {
        this.chartEl = h("div", { class: `chart chart-${data.chart.type}`, role: "img" });
        this.body.append(this.chartEl);
        this.chart = new Chart(this.chartEl);
      }
      this.chartEl.setAttribute("aria-label", t("chartSummary", { title: this.title() }));
      this.chartEl.dataset.series = data.chart.series.map((x) => x.key).join(","); // what it draws, for tools and tests
      if (force) this.chart!.invalidate();
      this.chart!.set(data.chart);
    }
    if (data.table) {
      if (!this.tableWrap.isConnected) this.body.append(this.tableWrap);
      if (force) this.table.setCaption(this.title());
      this.table.set(data.table, force);
    }
    if (data.table2) {
      if (!this.table2Wrap.isConnected) this.body.append(this.table2Wrap);
      this.table2.set(data.table2, force);
    }
    this.applyView();
  }

  /** Time charts keep their table for screen readers only, unless the table view is chosen. */
  applyView(): void {
    const alt = !!this.data.table?.alternative;
    const c = this.data.chart;
    // A bar or donut with nothing to draw is left out: the table says "nothing in this period".
    const empty = !!c && c.type !== "time" && c.type !== "band" && !c.series.some((s) => s.values.some((v) => v > 0));
    this.chartEl?.classList.toggle("hidden", this.showTable || empty);
    this.chartEl?.setAttribute("aria-hidden", alt && !this.showTable ? "true" : "false");
    this.tableWrap.classList.toggle("sr-only", alt && !this.showTable);
    this.body.classList.toggle("table-view", this.showTable);
    this.fitTables();
  }

  /** The widget's sentence (why a send has no plan), first in its body; gone when there is nothing to say. */
  private renderNote(text: string): void {
    let el = this.body.querySelector<HTMLElement>(":scope > .widget-note");
    if (!text) { el?.remove(); return; }
    if (!el) { el = h("p", { class: "widget-note" }); this.body.prepend(el); }
    setText(el, text);
  }

  private renderKpis(list: Kpi[]): void {
    if (!this.kpiBox.isConnected) {
      const note = this.body.querySelector(":scope > .widget-note");
      if (note) note.after(this.kpiBox); else this.body.prepend(this.kpiBox);
    }
    const keys = list.map((k) => k.key).join(",");
    if (this.kpiBox.dataset.keys !== keys) {
      clear(this.kpiBox);
      this.kpiBox.dataset.keys = keys;
      for (const k of list) {
        this.kpiBox.append(h("div", { class: "kpi", "data-metric": k.key },
          h("div", { class: "kpi-label" }), h("div", { class: "kpi-value" }), h("div", { class: "kpi-note" }), h("div", { class: "kpi-rate" }),
          h("div", { class: "kpi-rate-delta" }), h("div", { class: "kpi-delta" })));
      }
    }
    list.forEach((k, i) => {
      const tile = this.kpiBox.children[i] as HTMLElement;
      const [labelEl, valueEl, noteEl, rateEl, rateDeltaEl, deltaEl] = Array.from(tile.children) as HTMLElement[];
      setText(labelEl, k.label);
      // Definitions on hover and keyboard focus (a tooltip drawn by CSS from data-def, read by title/aria).
      const def = definition(k.key);
      if (def && labelEl.dataset.def !== def) {
        labelEl.dataset.def = def;
        labelEl.title = def;
        labelEl.tabIndex = 0;
        labelEl.classList.add("has-def");
      }
      const text = k.text ?? (k.percent ? fmtPct(k.value) : fmtInt(k.value));
      setText(valueEl, text);
      valueEl.dataset.src = k.src;
      valueEl.dataset.value = k.value === null ? "" : String(k.value);
      showInferred(noteEl, k);
      if (k.rate) {
        setText(rateEl, `${k.rate.label} ${fmtPct(k.rate.value)}`);
        rateEl.dataset.rate = k.rate.name;
        rateEl.dataset.value = k.rate.value === null ? "" : String(k.rate.value);
        const rateDef = definition(k.rate.name);
        if (rateDef) rateEl.title = rateDef;
      } else {
        setText(rateEl, "");
      }
      // Change against the previous equal period (the API's `previous` block), for the figure and its rate;
      // coloured by whether that way is good news (the catalogue says), with the word for screen readers.
      showTrend(deltaEl, k.key, k.value, k.previous, !!k.percent);
      showTrend(rateDeltaEl, k.rate?.name ?? "", k.rate?.value ?? null, k.rate ? k.rate.previous : undefined, true);
    });
  }

  csv(context: CsvContext): string {
    const kpis = (this.data.kpis ?? []).flatMap((k) => {
      const rows: [string, number | null, boolean][] = [[k.label, k.value, !!k.percent]];
      // "Sent 45", then "Sent: reported 13" and "Sent: inferred 32" (what the tile's note says)
      if (k.inferred) rows.push([t("csvReported", { label: k.label }), k.inferred.reported, false],
        [t("csvInferred", { label: k.label }), k.inferred.inferred, false]);
      if (k.rate) rows.push([k.rate.label, k.rate.value, true]);
      return rows;
    });
    return toCsv([this.data.table, this.data.table2].filter((x) => !!x) as never, kpis, context);
  }

  dispose(): void { this.observer.disconnect(); this.chart?.dispose(); }
}

/** "▲ +163" (or "=") in `el`, classed better / worse / same by the figure's direction; empty when not compared. */
function showTrend(el: HTMLElement, name: string, value: number | null, previous: number | null | undefined, percent: boolean): void {
  const delta = previous === undefined ? "" : fmtDelta(value, previous, percent);
  setText(el, delta);
  const tone = delta ? trendTone(name, value, previous, percent) : "";
  el.dataset.previous = previous === undefined || previous === null ? "" : String(previous);
  el.dataset.tone = tone;
  el.className = `${el.classList.contains("kpi-rate-delta") ? "kpi-rate-delta" : "kpi-delta"}${tone ? ` ${tone}` : ""}`;
  if (!delta) { el.removeAttribute("title"); el.removeAttribute("aria-label"); return; }
  const before = previous === null || previous === undefined ? t("dash") : percent ? fmtPct(previous) : fmtInt(previous);
  el.title = t("vsPreviousTitle", { value: before });
  const word = tone === "better" ? `, ${t("trendBetter")}` : tone === "worse" ? `, ${t("trendWorse")}` : "";
  el.setAttribute("aria-label", `${t("vsPrevious", { delta })}${word}; ${el.title}`);
}

/** "13 reported, 32 inferred" under a sent or delivered figure the source did not fully report. */
function showInferred(el: HTMLElement, k: Kpi): void {
  const i = k.inferred;
  // French: "1 déduit", "2 déduits" (0 and 1 are singular)
  setText(el, i ? `${t(i.reported > 1 ? "inferredReported" : "inferredReportedOne", { n: fmtInt(i.reported) })}, ${
    t(i.inferred > 1 ? "inferredInferred" : "inferredInferredOne", { n: fmtInt(i.inferred) })}` : "");
  el.dataset.reported = i ? String(i.reported) : "";
  el.dataset.inferred = i ? String(i.inferred) : "";
  const def = i ? definition(i.name) : "";
  if (def) el.title = def; else el.removeAttribute("title");
}

function setText(el: HTMLElement, s: string): void {
  if (el.textContent !== s) el.textContent = s;
}

// Apache ECharts, tree-shaken, drawn as SVG. Tooltips are HTML in ECharts, so every name in them is escaped here.
import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import { bandOption } from "./bandChart";
import { escapeHtml } from "./dom";
import { fmtInt, fmtPct } from "./i18n";
import type { ChartData } from "./widgets/model";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

// At least 3:1 against white (WCAG 1.4.11 for graphical objects); distinguishable in pairs.
export const PALETTE = ["#1d4ed8", "#c2410c", "#047857", "#b91c1c", "#6d28d9", "#a16207", "#0e7490", "#be185d"];

interface TooltipParam { marker?: string; seriesName?: string; name?: string; value?: unknown; percent?: number; axisValueLabel?: string }

function tooltipFormatter(percent: boolean) {
  return (raw: unknown): string => {
    const list = (Array.isArray(raw) ? raw : [raw]) as TooltipParam[];
    const head = list[0]?.axisValueLabel ?? "";
    const lines = list.map((p) => {
      const name = list.length === 1 && !p.axisValueLabel ? p.name : p.seriesName;
      const v = percent ? fmtPct(Number(p.value)) : fmtInt(Number(p.value));
      const share = p.percent !== undefined ? ` (${escapeHtml(fmtPct(p.percent / 100))})` : "";
      // p.marker is ECharts' own colour dot; names and values are escaped.
      return `${p.marker ?? ""}${escapeHtml(name)}: <b>${escapeHtml(v)}</b>${share}`;
    });
    return (head ? `${escapeHtml(head)}<br/>` : "") + lines.join("<br/>");
  };
}

/** Axis numbers in the page's language (1 800 in French, 1,800 in English), never ECharts' own "1,800". */
export function axisNumber(v: number): string { return fmtInt(v); }

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Top of the plot under a wrapping legend: its rows estimated from label lengths and the chart's width. */
export function legendTop(labels: string[], width: number): number {
  const total = labels.reduce((n, l) => n + l.length * 7 + 38, 0);
  return 10 + 22 * Math.max(1, Math.ceil(total / Math.max(160, width - 40)));
}

/** What a chart's legend lists (a band chart lists each band beside its line). */
function legendLabels(data: ChartData): string[] {
  return [...data.series.map((x) => x.label), ...(data.bands ?? []).map((b) => b.label ?? "")].filter(Boolean);
}

export function optionFor(data: ChartData, width = 600): echarts.EChartsCoreOption {
  const base = {
    color: PALETTE,
    animationDuration: 300,
    animationDurationUpdate: 300,
    textStyle: { fontFamily: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", color: "#1f2937" },
    tooltip: { trigger: data.type === "donut" ? "item" : "axis", confine: true, formatter: tooltipFormatter(!!data.percent) },
  };
  if (data.type === "donut") {
    return {
      ...base,
      legend: { bottom: 0, type: "plain", formatter: (n: string) => truncate(n, 28) },
      series: [{
        type: "pie", radius: ["42%", "68%"], center: ["50%", "45%"], avoidLabelOverlap: true,
        label: { show: false }, itemStyle: { borderColor: "#fff", borderWidth: 2 },
        data: data.categories.map((c, i) => ({ name: c, value: data.series[0]?.values[i] ?? 0 })),
      }],
    };
  }
  if (data.type === "bar") {
    const horizontal = data.series.length === 1;
    const cat = { type: "category", data: data.categories, inverse: horizontal,
      axisLabel: { width: horizontal ? 170 : 90, overflow: horizontal ? "break" : "truncate", lineHeight: 14, color: "#374151" }, axisTick: { show: false } };
    const val = { type: "value", minInterval: 1, axisLabel: { color: "#374151", formatter: axisNumber }, splitLine: { lineStyle: { color: "#e5e7eb" } } };
    return {
      ...base,
      legend: data.series.length > 1 ? { top: 0, type: "scroll" } : { show: false },
      grid: { left: 8, right: 16, top: data.series.length > 1 ? 28 : 8, bottom: 8, containLabel: true },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? cat : val,
      series: data.series.map((s) => ({ id: s.key, type: "bar", name: s.label, data: s.values, barMaxWidth: 28 })),
    };
  }
  if (data.type === "band") return bandOption(data, base, PALETTE, legendTop(legendLabels(data), width));
  return {
    ...base,
    // A plain legend wraps instead of paging ("1/2" hid series); the plot starts below it.
    legend: { top: 0, type: "plain", itemGap: 8 },
    grid: { left: 8, right: 16, top: legendTop(data.series.map((x) => x.label), width), bottom: 8, containLabel: true },
    // The first and last times align inward: centred on the ends they ran into the "0" of the value axis and off the edge.
    xAxis: { type: "category", data: data.categories, boundaryGap: false,
      axisLabel: { color: "#374151", hideOverlap: true, showMinLabel: true, alignMinLabel: "left", alignMaxLabel: "right", margin: 10 } },
    yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#374151", formatter: axisNumber }, splitLine: { lineStyle: { color: "#e5e7eb" } } },
    // Series keep their id across refreshes: ECharts updates a line in place instead of drawing it anew from the left.
    series: data.series.map((s) => ({ id: s.key, type: "line", name: s.label, data: s.values, showSymbol: false, smooth: false, lineStyle: { width: 2 } })),
  };
}

export class Chart {
  private chart: echarts.ECharts;
  private observer: ResizeObserver;
  private lastSig = "";
  private data: ChartData | null = null;
  private top = 0;

  constructor(private el: HTMLElement) {
    // SVG: sharp at any zoom, and its labels are text (in the page's language, see axisNumber) tools and tests can read.
    this.chart = echarts.init(el, undefined, { renderer: "svg" });
    this.observer = new ResizeObserver(() => {
      this.chart.resize();
      // A narrower chart wraps its legend onto more rows: move the plot down with it.
      if ((this.data?.type === "time" || this.data?.type === "band") && legendTop(legendLabels(this.data), this.el.clientWidth) !== this.top) {
        this.lastSig = "";
        this.set(this.data);
      }
    });
    this.observer.observe(el);
  }

  /** Updates in place (no re-creation, no flicker); skips identical data. */
  set(data: ChartData): void {
    const sig = JSON.stringify(data);
    if (sig === this.lastSig) return;
    this.lastSig = sig;
    this.data = data;
    this.top = legendTop(legendLabels(data), this.el.clientWidth);
    this.chart.setOption(optionFor(data, this.el.clientWidth), { replaceMerge: ["series", "xAxis", "yAxis", "legend", "grid"], lazyUpdate: true });
  }

  /** Forget the cached data so the next set() redraws (e.g. after a language change). */
  invalidate(): void { this.lastSig = ""; }

  dispose(): void {
    this.observer.disconnect();
    this.chart.dispose();
  }
}

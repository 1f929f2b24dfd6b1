// The Experimentation tab's chart: per treatment, its difference with the baseline over time (a line) inside its
// confidence band (the area between the lower and upper bounds), and the zero line: a band that leaves zero is a
// winner (or a loser). Times are real instants (a time axis): points are a minute apart today, an hour before.
import type * as echarts from "echarts/core";
import { use } from "echarts/core";
import { MarkLineComponent } from "echarts/components";
import { escapeHtml } from "./dom";
import { fmtDateTime, fmtDec, fmtPt } from "./i18n";
import type { ChartData } from "./widgets/model";

use([MarkLineComponent]);

interface Param { seriesName?: string; seriesIndex?: number; marker?: string; dataIndex?: number; axisValue?: number }

export function bandOption(data: ChartData, base: Record<string, unknown>, palette: string[], legendTop: number): echarts.EChartsCoreOption {
  const times = data.times ?? [];
  const fmt = (v: number | null | undefined) => (data.unit === "dec" ? fmtDec(v, null, true) : fmtPt(v));
  const at = (values: (number | null)[]) => times.map((ts, i) => [ts, values[i] ?? null]);
  const series: Record<string, unknown>[] = [];
  data.series.forEach((s, i) => {
    const color = palette[i % palette.length];
    const band = data.bands?.[i];
    if (band) {
      // The band: the lower bound (an invisible line), then the width stacked on it as a tinted area.
      // 'all' stacks whatever the signs (a band below zero has a negative lower bound and a positive width).
      const width = band.upper.map((u, j) => (u === null || band.lower[j] === null ? null : u - (band.lower[j] as number)));
      const common = { type: "line", stack: `band-${i}`, stackStrategy: "all", symbol: "none", silent: true,
        lineStyle: { opacity: 0 }, tooltip: { show: false }, emphasis: { disabled: true }, connectNulls: false };
      series.push({ ...common, name: `${s.label}·lo`, data: at(band.lower) });
      series.push({ ...common, name: band.label ?? `${s.label}·band`, data: at(width), areaStyle: { color, opacity: 0.18 },
        itemStyle: { color, opacity: 0.35 } });
    }
    series.push({ type: "line", name: s.label, data: at(s.values), showSymbol: times.length < 3, symbolSize: 5,
      lineStyle: { width: 2, color }, itemStyle: { color }, connectNulls: false,
      ...(i === 0 ? { markLine: { silent: true, symbol: "none", label: { show: false },
        lineStyle: { color: "#374151", type: "solid", width: 1 }, data: [{ yAxis: 0 }] } } : {}) });
  });
  const tooltip = (raw: unknown): string => {
    const list = (Array.isArray(raw) ? raw : [raw]) as Param[];
    const first = list[0];
    if (!first || first.dataIndex === undefined) return "";
    const k = first.dataIndex;
    const lines = data.series.map((s, i) => {
      const band = data.bands?.[i];
      const marker = list.find((p) => p.seriesName === s.label)?.marker ?? "";
      const bounds = band && band.lower[k] !== null && band.upper[k] !== null
        ? ` [${escapeHtml(fmt(band.lower[k]))} ; ${escapeHtml(fmt(band.upper[k]))}]` : "";
      return `${marker}${escapeHtml(s.label)}: <b>${escapeHtml(fmt(s.values[k]))}</b>${bounds}`;
    });
    return `${escapeHtml(fmtDateTime(times[k] ?? ""))}<br/>${lines.join("<br/>")}`;
  };
  return {
    ...base,
    tooltip: { trigger: "axis", confine: true, formatter: tooltip },
    legend: { top: 0, type: "plain", itemGap: 8,
      data: data.series.flatMap((s, i) => [s.label, ...(data.bands?.[i]?.label ? [data.bands[i].label as string] : [])]) },
    grid: { left: 8, right: 16, top: legendTop, bottom: 8, containLabel: true },
    xAxis: { type: "time", axisLabel: { color: "#374151", hideOverlap: true, alignMinLabel: "left", alignMaxLabel: "right", margin: 10, formatter: (v: number) => fmtDateTime(v) } },
    yAxis: { type: "value", scale: false, axisLabel: { color: "#374151", formatter: (v: number) => fmt(v) },
      splitLine: { lineStyle: { color: "#e5e7eb" } } },
    series,
  };
}

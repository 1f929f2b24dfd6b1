// Builders shared by the widget definitions: they turn API documents into WidgetData.
import type { Doc } from "../api";
import { fmtBucket, label, t, valueLabel } from "../i18n";
import type { Column, Kpi, Series, TableData, WidgetData } from "./model";

type KpiSpec = [metric: string, src: string, rate?: string];

function at(doc: Doc, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), doc);
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** KPI tiles: [metric, path in the document, optional rate name]. */
export function kpis(doc: Doc, specs: KpiSpec[], labels: Record<string, string> = {}): Kpi[] {
  const prev = doc.previous as Doc | null | undefined;
  return specs.map(([metric, src, rate]) => ({
    key: metric,
    label: labels[metric] ?? label(metric),
    value: num(at(doc, src)) ?? 0,
    src,
    previous: prev ? num(at(prev, src)) : undefined,
    rate: rate ? { name: rate, label: label(rate), value: num(doc.rates?.[rate]), previous: prev ? num(prev.rates?.[rate]) : undefined } : undefined,
  }));
}

/** Where a tile's reported count lives -> where the API puts what the source never reported but proved
 *  (catalogue.inferred): live reports carry `inferred.<metric>`, the global report's delivery block
 *  `<metric>_inferred` beside the count. */
function inferredSrc(src: string): string | null {
  const live = /^totals\.(sent|delivered)$/.exec(src);
  if (live) return `inferred.${live[1]}`;
  const block = /^(blocks\.delivery_overview)\.(sent|delivered)$/.exec(src);
  return block ? `${block[1]}.${block[2]}_inferred` : null;
}

/** Sent and delivered tiles count what the source reported plus what its other events prove (a delivery,
 *  bounce or error proves a send; an open or click a delivery), so rates stay within 100 %; the tile says
 *  how many were inferred ("45" over "13 reported, 32 inferred"). Comparisons use the same sum. */
export function withInferred(doc: Doc, tiles: Kpi[]): Kpi[] {
  const prev = doc.previous as Doc | null | undefined;
  return tiles.map((k) => {
    const isrc = inferredSrc(k.src);
    const extra = isrc ? num(at(doc, isrc)) ?? 0 : 0;
    if (!isrc || !extra || k.value === null) return k;
    const before = prev && typeof k.previous === "number" ? k.previous + (num(at(prev, isrc)) ?? 0) : k.previous;
    return { ...k, value: k.value + extra, previous: before,
      inferred: { reported: k.value, inferred: extra, name: `inferred_${isrc.includes("sent") ? "sent" : "delivered"}` } };
  });
}

/** Rate tiles (percentages) for the rates the document carries, in the given order. */
export function rateKpis(doc: Doc, names: string[]): Kpi[] {
  const prev = doc.previous as Doc | null | undefined;
  return names.filter((n) => doc.rates && n in doc.rates).map((n) => ({
    key: n, label: label(n), value: num(doc.rates[n]), src: `rates.${n}`, percent: true,
    previous: prev ? num(prev.rates?.[n]) : undefined,
  }));
}

/** Slots that started by now: a chart never runs into the future as zeros ("activity collapsed"). */
export function untilNow(times: string[], now = Date.now()): number {
  let n = 0;
  while (n < times.length && Date.parse(times[n]) <= now) n += 1;
  return n;
}

/** A chart over time from `series` plus its table alternative (a row per bucket). */
export function timeChart(doc: Doc, metrics: string[], labels: Record<string, string> = {}): WidgetData {
  const s = doc.series ?? { timestamps: [], values: {}, step_seconds: 3600 };
  const all: string[] = s.timestamps ?? [];
  const times = all.slice(0, untilNow(all));
  const step: number = s.step_seconds ?? 3600;
  const categories = times.map((ts) => fmtBucket(ts, step));
  // "distinct.<metric>": distinct profiles per slot (hourly series only; absent for minute steps)
  const series: Series[] = metrics
    .filter((m) => !m.startsWith("distinct.") || s.distinct?.[m.slice(9)] !== undefined)
    .map((m) => ({
      key: m, label: labels[m] ?? label(m),
      values: (((m.startsWith("distinct.") ? s.distinct?.[m.slice(9)] : s.values?.[m]) ?? times.map(() => 0)) as number[]).slice(0, times.length),
    }));
  const columns: Column[] = [{ key: "time", label: t("time"), type: "time" },
    ...series.map((x) => ({ key: x.key, label: x.label, type: "int" as const }))];
  const rows = times.map((ts, i) => {
    const row: Record<string, string | number | null> = { time: ts };
    for (const x of series) row[x.key] = x.values[i] ?? 0;
    return row;
  });
  return { chart: { type: "time", categories, series }, table: { columns, rows, rowKey: "time", alternative: true } };
}

/** A table with a row per execution, newest first as the API lists them (null = events without an execution
 *  id), and a Total row kept in view below them. */
export function executionTable(doc: Doc, metrics: string[]): TableData {
  const columns: Column[] = [{ key: "execution", label: t("execution"), type: "text" },
    ...metrics.map((m) => ({ key: m, label: label(m), type: "int" as const }))];
  const rows = ((doc.executions ?? []) as Doc[]).map((e) => {
    const row: Record<string, string | number | null> = { execution: e.execution_id ?? t("noExecution") };
    for (const m of metrics) row[m] = e.totals?.[m] ?? 0;
    return row;
  });
  let total: Record<string, string | number | null> | undefined;
  if (rows.length > 1) {
    total = { execution: t("total") };
    for (const m of metrics) total[m] = doc.totals?.[m] ?? 0;
  }
  return { columns, rows, rowKey: "execution", total };
}

const DIM_COLUMN: Record<string, "reason" | "category" | "domain" | "element" | "platform" | "url" | "offer" | "value"> = {
  bounce_reason: "reason", error_reason: "reason", exclusion_reason: "reason", bounce_type: "category",
  error_type: "category", interaction_type: "category", recipient_domain: "domain", element: "element",
  platform: "platform", url: "url", offer: "offer",
};

/** Breakdown rows (value, count, share) as a table; values are producer strings shown as text. */
export function breakdownTable(doc: Doc, dim: string, countLabel?: string, withShare = true, rows?: Doc[]): TableData {
  // A row counted 0 by the widget's metric says nothing (e.g. a domain with sends but no opens under "best domains").
  const list = ((rows ?? doc.breakdowns?.[dim] ?? []) as Doc[]).filter((r) => Number(r.count ?? 0) > 0);
  const columns: Column[] = [
    { key: "value", label: t(DIM_COLUMN[dim] ?? "value"), type: dim === "url" ? "url" : "text" },
    { key: "count", label: countLabel ?? t("count"), type: "int" },
  ];
  if (withShare) columns.push({ key: "share", label: t("share"), type: "pct" });
  return {
    columns,
    rows: list.map((r) => ({ value: valueLabel(dim, String(r.value)), count: r.count ?? 0, share: r.share ?? null })),
    rowKey: "value",
  };
}

/** Bars a chart draws at most (the largest; the table lists every row): more would overlap their labels. */
export const CHART_TOP = 10;

/** Bar or donut of a breakdown (its CHART_TOP largest values), plus its table (every value). */
export function breakdown(doc: Doc, dim: string, type: "bar" | "donut", metric: string, rows?: Doc[]): WidgetData {
  const table = breakdownTable(doc, dim, label(metric), true, rows);
  const top = table.rows.slice(0, CHART_TOP);
  return {
    chart: { type, categories: top.map((r) => String(r.value)), series: [{ key: metric, label: label(metric), values: top.map((r) => Number(r.count)) }] },
    table,
  };
}

/** A table with a row per dimension value and a column per metric (from each row's `counts`). */
export function countsTable(doc: Doc, dim: string, metrics: string[]): TableData {
  const list = (doc.breakdowns?.[dim] ?? []) as Doc[];
  const columns: Column[] = [{ key: "value", label: t(DIM_COLUMN[dim] ?? "value"), type: "text" },
    ...metrics.map((m) => ({ key: m, label: label(m), type: "int" as const }))];
  return {
    columns,
    rows: list.map((r) => {
      const row: Record<string, string | number | null> = { value: valueLabel(dim, String(r.value)) };
      for (const m of metrics) row[m] = r.counts?.[m] ?? 0;
      return row;
    }),
    rowKey: "value",
  };
}

export function hasAny(doc: Doc, metrics: string[]): boolean {
  return metrics.some((m) => Number(doc.totals?.[m] ?? 0) > 0);
}

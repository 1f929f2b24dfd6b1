// The Experimentation tab's widgets, from GET /v1/campaigns/{id}/experiment (the API computes every number:
// the page only chooses words and formats). Labels and definitions come from the catalogue.
import type { Doc } from "../api";
import { definition, fmtConfidence, fmtDateTime, fmtDec, fmtPct, fmtPt, fmtSignedPct, label, t } from "../i18n";
import type { Column, Kpi, TableData, WidgetData, WidgetDef } from "./model";

export interface VariantRow {
  variant: string; people: number; successes: number; rate: number | null; value: number | null;
  lift: number | null; difference: number | null; lower: number | null; upper: number | null; confidence: number | null;
}
export interface SampleRatio {
  planned: Record<string, number>; observed: Record<string, number | null>; people: Record<string, number>;
  p_value: number; mismatch: boolean;
}
export interface ExperimentDoc {
  campaign_id: string; channel: string; metric: string; direction: "higher" | "lower"; baseline: string | null;
  confidence_level: number; attribution_window_days: number; metrics: string[]; ended: boolean;
  status: "none" | "running" | "winner" | "inconclusive"; winner: string | null; started: string | null;
  contaminated_profiles: number; sample_ratio: SampleRatio | null; currency?: string | null;
  variants: VariantRow[]; series: { t: string; variants: VariantRow[] }[];
}

const asExp = (d: Doc) => d as unknown as ExperimentDoc;
const isValue = (x: ExperimentDoc) => x.metric === "revenue" || x.variants.some((v) => v.rate === null && v.value !== null);

/** The metric's name in a sentence ("unique clicks"): the catalogue's label, lower-cased after its first letter. */
export function metricLabel(metric: string): string { return label(`experiment.${metric}`); }
function inSentence(metric: string): string {
  const l = metricLabel(metric);
  return l.length > 1 && l[1] === l[1].toLowerCase() ? l[0].toLowerCase() + l.slice(1) : l;
}

const level = (x: ExperimentDoc) => fmtPct(x.confidence_level);


/** The treatment to headline: the winner, else the one doing best so far in the metric's direction. */
export function bestTreatment(x: ExperimentDoc): VariantRow | null {
  const treatments = x.variants.filter((v) => v.variant !== x.baseline);
  if (x.winner && x.winner !== x.baseline) return treatments.find((v) => v.variant === x.winner) ?? null;
  const sign = x.direction === "higher" ? 1 : -1;
  const scored = treatments.filter((v) => v.difference !== null);
  if (!scored.length) return treatments[0] ?? null;
  return scored.reduce((a, b) => ((b.difference as number) * sign > (a.difference as number) * sign ? b : a));
}

/** The one-sentence summary: the best performer with its lift and confidence, "no winner yet", "inconclusive". */
export function summary(x: ExperimentDoc): string {
  const base = x.baseline ?? "";
  const metric = inSentence(x.metric);
  if (x.status === "none" || !x.variants.length) return t("x_sumNone");
  if (x.status === "winner" && x.winner === x.baseline) {
    const confs = x.variants.filter((v) => v.variant !== x.baseline).map((v) => v.confidence ?? 0);
    return t("x_sumBaseline", { base, metric, conf: fmtConfidence(Math.min(...confs)) });
  }
  if (x.status === "winner" && x.winner) {
    const w = x.variants.find((v) => v.variant === x.winner)!;
    const lift = w.lift !== null ? fmtSignedPct(w.lift) : isValue(x) ? fmtDec(w.difference, x.currency, true) : fmtPt(w.difference);
    return t(x.direction === "lower" ? "x_sumWinnerLower" : "x_sumWinner", { v: w.variant, lift, metric, base, conf: fmtConfidence(w.confidence) });
  }
  if (x.status === "inconclusive") return t("x_sumInconclusive", { base, metric, level: level(x) });
  const compared = x.variants.some((v) => v.variant !== x.baseline && v.confidence !== null);
  return compared ? t("x_sumRunning", { base, metric, level: level(x) }) : t("x_sumTooFew", { base });
}

export function statusText(x: ExperimentDoc): string {
  return x.status === "winner" ? t("x_status_winner", { v: x.winner ?? "" }) : t(`x_status_${x.status}` as never);
}

function kpiTiles(x: ExperimentDoc): Kpi[] {
  const best = bestTreatment(x);
  const people = x.variants.reduce((n, v) => n + v.people, 0);
  const tiles: Kpi[] = [];
  if (best) {
    tiles.push({ key: "lift", label: t("x_liftOf", { v: best.variant }), value: best.lift, src: `variants.${best.variant}.lift`,
      text: fmtSignedPct(best.lift) });
    tiles.push({ key: "confidence", label: t("x_confidenceOf", { v: best.variant }), value: best.confidence,
      src: `variants.${best.variant}.confidence`, text: fmtConfidence(best.confidence) });
  }
  tiles.push({ key: "people", label: label("people"), value: people, src: "variants.people" });
  tiles.push({ key: "status", label: t("x_status"), value: null, src: "status", text: statusText(x) });
  return tiles;
}

/** The variants table: exact people and successes, the rate (or revenue per person), lift, bounds, confidence. */
export function variantsTable(x: ExperimentDoc): TableData {
  const value = isValue(x);
  const diff = value ? "sdec" as const : "pt" as const;
  const columns: Column[] = [
    { key: "variant", label: label("variant"), type: "text" },
    { key: "people", label: label("people"), type: "int", def: definition("people") },
    { key: "successes", label: value ? metricLabel(x.metric) : label("successes"), type: value ? "dec" : "int",
      def: definition(value ? "revenue" : "successes"), currency: x.currency ?? null },
    value ? { key: "value", label: t("x_perPerson"), type: "dec", def: t("x_perPersonDef"), currency: x.currency ?? null }
      : { key: "rate", label: t("x_rate"), type: "pct", def: t("x_rateDef") },
    { key: "lift", label: label("lift"), type: "spct", def: definition("lift") },
    { key: "lower", label: label("lower"), type: diff, def: definition("bounds"), currency: x.currency ?? null },
    { key: "upper", label: label("upper"), type: diff, def: definition("bounds"), currency: x.currency ?? null },
    { key: "confidence", label: label("confidence"), type: "conf", def: definition("confidence") },
  ];
  const rows = x.variants.map((v) => ({
    key: v.variant, variant: v.variant === x.baseline ? t("x_baselineMark", { v: v.variant }) : v.variant,
    people: v.people, successes: v.successes, rate: v.rate, value: v.value, lift: v.lift,
    lower: v.lower, upper: v.upper, confidence: v.confidence,
  }));
  return { columns, rows, rowKey: "key" };
}

/** Per treatment, its difference with the baseline over time inside its confidence band (and the same as a table). */
export function differenceChart(x: ExperimentDoc): WidgetData {
  const base = x.baseline ?? "";
  const treatments = x.variants.filter((v) => v.variant !== x.baseline).map((v) => v.variant);
  const times = x.series.map((p) => p.t);
  const pick = (name: string, field: "difference" | "lower" | "upper") =>
    x.series.map((p) => p.variants.find((v) => v.variant === name)?.[field] ?? null);
  const series = treatments.map((v) => ({ key: v, label: t("x_diffOf", { v, base }), values: pick(v, "difference") as number[] }));
  const bands = treatments.map((v) => ({ lower: pick(v, "lower"), upper: pick(v, "upper"),
    label: t("x_boundsOf", { v, level: fmtPct(x.confidence_level) }) }));
  const type = isValue(x) ? "sdec" as const : "pt" as const;
  const columns: Column[] = [{ key: "time", label: t("time"), type: "time" }];
  for (const v of treatments) {
    columns.push({ key: `${v}|d`, label: t("x_diffOf", { v, base }), type, currency: x.currency ?? null },
      { key: `${v}|l`, label: t("x_lowerOf", { v }), type, currency: x.currency ?? null },
      { key: `${v}|u`, label: t("x_upperOf", { v }), type, currency: x.currency ?? null });
  }
  const rows = times.map((ts, i) => {
    const row: Record<string, string | number | null> = { time: ts };
    treatments.forEach((v, j) => {
      row[`${v}|d`] = series[j].values[i] ?? null;
      row[`${v}|l`] = bands[j].lower[i];
      row[`${v}|u`] = bands[j].upper[i];
    });
    return row;
  });
  return {
    chart: { type: "band", categories: times.map((ts) => fmtDateTime(ts)), times, series, bands, unit: isValue(x) ? "dec" : "pt" },
    table: { columns, rows, rowKey: "time", alternative: true },
  };
}

export const EXPERIMENT_WIDGETS: WidgetDef[] = [
  { id: "x-kpis", title: "w_x_kpis", kind: "kpis", w: 12, h: 2, build: (d) => ({ kpis: kpiTiles(asExp(d)) }) },
  { id: "x-variants", title: "w_x_variants", kind: "table", w: 12, h: 3, build: (d) => ({ table: variantsTable(asExp(d)) }) },
  { id: "x-chart", title: "w_x_chart", kind: "time", w: 12, h: 6, when: (d) => asExp(d).variants.length > 1,
    build: (d) => differenceChart(asExp(d)) },
];

// What a widget shows, independent of how it is drawn: KPI tiles, a chart, a table (or several).
import type { Doc } from "../api";
import type { MessageKey } from "../messages";

export type ColType = "text" | "int" | "pct" | "url" | "time";

export interface Kpi {
  key: string;          // metric name (data-metric)
  label: string;
  value: number | null;
  src: string;          // where the number is in the API document, e.g. "totals.sent"
  percent?: boolean;    // the value is a ratio (shown as a percentage, "—" when null)
  previous?: number | null; // the same figure over the previous equal period (undefined: not compared)
  rate?: { name: string; label: string; value: number | null; previous?: number | null };
}

/** `optional`: left out when the widget is narrow (a phone), the row still says what matters. */
export interface Column { key: string; label: string; type: ColType; optional?: boolean }

export interface TableData {
  columns: Column[];
  rows: Record<string, string | number | null>[];
  rowKey: string;       // column whose value names the row (data-row)
  total?: Record<string, string | number | null>; // a Total row, kept in view under the rows (tfoot)
  alternative?: boolean; // the table is the accessible alternative of the chart (hidden while the chart shows)
}

export interface Series { key: string; label: string; values: number[] }

export interface ChartData {
  type: "time" | "bar" | "donut";
  categories: string[];  // x values (time labels) or category labels (producer strings: rendered as text)
  series: Series[];
  percent?: boolean;
}

export interface WidgetData {
  kpis?: Kpi[];
  chart?: ChartData;
  table?: TableData;
  table2?: TableData;
}

export interface Ctx { tab: string; mode: "live" | "global" }

export interface WidgetDef {
  id: string;
  title: MessageKey;
  kind: "kpis" | "time" | "table" | "bar" | "donut" | "kpis+chart" | "table+chart";
  w: number;
  h: number;
  build(doc: Doc, ctx: Ctx): WidgetData;
  /** Shown only when this holds (e.g. offers only when offer events exist). */
  when?(doc: Doc): boolean;
}

// What a widget shows, independent of how it is drawn: KPI tiles, a chart, a table (or several).
import type { Doc } from "../api";
import type { MessageKey } from "../messages";

// spct: a signed ratio (a lift, "+30 %"); pt: a signed difference of rates in percentage points;
// dec / sdec: a decimal number (money per person), signed or not.
// conf: a confidence (never a rounded 100 %).
export type ColType = "text" | "int" | "pct" | "url" | "time" | "spct" | "pt" | "dec" | "sdec" | "conf";

export interface Kpi {
  key: string;          // metric name (data-metric)
  label: string;
  value: number | null;
  src: string;          // where the number is in the API document, e.g. "totals.sent"
  percent?: boolean;    // the value is a ratio (shown as a percentage, "—" when null)
  text?: string;        // the value as shown, when neither a count nor a percentage (a signed lift, a status)
  previous?: number | null; // the same figure over the previous equal period (undefined: not compared)
  rate?: { name: string; label: string; value: number | null; previous?: number | null };
  /** Part of the value the source never reported but its other events prove (inferred sends or deliveries):
   *  the tile reads "45" over "13 reported, 32 inferred". */
  inferred?: { reported: number; inferred: number; name: string };
}

export interface Column {
  key: string; label: string; type: ColType;
  def?: string;         // its definition, on hover and focus of the header
  currency?: string | null; // dec/sdec columns: an ISO 4217 currency the numbers are in
  optional?: boolean;   // left out when the widget is narrow (a phone), the row still says what matters
}

export interface TableData {
  columns: Column[];
  rows: Record<string, string | number | null>[];
  rowKey: string;       // column whose value names the row (data-row)
  total?: Record<string, string | number | null>; // a Total row, kept in view under the rows (tfoot)
  alternative?: boolean; // the table is the accessible alternative of the chart (hidden while the chart shows)
}

export interface Series { key: string; label: string; values: number[] }

/** A confidence band around a series of a "band" chart (same length as its values; null: no bound yet). */
export interface Band { lower: (number | null)[]; upper: (number | null)[]; label?: string }

export interface ChartData {
  type: "time" | "bar" | "donut" | "band";
  categories: string[];  // x values (time labels) or category labels (producer strings: rendered as text)
  series: Series[];
  percent?: boolean;
  /** "band" charts: one band per series, the x values as ISO times (categories are then their labels),
   *  and the unit of the values (pt: differences of rates; dec: money per person). */
  bands?: Band[];
  times?: string[];
  unit?: "pt" | "dec";
}

export interface WidgetData {
  /** A sentence above the figures that says why they read as they do (a send without a plan). */
  note?: string;
  kpis?: Kpi[];
  chart?: ChartData;
  table?: TableData;
  table2?: TableData;
}

/** `machine`: open rate and reactivity include machine opens (the page's switch; human opens only by default). */
export interface Ctx { tab: string; mode: "live" | "global"; machine?: boolean }

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

// Messages, catalogue labels and locale-aware formatting (numbers, percentages, dates in the chosen time zone).
import { MESSAGES, type Lang, type MessageKey } from "./messages";

export interface Catalogue {
  channels: string[];
  metrics: Record<string, string[]>;
  dimensions: Record<string, string[]>;
  distinct: Record<string, string[]>;
  rates: Record<string, string[]>;
  labels: Record<string, Record<string, string>>;
  definitions?: Record<string, Record<string, string>>;
  /** Which way is good news per metric and rate: "up", "down" or "neutral" (catalogue.BETTER). */
  better?: Record<string, string>;
}

let lang: Lang = "en";
let timeZone = "UTC";
let catalogue: Catalogue | null = null;

export function setCatalogue(c: Catalogue): void { catalogue = c; }
export function getCatalogue(): Catalogue | null { return catalogue; }
export function getLang(): Lang { return lang; }
export function setLang(l: Lang): void { lang = l; document.documentElement.lang = l; }
export function getTimeZone(): string { return timeZone; }
export function setTimeZone(tz: string): void { timeZone = tz; }
export function locale(): string { return lang === "fr" ? "fr-FR" : "en-GB"; }

type Vars = Record<string, string | number>;

/** `{name}` placeholders filled from `vars`. Without `missing`, a name not in `vars` stays visible as `{name}`;
 *  with it, a name without a value reads as `missing`. */
export function fill(template: string, vars: Vars, missing?: string): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => (missing === undefined
    ? (name in vars ? String(vars[name]) : `{${name}}`) : String(vars[name] ?? missing)));
}

export function t(key: MessageKey, vars: Vars = {}): string {
  return fill(MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key, vars);
}

/** A module's own EN/FR wording table (alerts, admin page), read in the page's language; placeholders without a value read as nothing. */
export function wording<K extends string>(table: Record<Lang, Record<K, string>>): (key: K, vars?: Vars) => string {
  return (key, vars = {}) => fill(table[lang === "fr" ? "fr" : "en"][key], vars, "");
}

/** A metric / dimension / rate label from the API catalogue, then the page's own block labels. */
export function label(name: string): string {
  const fromCatalogue = catalogue?.labels?.[lang]?.[name];
  if (fromCatalogue) return fromCatalogue;
  const own = (MESSAGES[lang] as Record<string, string>)[`l_${name}`];
  return own ?? name;
}

/** The catalogue's one-sentence definition of a metric or rate ("" when it has none). */
export function definition(name: string): string {
  const defs = catalogue?.definitions?.[lang] ?? {};
  return (name.startsWith("distinct_") ? defs.distinct : defs[name]) ?? "";
}

/** Known error codes, by code and by their English label ("Mailbox full"), for reasons sent as codes. */
function knownError(value: string): string | undefined {
  const en = catalogue?.labels?.en ?? {};
  if (en[`error_type.${value}`]) return value;
  const wanted = value.trim().toLowerCase();
  const hit = Object.entries(en).find(([k, v]) => k.startsWith("error_type.") && v.toLowerCase() === wanted);
  return hit ? hit[0].slice(11) : undefined;
}

/** The label of a dimension value: closed vocabularies and known error codes are translated (as in the emails). */
export function valueLabel(dimension: string, value: string): string {
  if (dimension === "bounce_type") return label(`bounce_${value}`);
  if (dimension === "interaction_type") return label(`interaction_${value}`);
  if (value === "unspecified" || value === "other") return label(value);
  if (["error_type", "error_reason", "bounce_reason"].includes(dimension)) {
    const code = knownError(value);
    if (code) return catalogue?.labels?.[lang]?.[`error_type.${code}`] ?? value;
  }
  return value;
}

/** Page figures that are a catalogue metric under another name (report blocks, distinct counts). */
const SAME_AS: Record<string, string> = { success: "delivered", unique_impression: "impression" };

/** Which way is good news for a figure: the catalogue's word ("up", "down"), else "neutral". */
export function betterWhen(name: string): "up" | "down" | "neutral" {
  const key = SAME_AS[name] ?? name.replace(/^distinct[._]/, "");
  const v = catalogue?.better?.[key];
  return v === "up" || v === "down" ? v : "neutral";
}

/** The tone of a change: "better" or "worse" by the figure's direction, "same" when equal, "" when neutral or unknown. */
export function trendTone(name: string, now: number | null, before: number | null | undefined, percent = false): "better" | "worse" | "same" | "" {
  if (now === null || before === null || before === undefined) return "";
  const d = now - before;
  if (percent ? Math.abs(d) < 0.0005 : d === 0) return "same";
  const dir = betterWhen(name);
  if (dir === "neutral") return "";
  return (d > 0) === (dir === "up") ? "better" : "worse";
}

/** A signed change with an arrow: "▲ +12", "▼ −3", "=" (percentage points for rates). */
export function fmtDelta(now: number | null, before: number | null | undefined, percent = false): string {
  if (now === null || before === null || before === undefined) return "";
  const d = now - before;
  if (percent ? Math.abs(d) < 0.0005 : d === 0) return "=";
  const size = percent
    ? `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(Math.abs(d) * 100)} pt`
    : fmtInt(Math.abs(d));
  return `${d > 0 ? "▲ +" : "▼ −"}${size}`;
}

export function fmtInt(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return t("dash");
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n);
}

export function fmtPct(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return t("dash");
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(r);
}

/** A signed ratio: "+30%", "−4.2%" ("+30 %" in French); "—" when unknown. */
export function fmtSignedPct(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return t("dash");
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(r);
}

/** A confidence: one decimal ("99.3%"), two from 99.5 % ("99.96%"), and never a rounded "100%" (it is not certainty). */
export function fmtConfidence(c: number | null | undefined): string {
  if (c === null || c === undefined || !Number.isFinite(c)) return t("dash");
  const digits = c >= 0.995 ? 2 : 1;
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits, minimumFractionDigits: 1 })
    .format(Math.min(c, 0.9999));
}

/** A difference of two rates in percentage points: "+5.2 pt". */
export function fmtPt(d: number | null | undefined): string {
  if (d === null || d === undefined || !Number.isFinite(d)) return t("dash");
  const n = new Intl.NumberFormat(locale(), { maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: "exceptZero" }).format(d * 100);
  return `${n}\u00a0pt`;
}

/** A decimal amount, in `currency` when known ("€3.25"); `signed` shows "+" on gains. */
export function fmtDec(v: number | null | undefined, currency?: string | null, signed = false): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return t("dash");
  const opts: Intl.NumberFormatOptions = { maximumFractionDigits: 2, minimumFractionDigits: 2, signDisplay: signed ? "exceptZero" : "auto" };
  try {
    if (currency) return new Intl.NumberFormat(locale(), { ...opts, style: "currency", currency }).format(v);
  } catch { /* an unknown code: the plain number */ }
  return new Intl.NumberFormat(locale(), opts).format(v);
}

export function fmtDateTime(iso: string | number, withDate = true): string {
  const d = typeof iso === "number" ? new Date(iso) : new Date(iso);
  const opts: Intl.DateTimeFormatOptions = withDate
    ? { timeZone, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" }
    : { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

export function fmtBucket(iso: string, stepSeconds: number): string {
  const d = new Date(iso);
  const opts: Intl.DateTimeFormatOptions = stepSeconds >= 86400
    ? { timeZone, day: "2-digit", month: "short" }
    : stepSeconds >= 3600 ? { timeZone, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" }
      : { timeZone, hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

export function fmtRelative(epochSeconds: number | null): string {
  if (!epochSeconds) return t("never");
  const diff = Math.round(epochSeconds - Date.now() / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const abs = Math.abs(diff);
  if (abs < 60) return rtf.format(diff, "second");
  if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), "hour");
  return rtf.format(Math.round(diff / 86400), "day");
}

export function timeZones(): string[] {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let all: string[] = [];
  try {
    all = (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    all = ["Europe/Paris", "Europe/London", "America/New_York", "Asia/Tokyo"];
  }
  return Array.from(new Set(["UTC", own, ...all]));
}

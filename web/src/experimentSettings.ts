// An experiment's settings (PUT /v1/campaigns/{id}/experiments/{channel}): baseline, success metric, confidence
// level, planned shares, attribution window, end. Shown to editors and admins only (the `manage` scope); the API
// refuses others with a 403 all the same. Input is checked here first, so most mistakes read in the page's words;
// what the API still refuses is said with the field named in the page's language and the API's reason.
import { ApiError, call, Unreachable } from "./api";
import { labelled } from "./controls";
import { h, newId } from "./dom";
import { fmtPct, t } from "./i18n";
import type { MessageKey } from "./messages";
import { metricLabel } from "./widgets/experiment";

interface Stored {
  baseline: string | null; metric: string | null; confidence_level: number | null;
  planned_shares: Record<string, number> | null; attribution_window_days: number | null; ended: boolean;
  effective: { metric: string; confidence_level: number; attribution_window_days: number };
  metrics: string[];
}
export interface SettingsBody {
  baseline: string | null; metric: string | null; confidence_level: number;
  planned_shares: Record<string, number> | null; attribution_window_days: number | null; ended: boolean;
}

const LEVELS = [0.9, 0.95, 0.99];
const FIELDS = ["baseline", "metric", "confidence_level", "planned_shares", "attribution_window_days", "ended"];

export interface SettingsOptions {
  campaign: string; channel: string; variants: string[]; metrics: string[]; opener: HTMLElement;
  /** Saved: whether the success metric changed, and the metric now in effect. */
  saved(metricChanged: boolean, metric: string): void;
}

const path = (o: SettingsOptions) =>
  `/v1/campaigns/${encodeURIComponent(o.campaign)}/experiments/${encodeURIComponent(o.channel)}`;

/** The API's refusal in the page's words: the field it names (translated) and its reason. */
export function refusal(e: unknown): { text: string; field: string | null } {
  if (e instanceof ApiError) {
    if (e.status === 403) return { text: t("x_forbidden"), field: null };
    if (e.status === 404) return { text: t("x_gone"), field: null };
    if (e.status === 503 || e.status === 429) return { text: t("x_busy"), field: null };
    const m = /^([a-z_]+)(?:\.[^:]*)?:\s*(.*)$/s.exec(e.message);
    const field = m && FIELDS.includes(m[1]) ? m[1] : null;
    const reason = field ? `${t(`x_field_${field}` as MessageKey)} — ${m![2]}` : e.message;
    return { text: t("x_refused", { reason }), field };
  }
  if (e instanceof Unreachable) return { text: t("x_cannotSave"), field: null };
  return { text: t("x_refused", { reason: String((e as Error)?.message ?? e) }), field: null };
}

/** The form's values as the PUT body, or the first mistake (its message and field). */
export function readForm(variants: string[], values: { baseline: string; metric: string; level: string;
  shares: Record<string, string>; window: string; ended: boolean }): SettingsBody | { error: string; field: string } {
  const filled = variants.filter((v) => (values.shares[v] ?? "").trim() !== "");
  let planned: Record<string, number> | null = null;
  if (filled.length) {
    const nums = filled.map((v) => Number((values.shares[v] ?? "").replace(",", ".")));
    if (filled.length < 2 || nums.some((n) => !Number.isFinite(n) || n <= 0 || n > 100)) {
      return { error: t("x_badShares"), field: "planned_shares" };
    }
    planned = Object.fromEntries(filled.map((v, i) => [v, nums[i]]));
  }
  let window: number | null = null;
  if (values.window.trim()) {
    window = Number(values.window.replace(",", "."));
    if (!Number.isFinite(window) || window <= 0 || window > 90) return { error: t("x_badWindow"), field: "attribution_window_days" };
  }
  return { baseline: values.baseline || null, metric: values.metric || null, confidence_level: Number(values.level),
    planned_shares: planned, attribution_window_days: window, ended: values.ended };
}

export function openExperimentSettings(o: SettingsOptions): void {
  document.querySelector("dialog.x-settings-dialog")?.remove();
  const dialog = h("dialog", { class: "x-settings-dialog", "aria-labelledby": "x-settings-title" });
  const error = h("p", { class: "error", role: "alert" });
  const body = h("div", { class: "x-form-body" }, h("p", { class: "muted", text: t("updating") }));
  const close = h("button", { type: "button", class: "secondary", text: t("close") });
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { dialog.remove(); o.opener.focus(); });
  dialog.append(h("h2", { id: "x-settings-title", text: t("x_settingsTitle", { channel: t(`tab_${o.channel}` as never) }) }),
    h("p", { class: "muted small", text: t("x_settingsHelp") }), body, error);
  const fallbackRow = h("div", { class: "row" }, close);
  dialog.append(fallbackRow);
  document.body.append(dialog);
  dialog.showModal();
  call<Stored>("GET", path(o))
    .then((stored) => { fallbackRow.remove(); body.replaceWith(form(o, stored, error, close, dialog)); })
    .catch((e) => { error.textContent = refusal(e).text; });
}

function select(id: string, options: [string, string][], value: string): HTMLSelectElement {
  const el = h("select", { id });
  for (const [v, text] of options) el.append(h("option", { value: v, selected: v === value, text }));
  return el;
}

function form(o: SettingsOptions, stored: Stored, error: HTMLElement, close: HTMLButtonElement, dialog: HTMLDialogElement): HTMLFormElement {
  const variants = [...new Set([...o.variants, ...Object.keys(stored.planned_shares ?? {}), ...(stored.baseline ? [stored.baseline] : [])])];
  const metrics = stored.metrics?.length ? stored.metrics : o.metrics;
  const baseline = select("x-baseline", [["", t("x_baselineDefault")], ...variants.map((v) => [v, v] as [string, string])], stored.baseline ?? "");
  const metric = select("x-metric-setting", [["", t("x_metricDefault", { metric: metricLabel(stored.effective.metric) })],
    ...metrics.map((m) => [m, metricLabel(m)] as [string, string])], stored.metric ?? "");
  const level = select("x-level", LEVELS.map((l) => [String(l), fmtPct(l)] as [string, string]), String(stored.effective.confidence_level));
  const shares = h("fieldset", { class: "x-shares", "data-field": "planned_shares" },
    h("legend", { text: t("x_shares") }), h("p", { class: "muted small", id: "x-shares-help", text: t("x_sharesHelp") }));
  const shareInputs: Record<string, HTMLInputElement> = {};
  for (const v of variants) {
    const planned = stored.planned_shares?.[v];
    const input = h("input", { id: newId("x-share"), type: "text", inputmode: "decimal", size: 6, autocomplete: "off",
      "data-variant": v, "aria-describedby": "x-shares-help",
      value: planned === undefined ? "" : String(Math.round(planned * 100 * 10000) / 10000) });
    shareInputs[v] = input;
    shares.append(labelled(v, input, "x-share"));
  }
  const win = h("input", { id: "x-window", type: "text", inputmode: "decimal", size: 6, autocomplete: "off",
    placeholder: String(stored.effective.attribution_window_days), "aria-describedby": "x-window-help",
    value: stored.attribution_window_days === null ? "" : String(stored.attribution_window_days) });
  const ended = h("input", { id: "x-ended", type: "checkbox", checked: !!stored.ended, "aria-describedby": "x-ended-help" });
  const save = h("button", { type: "submit", class: "primary", text: t("x_save") });
  const fields: Record<string, HTMLElement> = { baseline, metric, confidence_level: level, planned_shares: shares,
    attribution_window_days: win, ended };
  const f = h("form", { class: "x-form", novalidate: true },
    h("div", { class: "row" }, labelled(t("x_baseline"), baseline), labelled(t("x_metric"), metric), labelled(t("x_level"), level)),
    shares,
    h("div", { class: "x-window" }, labelled(t("x_window"), win), h("p", { class: "muted small", id: "x-window-help", text: t("x_windowHelp") })),
    h("div", { class: "x-end" }, h("div", { class: "check" }, ended, h("label", { for: "x-ended", text: t("x_end") })),
      h("p", { class: "muted small", id: "x-ended-help", text: t("x_endHelp") })),
    h("div", { class: "row" }, save, close));
  const mark = (field: string | null) => {
    for (const [name, el] of Object.entries(fields)) {
      const bad = name === field;
      const targets = name === "planned_shares" ? Object.values(shareInputs) : [el];
      for (const x of targets) x.setAttribute("aria-invalid", bad ? "true" : "false");
    }
    if (field === "planned_shares") (Object.values(shareInputs)[0] as HTMLElement | undefined)?.focus();
    else if (field) fields[field]?.focus();
  };
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const read = readForm(variants, { baseline: baseline.value, metric: metric.value, level: level.value,
      shares: Object.fromEntries(Object.entries(shareInputs).map(([v, i]) => [v, i.value])), window: win.value, ended: ended.checked });
    if ("error" in read) { error.textContent = read.error; mark(read.field); return; }
    mark(null);
    save.disabled = true;
    save.textContent = t("x_saving");
    try {
      const after = await call<Stored>("PUT", path(o), read);
      const changed = (stored.metric ?? stored.effective.metric) !== (after.metric ?? after.effective.metric);
      dialog.close();
      o.saved(changed, after.metric ?? after.effective.metric);
    } catch (err) {
      const r = refusal(err);
      error.textContent = r.text;
      mark(r.field);
    } finally {
      save.disabled = false;
      save.textContent = t("x_save");
    }
  });
  return f;
}

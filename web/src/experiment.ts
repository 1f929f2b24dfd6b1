// The Experimentation tab around its board: which experiment (channel) and success metric, the one-sentence
// summary, the warnings (sample ratio, profiles in two variants), what confidence means, the period line, and
// the settings dialog for editors and admins. The page's refresh loop calls load() and show().
import "./experiment.css";
import { call, type CampaignSummary } from "./api";
import type { Board } from "./board";
import { labelled } from "./controls";
import { clear, h } from "./dom";
import { openExperimentSettings } from "./experimentSettings";
import { definition, fmtDateTime, fmtInt, fmtPct, label, locale, t } from "./i18n";
import type { State } from "./state";
import { layoutTools } from "./toolbar";
import { type ExperimentDoc, metricLabel, summary } from "./widgets/experiment";

const CHANNEL_ORDER = ["email", "push", "sms", "inapp", "web", "directmail"];

export interface ExperimentHooks {
  state(): State;
  campaign(): CampaignSummary | undefined;
  /** The caller may change settings (the `manage` scope: editors, admins, manage keys). */
  canManage(): boolean;
  /** The view changed (channel, metric): remember it (a history entry when `push`) and refresh now. */
  changed(push: boolean): void;
  announce(message: string): void;
  board(): Board | null;
}

/** The campaign's channels with an experiment, in the page's channel order. */
export function experimentChannels(c: CampaignSummary | undefined): string[] {
  const list = c?.experiments ?? [];
  return CHANNEL_ORDER.filter((ch) => list.includes(ch));
}

function split(shares: Record<string, number | null>): string {
  return Object.entries(shares).map(([v, s]) => `${v} ${fmtPct(s)}`).join(" / ");
}

/** "< 0.0001", "= 0.00042": an e-value's p can be tiny, never shown as a bare 0. */
function fmtP(p: number): string {
  if (p < 0.0001) return `< ${new Intl.NumberFormat(locale(), { maximumFractionDigits: 4 }).format(0.0001)}`;
  return `= ${new Intl.NumberFormat(locale(), { maximumSignificantDigits: 2 }).format(p)}`;
}

export class ExperimentTab {
  doc: ExperimentDoc | null = null;
  head: HTMLElement = h("section", { hidden: true });
  private els: Record<string, HTMLElement> = {};
  private metricSelect: HTMLSelectElement | null = null;

  constructor(private hooks: ExperimentHooks) {}

  /** The block above the board (summary, warnings, definitions), drawn anew in the page's language. */
  mount(): HTMLElement {
    this.els.summary = h("p", { class: "x-summary", "aria-live": "polite" });
    this.els.srm = h("p", { class: "x-warning", role: "alert", "data-warning": "sample-ratio", hidden: true });
    this.els.contaminated = h("p", { class: "x-note", "data-note": "contaminated", hidden: true });
    this.els.explain = h("p", { class: "x-explain muted" });
    this.els.defs = h("dl", { class: "x-defs-list" });
    this.els.defsBox = h("details", { class: "x-defs" }, h("summary", { text: t("x_definitions") }), this.els.defs);
    this.head = h("section", { class: "x-head", hidden: true, "aria-label": t("tab_experiments") },
      this.els.summary, this.els.srm, this.els.contaminated, this.els.explain, this.els.defsBox);
    return this.head;
  }

  /** Another tab, campaign or workspace: nothing of this experiment is shown any more. */
  reset(): void {
    this.doc = null;
    this.head.hidden = true;
  }

  /** Settles the channel shown: the one named when the campaign has an experiment there, else the first; said. */
  resolve(): void {
    const s = this.hooks.state();
    const channels = experimentChannels(this.hooks.campaign());
    if (!channels.length || (s.xchannel && channels.includes(s.xchannel))) return;
    if (s.xchannel) {
      this.hooks.announce(t("x_channelFallback", { channel: s.xchannel, shown: t(`tab_${channels[0]}` as never) }));
      s.xmetric = null; // a metric of another channel may not exist on this one
    }
    s.xchannel = channels[0];
  }

  async load(): Promise<ExperimentDoc> {
    const s = this.hooks.state();
    const q = new URLSearchParams({ channel: s.xchannel ?? "email" });
    if (s.xmetric) q.set("metric", s.xmetric);
    return call<ExperimentDoc>("GET", `/v1/campaigns/${encodeURIComponent(s.campaign ?? "")}/experiment?${q}`);
  }

  /** The toolbar of the tab: channel, metric, settings, the refresh status and the layout tools. */
  toolbar(c: HTMLElement, status: HTMLElement): HTMLElement {
    clear(c);
    const s = this.hooks.state();
    const channels = experimentChannels(this.hooks.campaign());
    if (channels.length > 1) {
      const sel = h("select", { id: "x-channel" });
      for (const ch of channels) sel.append(h("option", { value: ch, selected: ch === s.xchannel, text: t(`tab_${ch}` as never) }));
      sel.addEventListener("change", () => { s.xchannel = sel.value; s.xmetric = null; this.doc = null; this.hooks.changed(true); });
      c.append(labelled(t("channel"), sel));
    } else if (channels.length) {
      c.append(h("div", { class: "field x-channel-static" }, h("span", { class: "x-field-label", text: t("channel") }),
        h("strong", { text: t(`tab_${channels[0]}` as never) })));
    }
    this.metricSelect = h("select", { id: "x-metric" });
    this.metricSelect.addEventListener("change", () => { s.xmetric = this.metricSelect!.value; this.hooks.changed(true); });
    c.append(labelled(t("x_metric"), this.metricSelect));
    if (this.doc) this.fillMetrics(this.doc);
    if (this.hooks.canManage() && channels.length) {
      const settings = h("button", { type: "button", class: "secondary x-settings", "aria-haspopup": "dialog", text: `⚙ ${t("x_settings")}` });
      settings.addEventListener("click", () => this.openSettings(settings));
      c.append(settings);
    }
    const latest = h("span", { class: "latest-event status" });
    c.append(h("div", { class: "spacer" }), h("div", { class: "status-box" }, status, latest), ...layoutTools(this.hooks.board));
    return latest;
  }

  private fillMetrics(doc: ExperimentDoc): void {
    const sel = this.metricSelect;
    if (!sel) return;
    const sig = `${doc.metrics.join()}|${doc.metric}`;
    if (sel.dataset.sig === sig) return;
    sel.dataset.sig = sig;
    clear(sel);
    for (const m of doc.metrics) sel.append(h("option", { value: m, selected: m === doc.metric, text: metricLabel(m) }));
  }

  /** A new document: the pickers, the summary and warnings; the address names the metric shown. */
  show(doc: ExperimentDoc): void {
    const s = this.hooks.state();
    if (s.xmetric && s.xmetric !== doc.metric) this.hooks.announce(t("x_metricFallback", { metric: s.xmetric, shown: metricLabel(doc.metric) }));
    this.doc = doc;
    s.xchannel = doc.channel;
    s.xmetric = doc.metric;
    this.fillMetrics(doc);
    this.head.hidden = false;
    this.head.dataset.status = doc.status;
    this.head.dataset.channel = doc.channel; // for tests and tools: which experiment is drawn
    this.head.dataset.metric = doc.metric;
    setText(this.els.summary, summary(doc));
    this.els.summary.dataset.status = doc.status;
    this.els.summary.dataset.winner = doc.winner ?? "";
    const srm = doc.sample_ratio;
    this.els.srm.hidden = !srm?.mismatch;
    if (srm?.mismatch) {
      setText(this.els.srm, t("x_srm", { planned: split(srm.planned), observed: split(srm.observed), p: fmtP(srm.p_value) }));
    }
    this.els.contaminated.hidden = !doc.contaminated_profiles;
    if (doc.contaminated_profiles) setText(this.els.contaminated, t("x_contaminated", { n: fmtInt(doc.contaminated_profiles) }));
    setText(this.els.explain, t("x_confidenceNote", { label: label("confidence"), def: definition("confidence") }));
    if (!this.els.defs.childElementCount) {
      for (const name of ["people", "successes", "lift", "bounds", "confidence"]) {
        this.els.defs.append(h("dt", { text: label(name === "bounds" ? "lower" : name) + (name === "bounds" ? ` / ${label("upper")}` : "") }),
          h("dd", { text: definition(name) }));
      }
    }
  }

  /** The period line: since when, the baseline, level, window, planned split, ended. */
  period(tz: string): string {
    const x = this.doc;
    if (!x || !x.started) return "";
    const parts = [t("x_since", { start: fmtDateTime(x.started), tz }), t("x_baselineIs", { v: x.baseline ?? "" }),
      t("x_levelIs", { level: fmtPct(x.confidence_level) }),
      t("x_windowIs", { days: new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(x.attribution_window_days) })];
    if (x.sample_ratio) parts.push(t("x_plannedIs", { split: split(x.sample_ratio.planned) }));
    if (x.ended) parts.push(t("x_ended"));
    return parts.join(" · ");
  }

  /** What the CSV files of the tab say beyond the page's context lines. */
  csvExtra(): [string, string][] {
    const x = this.doc;
    if (!x) return [];
    return [[t("channel"), t(`tab_${x.channel}` as never)], [t("x_metric"), metricLabel(x.metric)],
      [t("x_baseline"), x.baseline ?? ""], [t("x_level"), fmtPct(x.confidence_level)], [t("x_status"), summary(x)]];
  }

  private openSettings(opener: HTMLElement): void {
    const s = this.hooks.state();
    const doc = this.doc;
    if (!s.campaign || !s.xchannel) return;
    openExperimentSettings({
      campaign: s.campaign, channel: s.xchannel, variants: doc?.variants.map((v) => v.variant) ?? [],
      metrics: doc?.metrics ?? [], opener,
      saved: (metricChanged, metric) => {
        this.hooks.announce(t("x_saved"));
        if (metricChanged) s.xmetric = metric;
        this.hooks.changed(false);
      },
    });
  }
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

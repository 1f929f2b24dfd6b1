// Every widget of SPEC.md, per tab, as the kind named there; and the global report's blocks.
import type { Doc } from "../api";
import { getCatalogue, label, t } from "../i18n";
import { breakdown, CHART_TOP, countsTable, executionTable, hasAny, kpis, rateKpis, timeChart, withInferred } from "./build";
import type { Column, Kpi, TableData, WidgetData, WidgetDef } from "./model";
import { campaignProgressWidget, progressWidget, SENDING_TABS } from "./progress";

const OFFERS = ["offer_sent", "offer_impression", "offer_click"];
const PLATFORM_METRICS = ["targeted", "delivered", "open", "action", "bounce", "error", "excluded"];

const reasons = (id: string, title: WidgetDef["title"], dim: string, metric: string, w = 4): WidgetDef => ({
  id, title, kind: "bar", w, h: 5, build: (d) => breakdown(d, dim, "bar", metric),
});

type Spec = [string, string, string?];

/** Opens as the peers show them (issue 17): distinct human opens and, beside them, distinct opens including
 *  machine opens (Apple Mail Privacy Protection and the like). The open rate sits under the figure it is
 *  computed on: human opens by default, machine opens included when the page's switch is on. */
function openSpecs(machine: boolean): Spec[] {
  return [["distinct_open", "distinct.open", machine ? undefined : "open_rate"],
    ["open_all", "distinct_combined.open_all", machine ? "open_rate_all" : undefined]];
}

/** Reactivity on human opens, or with machine opens when the switch is on. */
const reactivityKpi = (d: Doc, machine: boolean): Kpi => machine
  ? ratioKpi(d, "reactivity_all", "rates.reactivity_all") : ratioKpi(d, "reactivity", "rates.reactivity");

// Three rows high: a tile may carry a note ("13 reported, 32 inferred") under its figure, and Email's eight
// tiles (opens with and without machine opens) wrap to two lines at 1440 px.
const sendingKpis = (channel: string): WidgetDef => ({
  id: `${channel}-kpis`, title: "w_kpis", kind: "kpis", w: 12, h: 3,
  build: (d, ctx) => {
    const specs: Spec[] = [["sent", "totals.sent"], ["delivered", "totals.delivered", "delivered_rate"],
      ["bounce", "totals.bounce", "bounce_rate"], ["error", "totals.error", "error_rate"]];
    if (channel === "email") specs.push(...openSpecs(!!ctx.machine));
    specs.push(["distinct_click", "distinct.click", "click_rate"]);
    const tiles = withInferred(d, kpis(d, specs));
    if (channel === "email") tiles.push(reactivityKpi(d, !!ctx.machine));
    return { kpis: tiles };
  },
});

export const LIVE: Record<string, WidgetDef[]> = {
  campaign: [
    { id: "campaign-stats", title: "w_campaign_stats", kind: "kpis", w: 12, h: 2,
      build: (d) => ({ kpis: kpis(d, [["audience", "kpis.audience"], ["action_executed", "kpis.action_executed"], ["error", "kpis.error"]]) }) },
    { id: "campaign-channels", title: "w_campaign_channels", kind: "table", w: 12, h: 4,
      build: (d) => ({ table: channelsTable(d) }) },
  ],
  email: [
    sendingKpis("email"),
    { id: "email-sending", title: "w_sending_perf", kind: "time", w: 6, h: 5,
      build: (d) => timeChart(d, ["delivered", "bounce", "retry", "error"]) },
    { id: "email-perf", title: "w_perf_by_date", kind: "time", w: 6, h: 5,
      build: (d) => timeChart(d, ["sent", "delivered", "bounce", "error", "open", "click", "unsubscribe", "spam_complaint"]) },
    { id: "email-stats", title: "w_email_stats", kind: "table", w: 12, h: 4,
      build: (d) => ({ table: executionTable(d, ["targeted", "excluded", "sent", "delivered", "bounce", "error", "open", "click", "unsubscribe", "spam_complaint", "retry"]) }) },
    { id: "email-bounces", title: "w_bounces", kind: "donut", w: 6, h: 7,
      build: (d) => ({ ...breakdown(d, "bounce_type", "donut", "bounce"), table2: breakdown(d, "bounce_reason", "bar", "bounce").table }) },
    { id: "email-domains", title: "w_domains", kind: "bar", w: 6, h: 7,
      build: (d) => breakdown(d, "recipient_domain", "bar", "open") },
    reasons("email-errors", "w_error_reasons", "error_reason", "error", 6),
    reasons("email-exclusions", "w_exclusion_reasons", "exclusion_reason", "excluded", 6),
    { id: "email-offers", title: "w_offers", kind: "kpis+chart", w: 12, h: 5, when: (d) => hasAny(d, OFFERS),
      build: (d) => ({ kpis: kpis(d, OFFERS.map((m) => [m, `totals.${m}`] as [string, string])), ...timeChart(d, OFFERS) }) },
  ],
  inapp: [
    { id: "inapp-kpis", title: "w_inapp_perf", kind: "kpis", w: 12, h: 2,
      build: (d) => ({ kpis: kpis(d, [["impression", "totals.impression"], ["unique_impression", "distinct.impression"], ["interaction", "totals.interaction"]]) }) },
    { id: "inapp-summary", title: "w_inapp_summary", kind: "time", w: 8, h: 5,
      build: (d) => timeChart(d, ["impression", "interaction"]) },
    { id: "inapp-types", title: "w_interaction_types", kind: "donut", w: 4, h: 5,
      build: (d) => breakdown(d, "interaction_type", "donut", "interaction") },
  ],
  push: [
    // Opens are counted per open; the open rate is per distinct opener: the tile says "Distinct human opens".
    { id: "push-summary", title: "w_push_summary", kind: "kpis+chart", w: 12, h: 6,
      build: (d, ctx) => ({
        kpis: [...withInferred(d, kpis(d, [["sent", "totals.sent"], ["delivered", "totals.delivered", "delivered_rate"], ["bounce", "totals.bounce", "bounce_rate"],
          ["error", "totals.error", "error_rate"], ...openSpecs(!!ctx.machine), ["distinct_click", "distinct.click", "click_rate"],
          ["action", "totals.action"], ["engagements", "totals.engagements"]])), reactivityKpi(d, !!ctx.machine)],
        ...timeChart(d, ["sent", "delivered", "open", "click", "action", "engagements"]),
      }) },
    { id: "push-sending", title: "w_sending_perf", kind: "time", w: 6, h: 6,
      build: (d) => timeChart(d, ["delivered", "bounce", "error"]) },
    { id: "push-platforms", title: "w_platforms", kind: "table+chart", w: 6, h: 6,
      build: (d) => {
        const table = countsTable(d, "platform", PLATFORM_METRICS);
        return { table, chart: { type: "bar", categories: table.rows.map((r) => String(r.value)),
          series: ["delivered", "open", "action"].map((m) => ({ key: m, label: label(m), values: table.rows.map((r) => Number(r[m] ?? 0)) })) } };
      } },
    { id: "push-stats", title: "w_push_stats", kind: "table", w: 12, h: 4,
      build: (d) => ({ table: executionTable(d, ["targeted", "excluded", "sent", "delivered", "bounce", "error", "quarantine", "open", "click", "action"]) }) },
    reasons("push-exclusions", "w_exclusion_reasons", "exclusion_reason", "excluded", 6),
    reasons("push-errors", "w_error_reasons", "error_reason", "error", 6),
  ],
  sms: [
    sendingKpis("sms"),
    { id: "sms-stats", title: "w_sms_stats", kind: "table", w: 12, h: 4,
      build: (d) => ({ table: executionTable(d, ["targeted", "excluded", "sent", "delivered", "bounce", "error", "quarantine", "click", "unsubscribe"]) }) },
    { id: "sms-perf", title: "w_perf_by_date", kind: "time", w: 12, h: 5,
      build: (d) => timeChart(d, ["sent", "bounce", "error"]) },
    reasons("sms-errors", "w_error_reasons", "error_reason", "error"),
    reasons("sms-exclusions", "w_exclusion_reasons", "exclusion_reason", "excluded"),
    reasons("sms-bounces", "w_bounce_reasons", "bounce_reason", "bounce"),
  ],
  web: [
    { id: "web-kpis", title: "w_web_perf", kind: "kpis", w: 12, h: 2,
      build: (d) => ({ kpis: kpis(d, [["impression", "totals.impression"], ["unique_impression", "distinct.impression"], ["interaction", "totals.interaction"]]) }) },
    { id: "web-summary", title: "w_web_summary", kind: "time", w: 8, h: 5,
      build: (d) => timeChart(d, ["impression", "distinct.impression", "interaction"],
        { "distinct.impression": label("unique_impression") }) },
    { id: "web-elements", title: "w_elements", kind: "table", w: 4, h: 5,
      build: (d) => ({ table: { ...breakdown(d, "element", "bar", "interaction").table! } }) },
  ],
  directmail: [
    { id: "dm-stats", title: "w_dm_stats", kind: "table", w: 12, h: 5,
      build: (d) => ({ kpis: kpis(d, [["targeted", "totals.targeted"], ["sent", "totals.sent"], ["error", "totals.error", "error_rate"], ["excluded", "totals.excluded"],
        ["action_executed", "totals.action_executed"]]),
        table: executionTable(d, ["targeted", "sent", "error", "excluded", "action_executed"]) }) },
    reasons("dm-errors", "w_error_reasons", "error_reason", "error", 6),
    reasons("dm-exclusions", "w_exclusion_reasons", "exclusion_reason", "excluded", 6),
  ],
};

function channelsTable(d: Doc): TableData {
  const columns: Column[] = [{ key: "channel", label: t("channel"), type: "text" },
    ...["audience", "targeted", "sent", "error", "action_executed"].map((m) => ({ key: m, label: label(m), type: "int" as const }))];
  return {
    columns,
    rows: ((d.channels ?? []) as Doc[]).map((c) => ({ channel: t(`tab_${c.channel}` as never), ...c.totals })),
    rowKey: "channel",
  };
}

const block = (d: Doc, name: string, keys: string[]) =>
  kpis(d, keys.map((k) => [k, `blocks.${name}.${k}`] as [string, string]),
    { excluded: t("l_excluded_rules"), targeted: t("l_initial_audience"), reactivity: label("reactivity") });

function globalBlock(id: string, title: WidgetDef["title"], name: string, keys: string[], w = 6): WidgetDef {
  return { id, title, kind: "kpis", w, h: 2,
    build: (d, ctx) => ({ kpis: withInferred(d, block(d, name, keys)).map((k) => k.key !== "reactivity" ? k
      : ctx.machine ? ratioKpi(d, "reactivity_all", "rates.reactivity_all") : ratioKpi(d, "reactivity", k.src)) }) };
}

function ratioKpi(d: Doc, name: string, src: string): Kpi {
  const v = src.split(".").reduce<any>((o, k) => (o ? o[k] : undefined), d); // eslint-disable-line @typescript-eslint/no-explicit-any
  return { key: name, label: label(name), value: typeof v === "number" ? v : null, src, percent: true };
}

export const GLOBAL: WidgetDef[] = [
  globalBlock("g-delivery", "w_g_delivery", "delivery_overview", ["sent", "delivered", "bounce", "distinct_open", "distinct_open_all", "distinct_click"], 12),
  { id: "g-rates", title: "w_g_rates", kind: "kpis", w: 12, h: 2,
    build: (d, ctx) => ({ kpis: rateKpis(d, ["delivered_rate", "bounce_rate", ctx.machine ? "open_rate_all" : "open_rate", "click_rate",
      ctx.machine ? "reactivity_all" : "reactivity", "unsubscribe_rate", "complaint_rate"]) }) },
  globalBlock("g-audience", "w_g_audience", "initial_audience", ["targeted", "to_deliver", "excluded"]),
  globalBlock("g-execution", "w_g_execution", "execution", ["to_deliver", "success", "error", "quarantine"]),
  globalBlock("g-reaction", "w_g_reaction", "reaction", ["distinct_open", "open", "unsubscribe", "mirror_page", "forward"], 7),
  globalBlock("g-clicks", "w_g_clicks", "click_streams", ["distinct_click", "click", "reactivity"], 5),
  globalBlock("g-tracking", "w_g_tracking", "tracking", ["success", "distinct_open", "open", "unsubscribe", "mirror_page", "forward"], 12),
  { id: "g-activity", title: "w_g_activity", kind: "time", w: 12, h: 5, build: (d) => timeChart(d, ["open", "click"]) },
  { id: "g-errors-type", title: "w_g_errors_type", kind: "bar", w: 6, h: 5,
    build: (d) => breakdown(d, "error_type", "bar", "error", d.errors_by_type ?? []) },
  // Chart (the CHART_TOP domains) beside the table (every domain, whole rows scrolling): a chart under a growing
  // table was squeezed to a sliver with overlapping labels.
  { id: "g-errors-domain", title: "w_g_errors_domain", kind: "bar", w: 6, h: 5,
    build: (d) => {
      // Non-deliverables per domain: errors + bounces (the API gives both parts; narrow tables show the sum).
      const rows = (d.errors_by_domain ?? []) as Doc[];
      const table: TableData = {
        columns: [{ key: "value", label: t("domain"), type: "text" }, { key: "count", label: t("l_non_deliverables"), type: "int" },
          { key: "errors", label: label("error"), type: "int", optional: true }, { key: "bounces", label: label("bounce"), type: "int", optional: true },
          { key: "share", label: t("share"), type: "pct" }],
        rows: rows.map((r) => ({ value: r.value, count: r.count ?? 0, errors: r.errors ?? null, bounces: r.bounces ?? null, share: r.share ?? null })),
        rowKey: "value",
      };
      const top = rows.slice(0, CHART_TOP);
      return { table, chart: { type: "bar", categories: top.map((r) => String(r.value)),
        series: [{ key: "count", label: t("l_non_deliverables"), values: top.map((r) => Number(r.count ?? 0)) }] } };
    } },
  { id: "g-domains", title: "w_g_domains", kind: "table", w: 6, h: 5,
    build: (d) => ({ table: {
      columns: [{ key: "domain", label: t("domain"), type: "text" }, { key: "sent", label: label("sent"), type: "int" },
        { key: "complaints", label: t("l_complaints"), type: "int" }, { key: "opens", label: label("open"), type: "int" },
        { key: "clicks", label: label("click"), type: "int" }, { key: "raw_reactivity", label: t("l_raw_reactivity"), type: "pct" }],
      rows: ((d.by_domain ?? []) as Doc[]).map((r) => ({ ...r })), rowKey: "domain" } }) },
  { id: "g-links", title: "w_g_links", kind: "table", w: 6, h: 5,
    build: (d) => ({ table: {
      columns: [{ key: "url", label: t("url"), type: "url" }, { key: "clicks", label: label("click"), type: "int" }, { key: "share", label: t("share"), type: "pct" }],
      rows: ((d.top_links ?? []) as Doc[]).map((r) => ({ url: r.url, clicks: r.clicks, share: r.share })), rowKey: "url" } }) },
];

// Send progress with an ETA (issue 13): second on every sending tab; per channel on the campaign tab.
for (const channel of SENDING_TABS) LIVE[channel].splice(1, 0, progressWidget(channel));
LIVE.campaign.splice(1, 0, campaignProgressWidget);

/** What a widget shows of the catalogue: its tiles' metrics and rates, its tables' count columns, its time
 *  chart's series (a breakdown's per-value counts do not show the metric's total). */
export function shownIn(data: WidgetData): string[] {
  const out: string[] = [];
  for (const k of data.kpis ?? []) out.push(k.key, ...(k.rate ? [k.rate.name] : []));
  for (const table of [data.table, data.table2]) {
    for (const c of table?.columns ?? []) if (c.type === "int" || c.type === "pct") out.push(c.key);
  }
  if (data.chart?.type === "time") out.push(...data.chart.series.map((x) => x.key));
  return out;
}

/** Every metric and rate of a tab's catalogue that no other widget of the tab shows, so none is ever left
 *  out of the page (a metric the catalogue gains shows here until a widget of its own takes it). */
function leftovers(tab: string, doc: Doc): Kpi[] {
  const cat = getCatalogue();
  if (!cat) return [];
  const shown = new Set<string>();
  for (const def of LIVE[tab] ?? []) {
    if (def.id === `${tab}-more`) continue;
    // A widget shown only with its data (offers, progress) still covers its metrics: it appears when they do.
    // The switch shows the `_all` rates in place of the human ones: either way they have a widget.
    for (const machine of [false, true]) {
      try { for (const name of shownIn(def.build(doc, { tab, mode: "live", machine }))) shown.add(name); } catch { /* needs its data */ }
    }
  }
  const metrics = (cat.metrics[tab] ?? []).filter((m) => !shown.has(m));
  const rates = (cat.rates[tab] ?? []).filter((r) => !shown.has(r));
  return [...kpis(doc, metrics.map((m) => [m, `totals.${m}`] as [string, string])), ...rateKpis(doc, rates)];
}

// "More indicators" under the tab's key figures (and its send progress): the rest of the catalogue's figures.
for (const channel of Object.keys(LIVE)) {
  if (channel === "campaign") continue;
  const at = (SENDING_TABS as readonly string[]).includes(channel) ? 2 : 1;
  LIVE[channel].splice(at, 0, { id: `${channel}-more`, title: "w_more", kind: "kpis", w: 12, h: 2,
    when: (d) => leftovers(channel, d).length > 0, build: (d) => ({ kpis: leftovers(channel, d) }) });
}

export function widgetsFor(tab: string, mode: "live" | "global"): WidgetDef[] {
  return mode === "global" ? GLOBAL : LIVE[tab] ?? [];
}

// Send progress with an ETA (issue 13): the `progress` block of the live report as KPI tiles and a table
// (a row for the whole channel, then one per execution, newest first; on the campaign tab, one per channel).
// A finished send has no per-minute figure (the API gives null: "—"), only a running one has a speed and an ETA.
import type { Doc } from "../api";
import { getLang, t } from "../i18n";
import type { Column, Kpi, TableData, WidgetDef } from "./model";

export const SENDING_TABS = ["email", "push", "sms", "directmail"] as const;

const TEXT = {
  en: { planned: "Planned", processed: "Processed", remaining: "Remaining", rate: "Per minute (last 5 min)",
    status: "Status", eta: "Expected end", all: "All executions", percent: "Progress",
    sending: "Sending", finished: "Finished", stalled: "Stalled", idle: "Nothing planned", unplanned: "No plan",
    unplannedWhy: "No plan: no targeted events were received for this campaign — platform webhooks do not report targeting, so there is nothing to measure progress against. Counts below are what was processed." },
  fr: { planned: "Prévus", processed: "Traités", remaining: "Restants", rate: "Par minute (5 dern. min)",
    status: "État", eta: "Fin prévue", all: "Toutes les exécutions", percent: "Avancement",
    sending: "Envoi en cours", finished: "Terminé", stalled: "À l’arrêt", idle: "Rien de prévu", unplanned: "Sans plan",
    unplannedWhy: "Sans plan : aucun événement de ciblage n’a été reçu pour cette campagne — les webhooks des plateformes ne signalent pas le ciblage, l’avancement ne peut donc pas être mesuré. Les chiffres ci-dessous sont ce qui a été traité." },
};
type Key = keyof typeof TEXT.en;
const tx = (k: Key): string => TEXT[getLang() === "fr" ? "fr" : "en"][k];

function num(v: unknown): number | null { return typeof v === "number" && Number.isFinite(v) ? v : null; }

function tiles(p: Doc | undefined): Kpi[] {
  const v = (k: string) => num(p?.[k]);
  return [
    { key: "progress_planned", label: tx("planned"), value: v("planned"), src: "progress.planned" },
    { key: "progress_processed", label: tx("processed"), value: v("processed"), src: "progress.processed" },
    { key: "progress_percent", label: tx("percent"), value: v("percent"), src: "progress.percent", percent: true },
    { key: "progress_remaining", label: tx("remaining"), value: v("remaining"), src: "progress.remaining" },
    { key: "progress_rate", label: tx("rate"), value: v("rate_per_minute"), src: "progress.rate_per_minute" },
  ];
}

function row(name: string, p: Doc): Record<string, string | number | null> {
  const status = String(p.status ?? "idle");
  return { name, status: (TEXT.en as Record<string, string>)[status] ? tx(status as Key) : status,
    status_code: status, planned: num(p.planned), processed: num(p.processed), remaining: num(p.remaining),
    percent: num(p.percent), rate: num(p.rate_per_minute), eta: status === "sending" ? (p.eta ?? null) : null };
}

function table(first: string, rows: Record<string, string | number | null>[]): TableData {
  const columns: Column[] = [
    // On a phone the row keeps its name, status, progress and expected end; the counts are in the tiles above.
    { key: "name", label: first, type: "text" }, { key: "status", label: tx("status"), type: "text" },
    { key: "planned", label: tx("planned"), type: "int", optional: true },
    { key: "processed", label: tx("processed"), type: "int", optional: true },
    { key: "remaining", label: tx("remaining"), type: "int", optional: true }, { key: "percent", label: tx("percent"), type: "pct" },
    { key: "rate", label: tx("rate"), type: "int", optional: true }, { key: "eta", label: tx("eta"), type: "time" },
  ];
  return { columns, rows, rowKey: "name" };
}

export function progressWidget(channel: string): WidgetDef {
  return {
    id: `${channel}-progress`, title: "w_progress", kind: "table", w: 12, h: 4,
    when: (d) => !!d.progress && !["idle"].includes(d.progress.status),
    build: (d) => {
      const p = d.progress as Doc;
      const rows = [row(tx("all"), p), ...((p.executions ?? []) as Doc[])
        .filter((e) => e.status !== "idle").map((e) => row(e.execution_id ?? t("noExecution"), e))];
      return { note: p.status === "unplanned" ? tx("unplannedWhy") : undefined, kpis: tiles(p), table: table(t("execution"), rows) };
    },
  };
}

export const campaignProgressWidget: WidgetDef = {
  id: "campaign-progress", title: "w_progress", kind: "table", w: 12, h: 3,
  when: (d) => ((d.progress?.channels ?? []) as Doc[]).length > 0,
  build: (d) => ({
    note: ((d.progress?.channels ?? []) as Doc[]).some((c) => c.status === "unplanned") ? tx("unplannedWhy") : undefined,
    table: table(t("channel"), ((d.progress?.channels ?? []) as Doc[]).map((c) => row(t(`tab_${c.channel}` as never), c))),
  }),
};

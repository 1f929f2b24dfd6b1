// Alerts in the page (issue 13): a firing badge on the campaign picker and on the affected tabs, the alerts
// panel (the campaign's rules, their state and history) and a rule editor for keys with `manage`.
// Rule names and campaign ids are the caller's text: they only ever go in as textContent (dom.h).
import "./alerts.css";
import { call, type RecipientStatus } from "./api";
import { clear, h, newId } from "./dom";
import { fmtDateTime, fmtInt, fmtPct, getLang, label, t, wording } from "./i18n";
import { isUser } from "./session";
import { recipientChips } from "./subscribe";

export interface AlertState { campaign_id: string; state: string; since: number | null; value: number | null; volume: number | null }
export interface Alert {
  id: string; name: string; campaign_id: string; channel: string; metric: string; op: string | null;
  threshold: number | null; window_minutes: number; min_volume: number; language: string;
  state: string; since: number | null; value: number | null; volume: number | null; campaigns: AlertState[];
  /** manage callers: the addresses and each one's consent; read callers: counts */
  notify?: { emails?: string[] | number; email_status?: RecipientStatus[]; webhook_url?: string | null };
}
interface Hook { state?: string; attempts?: number; status?: number | null; error?: string }
interface Delivery { pending?: boolean; emails_sent?: number; emails_failed?: number; webhook?: Hook }
interface HistoryEntry { at: number; campaign_id: string; from: string; to: string; value: number | null; volume: number; delivery?: Delivery }
interface Context { campaign: string | null; tab: string; channels: string[] }

const TEXT = {
  en: { alerts: "Alerts", firing: "Firing", ok: "OK", firingCount: "{n} firing", title: "Alerts — {campaign}",
    close: "Close", none: "No alert rule watches this campaign.", history: "History", hideHistory: "Hide history",
    del: "Delete", confirmDelete: "Delete the alert rule “{name}”?", noHistory: "No state change yet.",
    since: "since {time}", last: "Last value {value} on {volume} events", never: "Not evaluated yet",
    every: "Every campaign", thisCampaign: "This campaign", newRule: "New alert rule", name: "Name",
    scope: "Campaigns", metric: "Metric", op: "Condition", threshold: "Threshold", thresholdPct: "Threshold (%)",
    window: "Window (minutes)", minVolume: "Minimum volume", emails: "Emails (comma-separated)",
    webhook: "Webhook URL (https)", language: "Email language", create: "Create rule", created: "Rule created.",
    secret: "Webhook signing secret, shown only now — keep it to verify the X-LiveReport-Signature header: {secret}",
    readOnly: "This key can read alerts; a key with the manage scope can create and delete them.",
    readOnlyPerson: "You can read alerts; editors and admins of this workspace can create and delete them.",
    silence: "Silence (no events)", silenceCond: "no event for {n} min", windowShort: "{n} min window",
    minShort: "min. {n} events", above: "above", below: "below", channel: "Channel",
    toFiring: "fired", toOk: "resolved", dPending: "notification queued", dEmails: "{n} email(s) sent", dEmailsFailed: "{n} email(s) failed",
    dHookOk: "webhook delivered", dHookAfter: "webhook delivered after {n} attempts", dHookRetry: "webhook delivery failed, retrying (attempt {n}: {why})",
    dHookFailed: "webhook delivery failed after {n} attempt(s): {why}", dHookPending: "webhook queued", help: "Evaluated every minute on complete minutes; an alert resolves after a full window back to normal.",
    spam_complaint_rate: "Complaint rate", unsubscribe_rate: "Unsubscribe rate",
    emailsHint: "Addresses outside this workspace get an email asking them to confirm; alerts reach them once they have.",
    recipients: "Alert emails to:" },
  fr: { alerts: "Alertes", firing: "Déclenchée", ok: "OK", firingCount: "{n} déclenchée(s)", title: "Alertes — {campaign}",
    close: "Fermer", none: "Aucune règle d’alerte ne surveille cette campagne.", history: "Historique",
    hideHistory: "Masquer l’historique", del: "Supprimer", confirmDelete: "Supprimer la règle d’alerte « {name} » ?",
    noHistory: "Aucun changement d’état pour l’instant.", since: "depuis {time}", last: "Dernière valeur {value} sur {volume} événements",
    never: "Pas encore évaluée", every: "Toutes les campagnes", thisCampaign: "Cette campagne", newRule: "Nouvelle règle d’alerte",
    name: "Nom", scope: "Campagnes", metric: "Indicateur", op: "Condition", threshold: "Seuil", thresholdPct: "Seuil (%)",
    window: "Fenêtre (minutes)", minVolume: "Volume minimum", emails: "E-mails (séparés par des virgules)",
    webhook: "URL de webhook (https)", language: "Langue de l’e-mail", create: "Créer la règle", created: "Règle créée.",
    secret: "Secret de signature du webhook, affiché une seule fois — gardez-le pour vérifier l’en-tête X-LiveReport-Signature : {secret}",
    readOnly: "Cette clé peut lire les alertes ; une clé avec le droit manage peut en créer et en supprimer.",
    readOnlyPerson: "Vous pouvez lire les alertes ; les éditeurs et les administrateurs de cet espace peuvent en créer et en supprimer.",
    silence: "Silence (aucun événement)", silenceCond: "aucun événement pendant {n} min", windowShort: "fenêtre de {n} min",
    minShort: "min. {n} événements", above: "au-dessus de", below: "en dessous de", channel: "Canal",
    toFiring: "déclenchée", toOk: "résolue", dPending: "notification en file d’attente", dEmails: "{n} e-mail(s) envoyé(s)", dEmailsFailed: "{n} e-mail(s) en échec",
    dHookOk: "webhook livré", dHookAfter: "webhook livré après {n} tentatives", dHookRetry: "échec de livraison du webhook, nouvel essai prévu (tentative {n} : {why})",
    dHookFailed: "échec de livraison du webhook après {n} tentative(s) : {why}", dHookPending: "webhook en file d’attente", help: "Évaluées chaque minute sur les minutes complètes ; une alerte se résout après une fenêtre entière revenue à la normale.",
    spam_complaint_rate: "Taux de plainte", unsubscribe_rate: "Taux de désabonnement",
    emailsHint: "Les adresses extérieures à cet espace reçoivent un e-mail de confirmation ; les alertes leur parviennent une fois confirmé.",
    recipients: "Alertes envoyées à :" },
};
type Key = keyof typeof TEXT.en;
const tx = wording<Key>(TEXT);

const CHANNELS = ["email", "push", "sms", "inapp", "web", "directmail"];
// The form offers the catalogue's rates only (complaint and unsubscribe rates are among them); rules made with the
// older name "spam_complaint_rate" (the same ratio) still read as the complaint rate.
let catalogue: { metrics: Record<string, string[]>; rates: Record<string, string[]> } | null = null;

const isRate = (m: string) => m.endsWith("_rate") || m === "reactivity";
const metricLabel = (m: string) => (m === "silence" ? tx("silence") : (TEXT.en as Record<string, string>)[m] ? tx(m as Key) : label(m));

/** How a state change's notification went (the delivery function writes it on the history item). */
function deliveryText(d: Delivery | undefined): string {
  if (!d) return "";
  const parts: string[] = [];
  if (d.emails_sent) parts.push(tx("dEmails", { n: d.emails_sent }));
  if (d.emails_failed) parts.push(tx("dEmailsFailed", { n: d.emails_failed }));
  const w = d.webhook;
  const why = w ? (w.status ? `HTTP ${w.status}` : (w.error || "—")) : "";
  const n = w?.attempts ?? 0;
  if (w?.state === "delivered") parts.push(n > 1 ? tx("dHookAfter", { n }) : tx("dHookOk"));
  else if (w?.state === "retrying") parts.push(tx("dHookRetry", { n, why }));
  else if (w?.state === "failed") parts.push(tx("dHookFailed", { n, why }));
  else if (w?.state === "pending") parts.push(tx("dHookPending"));
  if (!parts.length && d.pending) parts.push(tx("dPending"));
  return parts.join(" · ");
}

function fmtValue(a: Alert, v: number | null): string {
  if (v === null || v === undefined) return t("dash");
  return isRate(a.metric) ? fmtPct(v) : fmtInt(v);
}

export function condition(a: Alert): string {
  if (a.metric === "silence") return tx("silenceCond", { n: a.window_minutes });
  return `${metricLabel(a.metric)} ${a.op} ${fmtValue(a, a.threshold)}`;
}

/** The state of a rule for one campaign (a "*" rule keeps one state per campaign). */
export function stateFor(a: Alert, campaign: string): AlertState | null {
  return a.campaigns.find((c) => c.campaign_id === campaign) ?? null;
}

export class AlertsUi {
  private alerts: Alert[] = [];
  private canManage = false;
  private lastPoll = 0;
  private observer: MutationObserver | null = null;
  private button: HTMLButtonElement | null = null;
  private dialog: HTMLDialogElement | null = null;
  private roots: HTMLElement[] = [];
  private rendered = "";

  constructor(private ctx: () => Context) {}

  /** Called whenever the page draws its shell: the badges follow the picker and tabs it re-renders. */
  mount(header: HTMLElement, tabs: HTMLElement): void {
    this.observer?.disconnect();
    this.button = h("button", { type: "button", class: "secondary alerts-btn", "aria-haspopup": "dialog", "data-firing": "0" });
    this.button.addEventListener("click", () => this.open());
    const prefs = header.querySelector(".prefs");
    (prefs ?? header).prepend(this.button);
    this.roots = [header, tabs];
    this.observer = new MutationObserver(() => this.decorate());
    for (const r of this.roots) this.observer.observe(r, { childList: true, subtree: true });
    this.decorate();
  }

  /** Fetch rules and states (at most every 10 s unless forced); the page calls it on each refresh. */
  async poll(force = false): Promise<void> {
    if (!force && Date.now() - this.lastPoll < 10000) return;
    this.lastPoll = Date.now();
    try {
      const body = await call<{ alerts: Alert[]; can_manage: boolean }>("GET", "/v1/alerts");
      this.alerts = body.alerts;
      this.canManage = body.can_manage;
    } catch {
      return; // the report's own refresh shows the API's state; badges keep their last value
    }
    this.decorate();
    if (this.dialog?.open) this.renderPanel();
  }

  /** campaign → channels with a firing rule. */
  firing(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const a of this.alerts) {
      for (const c of a.campaigns) {
        if (c.state !== "firing") continue;
        if (!out.has(c.campaign_id)) out.set(c.campaign_id, new Set());
        out.get(c.campaign_id)!.add(a.channel);
      }
    }
    return out;
  }

  private badge(el: Element | null, on: boolean, text: string): void {
    if (!el) return;
    const existing = el.querySelector(":scope > .alert-badge");
    if (on && !existing) el.append(h("span", { class: "alert-badge", text, title: text }));
    if (!on && existing) existing.remove();
    el.classList.toggle("alert-firing", on);
  }

  private decorate(): void {
    const firing = this.firing();
    const { campaign } = this.ctx();
    const here = campaign ? firing.get(campaign) : undefined;
    this.badge(document.querySelector(".picker-summary"), !!here, tx("firing"));
    for (const item of document.querySelectorAll<HTMLElement>(".picker-item[data-campaign]")) {
      this.badge(item, firing.has(item.dataset.campaign ?? ""), tx("firing"));
    }
    for (const tab of document.querySelectorAll<HTMLElement>("[role=tab][data-tab]")) {
      const name = tab.dataset.tab ?? "";
      this.badge(tab, !!here && (name === "campaign" || here.has(name)), tx("firing"));
    }
    if (this.button) {
      const n = here?.size ? this.alerts.filter((a) => stateFor(a, campaign!)?.state === "firing").length : 0;
      const text = n ? `${tx("alerts")} · ${tx("firingCount", { n })}` : tx("alerts");
      if (this.button.textContent !== text) this.button.textContent = text;
      if (this.button.dataset.firing !== String(n)) this.button.dataset.firing = String(n);
    }
  }

  private open(): void {
    if (!this.dialog) {
      this.dialog = h("dialog", { class: "alerts-dialog", "aria-labelledby": "alerts-title" });
      this.dialog.addEventListener("close", () => this.button?.focus());
      document.body.append(this.dialog);
    }
    this.renderPanel();
    this.dialog.showModal();
    void this.poll(true);
  }

  private renderPanel(): void {
    const d = this.dialog!;
    const { campaign } = this.ctx();
    const keep = d.querySelector<HTMLFormElement>(`form.alert-editor[data-campaign="${CSS.escape(campaign ?? "")}"]`);
    const openHistory = new Set(Array.from(d.querySelectorAll<HTMLElement>(".alert-rule[data-history-open]")).map((e) => e.dataset.alertId));
    const shown = this.alerts.filter((a) => a.campaign_id === campaign || a.campaign_id === "*");
    // Redraw only when something changed, so a refresh never swaps a button under the marketer's pointer.
    const signature = JSON.stringify([campaign, getLang(), this.canManage, shown]);
    if (signature === this.rendered && d.firstChild) return;
    this.rendered = signature;
    const close = h("button", { type: "button", class: "secondary", text: tx("close") });
    close.addEventListener("click", () => d.close());
    const list = h("ul", { class: "alert-list" });
    if (!shown.length) list.append(h("li", { class: "muted", text: tx("none") }));
    for (const a of shown) list.append(this.ruleItem(a, campaign ?? "", openHistory.has(a.id)));
    const children: Node[] = [
      h("header", { class: "alerts-head" }, h("h2", { id: "alerts-title", text: tx("title", { campaign: campaign ?? "" }) }), close),
      h("p", { class: "muted small", text: tx("help") }), list];
    if (this.canManage) children.push(keep ?? this.editor());
    else children.push(h("p", { class: "muted small alerts-readonly", text: tx(isUser() ? "readOnlyPerson" : "readOnly") }));
    const secret = d.querySelector(".alert-secret");
    if (secret) children.push(secret);
    clear(d);
    d.append(...children);
  }

  private ruleItem(a: Alert, campaign: string, historyOpen: boolean): HTMLElement {
    const s = stateFor(a, campaign);
    const state = s?.state ?? "ok";
    const li = h("li", { class: "alert-rule", "data-alert-id": a.id, "data-state": state });
    const facts = [t(`tab_${a.channel}` as never), condition(a), tx("windowShort", { n: a.window_minutes })];
    if (a.min_volume) facts.push(tx("minShort", { n: a.min_volume }));
    if (a.campaign_id === "*") facts.push(tx("every"));
    const value = s && s.volume !== null ? tx("last", { value: fmtValue(a, s.value), volume: fmtInt(s.volume) }) : tx("never");
    const sinceText = state === "firing" && s?.since ? ` ${tx("since", { time: fmtDateTime(s.since * 1000) })}` : "";
    li.append(
      h("div", { class: "alert-line" }, h("span", { class: `alert-state state-${state === "firing" ? "firing" : "ok"}`, text: tx(state === "firing" ? "firing" : "ok") + sinceText }),
        h("strong", { class: "alert-name", text: a.name })),
      h("div", { class: "alert-facts muted small", text: facts.join(" · ") }),
      h("div", { class: "alert-value small", text: value }));
    const statuses = a.notify?.email_status ?? [];
    if (statuses.length) li.append(h("div", { class: "alert-recipients small" }, h("span", { class: "muted", text: tx("recipients") }), recipientChips(statuses)));
    const actions = h("div", { class: "alert-actions" });
    const historyBox = h("ol", { class: "alert-history small", hidden: !historyOpen });
    const toggle = h("button", { type: "button", class: "link-btn alert-history-btn", "aria-expanded": historyOpen ? "true" : "false", text: tx(historyOpen ? "hideHistory" : "history") });
    const load = async () => {
      const body = await call<{ history: HistoryEntry[] }>("GET", `/v1/alerts/${encodeURIComponent(a.id)}/history`);
      clear(historyBox);
      const mine = body.history.filter((e) => e.campaign_id === campaign);
      if (!mine.length) historyBox.append(h("li", { class: "muted", text: tx("noHistory") }));
      for (const e of mine) {
        const delivery = deliveryText(e.delivery);
        historyBox.append(h("li", { "data-to": e.to, "data-delivery": e.delivery?.webhook?.state ?? "" },
          `${fmtDateTime(e.at * 1000)} — ${tx(e.to === "firing" ? "toFiring" : "toOk")} · ${fmtValue(a, e.value)} (${fmtInt(e.volume)})`,
          delivery ? h("span", { class: `alert-delivery ${e.delivery?.webhook?.state ?? ""}`, text: ` — ${delivery}` }) : null));
      }
    };
    toggle.addEventListener("click", () => {
      const open = historyBox.hidden;
      historyBox.hidden = !open;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = tx(open ? "hideHistory" : "history");
      if (open) { li.dataset.historyOpen = "1"; void load().catch(() => undefined); } else delete li.dataset.historyOpen;
    });
    if (historyOpen) { li.dataset.historyOpen = "1"; void load().catch(() => undefined); }
    actions.append(toggle);
    if (this.canManage) {
      const del = h("button", { type: "button", class: "link-btn alert-delete", text: tx("del") });
      del.addEventListener("click", async () => {
        if (!window.confirm(tx("confirmDelete", { name: a.name }))) return;
        await call("DELETE", `/v1/alerts/${encodeURIComponent(a.id)}`).catch(() => undefined);
        await this.poll(true);
      });
      actions.append(del);
    }
    li.append(actions, historyBox);
    return li;
  }

  private field(text: string, input: HTMLElement): HTMLElement {
    const id = newId("alert-f");
    input.id = id;
    return h("div", { class: "field" }, h("label", { for: id, text }), input);
  }

  private editor(): HTMLFormElement {
    const { campaign, channels } = this.ctx();
    const form = h("form", { class: "alert-editor", "aria-labelledby": "alert-editor-title", "data-campaign": campaign ?? "" });
    const name = h("input", { name: "name", type: "text", required: true, maxlength: 120, autocomplete: "off" });
    const scope = h("select", { name: "scope" },
      h("option", { value: campaign ?? "", text: `${tx("thisCampaign")} (${campaign ?? ""})` }), h("option", { value: "*", text: tx("every") }));
    const channel = h("select", { name: "channel" });
    const choices = channels.length ? channels : CHANNELS;
    for (const c of choices) channel.append(h("option", { value: c, text: t(`tab_${c}` as never) }));
    const { tab } = this.ctx();
    const defaultChannel = choices.includes(tab) ? tab : (choices.includes("email") ? "email" : choices[0]);
    channel.value = defaultChannel;
    const metric = h("select", { name: "metric" });
    const op = h("select", { name: "op" }, h("option", { value: ">", text: `> ${tx("above")}` }), h("option", { value: "<", text: `< ${tx("below")}` }));
    const threshold = h("input", { name: "threshold", type: "number", step: "any", min: "0", value: "5", required: true });
    const thresholdField = this.field(tx("thresholdPct"), threshold);
    const windowMin = h("input", { name: "window_minutes", type: "number", min: "5", max: "60", value: "10", required: true });
    const minVolume = h("input", { name: "min_volume", type: "number", min: "0", value: "100" });
    const emails = h("input", { name: "emails", type: "text", autocomplete: "off" });
    const webhook = h("input", { name: "webhook_url", type: "url", autocomplete: "off", placeholder: "https://" });
    const language = h("select", { name: "language" }, h("option", { value: "en", text: "English" }), h("option", { value: "fr", text: "Français" }));
    language.value = getLang();
    const opField = this.field(tx("op"), op);
    const fillMetrics = () => {
      const ch = channel.value;
      clear(metric);
      const rates = catalogue?.rates[ch] ?? [];
      for (const m of [...rates, ...(catalogue?.metrics[ch] ?? []), "silence"]) metric.append(h("option", { value: m, text: metricLabel(m) }));
      if (rates.includes("bounce_rate")) metric.value = "bounce_rate";
      adapt();
    };
    const adapt = () => {
      const silence = metric.value === "silence";
      opField.hidden = silence;
      thresholdField.hidden = silence;
      threshold.required = !silence;
      thresholdField.querySelector("label")!.textContent = isRate(metric.value) ? tx("thresholdPct") : tx("threshold");
    };
    channel.addEventListener("change", fillMetrics);
    metric.addEventListener("change", adapt);
    const error = h("p", { class: "error alert-error", role: "alert" });
    const status = h("p", { class: "alert-status", role: "status" });
    form.append(h("h3", { id: "alert-editor-title", text: tx("newRule") }),
      h("div", { class: "alert-grid" }, this.field(tx("name"), name), this.field(tx("scope"), scope), this.field(tx("channel"), channel),
        this.field(tx("metric"), metric), opField, thresholdField, this.field(tx("window"), windowMin), this.field(tx("minVolume"), minVolume),
        this.field(tx("emails"), emails), this.field(tx("webhook"), webhook), this.field(tx("language"), language)),
      h("p", { class: "muted small alert-emails-hint", text: tx("emailsHint") }),
      error, h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: tx("create") })), status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      status.textContent = "";
      const rate = isRate(metric.value);
      const body: Record<string, unknown> = {
        name: name.value.trim(), campaign_id: scope.value, channel: channel.value, metric: metric.value,
        window_minutes: Number(windowMin.value), min_volume: Number(minVolume.value || 0), language: language.value,
        notify: { emails: emails.value.split(",").map((x) => x.trim()).filter(Boolean), ...(webhook.value.trim() ? { webhook_url: webhook.value.trim() } : {}) },
      };
      if (metric.value !== "silence") { body.op = op.value; body.threshold = rate ? Number(threshold.value) / 100 : Number(threshold.value); }
      try {
        const created = await call<{ webhook_secret?: string }>("POST", "/v1/alerts", body);
        status.textContent = tx("created");
        form.reset();
        language.value = getLang();
        channel.value = defaultChannel;
        fillMetrics();
        const old = this.dialog?.querySelector(".alert-secret");
        old?.remove();
        if (created.webhook_secret) this.dialog?.append(h("p", { class: "alert-secret", role: "status", text: tx("secret", { secret: created.webhook_secret }) }));
        await this.poll(true);
      } catch (err) {
        error.textContent = err instanceof Error ? err.message : String(err);
      }
    });
    if (!catalogue) {
      void call<{ metrics: Record<string, string[]>; rates: Record<string, string[]> }>("GET", "/v1/catalogue")
        .then((c) => { catalogue = c; fillMetrics(); }).catch(() => undefined);
    }
    fillMetrics();
    return form;
  }
}

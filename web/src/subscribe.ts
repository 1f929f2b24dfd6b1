// "Email me this report": a dialog that subscribes to the current view, and the workspace's subscriptions
// with a delete button each, every recipient's consent (awaiting confirmation, confirmed, unsubscribed) and the
// workspace's email quota today. Only shown to keys with the `manage` scope (the API answers 403 to others).
import { api, ApiError, type EmailQuota, type Frequency, type RecipientStatus, type Subscription } from "./api";
import { clear, h, newId } from "./dom";
import { fmtDateTime, fmtRelative, getLang, getTimeZone, t, timeZones } from "./i18n";
import { labelled } from "./controls";
import { GLOBAL_TABS, type State } from "./state";

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

/** Does this key hold `manage`? The listing is the cheapest way to ask, and read keys get 403. */
export async function canManage(): Promise<boolean> {
  try {
    await api.subscriptions();
    return true;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 401)) return false;
    return false;
  }
}

function select(id: string, options: [string, string][], value: string): HTMLSelectElement {
  const el = h("select", { id });
  for (const [v, text] of options) el.append(h("option", { value: v, selected: v === value, text }));
  return el;
}

function describe(s: Subscription): string {
  const f = s.frequency;
  const when = f.type === "hourly" ? t("freqHourlyAt", { m: String(f.minute ?? 0).padStart(2, "0") })
    : f.type === "daily" ? t("freqDailyAt", { time: f.time ?? "", tz: f.tz ?? "UTC" })
      : t("freqWeeklyAt", { day: t(`day_${f.day}` as never), time: f.time ?? "", tz: f.tz ?? "UTC" });
  const scope = s.channel === "all" ? t("allChannels") : t(`tab_${s.channel}` as never);
  const language = s.language === "fr" ? "Français" : "English";
  return `${s.campaign_id} · ${scope} · ${t(s.report === "live" ? "liveShort" : "global")} · ${when} · ${language}`;
}

/** Each address with its consent (the note says when the request went out, or why not yet). */
export function recipientChips(statuses: RecipientStatus[]): HTMLElement {
  return h("ul", { class: "recipients" }, ...statuses.map((r) => {
    const detail = r.status === "pending"
      ? (r.note ?? (r.requested_at ? t("statusRequested", { when: fmtRelative(r.requested_at) }) : t("statusNotRequested")))
      : "";
    return h("li", { class: `recipient status-${r.status}`, "data-status": r.status, "data-address": r.address, title: detail || null },
      h("span", { class: "recipient-address", text: r.address }),
      h("span", { class: "recipient-status", text: t(`status_${r.status}` as never) + (detail ? ` — ${detail}` : "") }));
  }));
}

function quotaNote(q: EmailQuota): HTMLElement {
  const full = q.remaining <= 0;
  return h("p", { class: `sub-quota small ${full ? "error" : "muted"}`, "data-remaining": q.remaining,
    text: full ? t("quotaReached", { time: fmtDateTime(q.resets_at) }) : t("quotaLine", { used: q.used, limit: q.limit }) });
}

/** The dialog for the current view; `onDone` receives a message for the polite live region. `myEmail`: the
 *  signed-in person's address (prefilled as the recipient, and where "Send me a test" goes); "" for a key. */
export function openSubscribeDialog(state: State, onDone: (message: string) => void, myEmail = ""): void {
  document.querySelector("dialog.subscribe")?.remove();
  const dialog = h("dialog", { class: "subscribe", "aria-labelledby": "sub-title" });
  const error = h("p", { class: "error", role: "alert" });
  const status = h("p", { class: "sub-status", role: "status" });
  const recipients = h("input", { id: "sub-recipients", type: "text", autocomplete: "email", required: true,
    placeholder: "ann@example.com, bob@example.com", spellcheck: "false", value: myEmail });
  const tabOk = state.mode === "live" || GLOBAL_TABS.includes(state.tab);
  const scope = select("sub-scope", [...(tabOk ? [[state.tab, t(`tab_${state.tab}` as never)] as [string, string]] : []),
    ["all", t("allChannels")]], tabOk ? state.tab : "all");
  const freq = select("sub-frequency", [["daily", t("freqDaily")], ["weekly", t("freqWeekly")], ["hourly", t("freqHourly")]], "daily");
  const time = h("input", { id: "sub-time", type: "time", value: "08:00", required: true });
  const minute = h("input", { id: "sub-minute", type: "number", min: "0", max: "59", step: "1", value: "0", required: true, class: "minute" });
  const day = select("sub-day", DAYS.map((d) => [d, t(`day_${d}` as never)] as [string, string]), "monday");
  const tz = select("sub-tz", timeZones().map((z) => [z, z] as [string, string]), getTimeZone());
  const lang = select("sub-lang", [["en", "English"], ["fr", "Français"]], getLang());
  const dayField = labelled(t("freqDay"), day);
  const timeField = labelled(t("freqTime"), time);
  const minuteField = labelled(t("freqMinute"), minute);
  const sync = () => {
    dayField.hidden = freq.value !== "weekly";
    timeField.hidden = freq.value === "hourly";
    minuteField.hidden = freq.value !== "hourly";
  };
  freq.addEventListener("change", sync);
  sync();
  const list = h("ul", { class: "sub-list", "aria-live": "polite" });
  const quota = h("div", { class: "sub-quota-slot" });
  const refreshList = async () => {
    clear(list);
    let subs: Subscription[] = [];
    try {
      const body = await api.subscriptionList();
      subs = body.subscriptions;
      quota.replaceChildren(quotaNote(body.quota));
    } catch (e) { list.append(h("li", { class: "error", text: String((e as Error).message) })); return; }
    if (!subs.length) list.append(h("li", { class: "muted", text: t("noSubscriptions") }));
    for (const s of subs) {
      const del = h("button", { type: "button", class: "secondary small", "data-delete": s.subscription_id ?? "",
        "aria-label": t("deleteSubscriptionOf", { what: describe(s) }), text: t("delete") });
      del.addEventListener("click", async () => {
        del.disabled = true;
        try { await api.unsubscribe(s.subscription_id ?? ""); onDone(t("subscriptionDeleted")); } catch (e) { error.textContent = (e as Error).message; }
        void refreshList();
      });
      const actions = h("div", { class: "sub-actions" });
      if (myEmail) { // a test goes to the signed-in person only (a key has no address)
        const test = h("button", { type: "button", class: "secondary small", "data-test": s.subscription_id ?? "",
          "aria-label": t("sendTestOf", { what: describe(s), email: myEmail }), text: t("sendTest") });
        test.addEventListener("click", async () => {
          test.disabled = true;
          error.textContent = "";
          try {
            await api.testSubscription(s.subscription_id ?? "");
            status.textContent = t("testSent", { email: myEmail });
          } catch (e) {
            error.textContent = e instanceof ApiError && e.status === 429 ? t("testTooSoon") : (e as Error).message;
          } finally { test.disabled = false; }
        });
        actions.append(test);
      }
      actions.append(del);
      const held = s.last_delivery?.over_quota
        ? h("span", { class: "sub-held error small", text: t("deliveryOverQuota", { n: s.last_delivery.over_quota, when: fmtDateTime(s.last_delivery.at * 1000) }) })
        : null;
      const who = s.recipient_status?.length ? recipientChips(s.recipient_status)
        : h("span", { class: "sub-who muted", text: s.recipients.join(", ") });
      who.classList.add("sub-who");
      list.append(h("li", { "data-subscription": s.subscription_id ?? "" },
        h("span", { class: "sub-what", text: describe(s) }), who, held, actions));
    }
  };
  const form = h("form", { method: "dialog", class: "sub-form" },
    h("h2", { id: "sub-title", text: t("emailMeTitle") }),
    h("p", { class: "muted small", text: t("emailMeHelp", { campaign: state.campaign ?? "", mode: t(state.mode === "live" ? "liveShort" : "global") }) }),
    labelled(t("recipients"), recipients),
    h("p", { class: "muted small sub-consent", text: t("consentHelp") }),
    h("div", { class: "row" }, labelled(t("scope"), scope), labelled(t("frequency"), freq), dayField, timeField, minuteField),
    h("div", { class: "row" }, labelled(t("timeZone"), tz), labelled(t("language"), lang)),
    error,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", value: "subscribe", text: t("subscribe") }),
      h("button", { type: "button", class: "secondary", "data-close": "1", text: t("close") })),
    h("h3", { text: t("subscriptionsTitle") }), quota, status, list);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const frequency: Frequency = freq.value === "hourly" ? { type: "hourly", minute: Number(minute.value) || 0, tz: tz.value }
      : { type: freq.value as "daily" | "weekly", time: time.value, tz: tz.value, ...(freq.value === "weekly" ? { day: day.value } : {}) };
    const body: Subscription = {
      campaign_id: state.campaign ?? "", report: state.mode, channel: scope.value, language: lang.value as "en" | "fr", frequency,
      recipients: recipients.value.split(/[\s,;]+/).filter(Boolean),
    };
    try {
      await api.subscribe(body);
      recipients.value = myEmail;
      onDone(t("subscribed"));
      error.textContent = "";
      await refreshList();
      (list.querySelector("li:last-child button") as HTMLElement | null)?.focus();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : t("cannotReach", { url: "" });
      recipients.focus();
    }
  });
  form.querySelector("[data-close]")!.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { dialog.remove(); (document.querySelector(".email-me") as HTMLElement | null)?.focus(); });
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  recipients.id = recipients.id || newId("sub");
  recipients.focus();
  void refreshList();
}

// What the marketer chose. Preferences (language, time zone) persist in local storage; the key does not.
import type { Lang } from "./messages";

export const TABS = ["campaign", "email", "inapp", "push", "sms", "web", "directmail", "experiments"] as const;
export type Tab = (typeof TABS)[number];
export const GLOBAL_TABS: readonly string[] = ["email", "sms", "push"];

export interface State {
  ws: string | null; // the workspace the page acts in (null until known)
  campaign: string | null;
  tab: Tab;
  mode: "live" | "global";
  window: "24h" | "1h";
  executions: (string | null)[] | null; // null: all executions
  from: string;
  to: string;
  lang: Lang;
  tz: string;
  // the Experimentation tab: the channel whose experiment is shown and its success metric (null: the experiment's own)
  xchannel?: string | null;
  xmetric?: string | null;
  view?: "reports" | "admin"; // ?view=admin: the workspace's admin page instead of the reports
  machine?: boolean; // open rate and reactivity include machine opens (email and push; human opens only by default)
}

/** Tabs whose opens come with machine opens, where the page offers the "Include machine opens" switch. */
export const MACHINE_TABS: readonly string[] = ["email", "push"];

const PREFS = "clr.prefs.v1";

export function loadPrefs(): Partial<State> {
  try {
    return JSON.parse(localStorage.getItem(PREFS) ?? "{}") as Partial<State>;
  } catch {
    return {};
  }
}

export function savePrefs(s: State): void {
  const { lang, tz, campaign, tab, mode, window, machine } = s;
  localStorage.setItem(PREFS, JSON.stringify({ lang, tz, campaign, tab, mode, window, machine: !!machine }));
}

// ---------- deep links ----------
// The address carries the view (workspace, campaign, tab, mode, window, executions, range, time zone) so it
// can be shared, bookmarked, reloaded and walked with back/forward: a link opens the same numbers, days read
// in the same zone, whatever the viewer's own workspace and zone. Never the key: that stays in session storage.

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NAME = /^[a-z_]{1,40}$/;

/** Is `tz` an IANA zone this browser knows? */
export function knownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return tz.length <= 64;
  } catch {
    return false;
  }
}

/** What the address names beyond the view: a `tz` the browser does not know (ignored, and said). */
export interface LinkExtras { badTz?: string }

/** The view the address names; only valid values (anything else falls back to preferences).
 *  `view` is always set: an address without `view=admin` is the reports (so back/forward leave the admin page). */
export function viewFromUrl(search: string = location.search): Partial<State> & LinkExtras {
  const q = new URLSearchParams(search);
  const out: Partial<State> & LinkExtras = { view: q.get("view") === "admin" ? "admin" : "reports" };
  const ws = q.get("ws")?.trim();
  if (ws) out.ws = ws.slice(0, 100); // any name: membership is the API's to say, the page only shows it as text
  const tz = q.get("tz");
  if (tz && knownZone(tz)) out.tz = tz;
  else if (tz) out.badTz = tz.slice(0, 64);
  const campaign = q.get("campaign");
  if (campaign) out.campaign = campaign;
  const tab = q.get("tab");
  if (tab && (TABS as readonly string[]).includes(tab)) out.tab = tab as Tab;
  const mode = q.get("mode");
  if (mode === "live" || mode === "global") out.mode = mode;
  const machine = q.get("machine"); // the open-rate switch: a link opens the rates the sender saw
  if (machine === "1" || machine === "0") out.machine = machine === "1";
  const win = q.get("window");
  if (win === "24h" || win === "1h") out.window = win;
  if (q.has("exec")) out.executions = q.getAll("exec").map((e) => (e === "" ? null : e));
  const from = q.get("from"), to = q.get("to");
  if (from && DATE.test(from)) out.from = from;
  if (to && DATE.test(to)) out.to = to;
  // the experiment's channel and metric: names only (the page checks them against the campaign's experiments)
  out.xchannel = NAME.test(q.get("channel") ?? "") ? q.get("channel") : null;
  out.xmetric = NAME.test(q.get("metric") ?? "") ? q.get("metric") : null;
  return out;
}

export function viewQuery(s: State): string {
  const q = new URLSearchParams();
  if (s.view === "admin") q.set("view", "admin"); // the admin page names no report
  if (s.ws) q.set("ws", s.ws);
  if (s.view === "admin") return `?${q}`;
  if (s.campaign) q.set("campaign", s.campaign);
  q.set("tab", s.tab);
  if (s.tab === "experiments") { // an experiment reads from its start: no report kind, window, range or executions
    if (s.xchannel) q.set("channel", s.xchannel);
    if (s.xmetric) q.set("metric", s.xmetric);
    q.set("tz", s.tz);
    return `?${q}`;
  }
  q.set("mode", s.mode);
  if (s.mode === "live") q.set("window", s.window);
  else {
    if (s.from) q.set("from", s.from);
    if (s.to) q.set("to", s.to);
  }
  for (const e of s.executions ?? []) q.append("exec", e ?? "");
  if (MACHINE_TABS.includes(s.tab)) q.set("machine", s.machine ? "1" : "0");
  q.set("tz", s.tz);
  return `?${q}`;
}

/** What the board shows (campaign, tab, report, window or range, executions): a report drawn for another
 *  key is stale. */
export function viewKey(s: State): string {
  return `${s.ws}|${s.campaign}|${s.tab}|${s.mode}|${s.window}|${s.from}|${s.to}|${s.tz}|${JSON.stringify(s.executions)}`;
}

/** Record the view in the address: a new history entry for a new view, a replacement otherwise. */
export function writeUrl(s: State, push: boolean): void {
  const query = viewQuery(s);
  if (query === location.search) return;
  const url = `${location.pathname}${query}${location.hash}`;
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
}

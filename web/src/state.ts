// What the marketer chose. Preferences (language, time zone) persist in local storage; the key does not.
import type { Lang } from "./messages";

export const TABS = ["campaign", "email", "inapp", "push", "sms", "web", "directmail"] as const;
export type Tab = (typeof TABS)[number];
export const GLOBAL_TABS: readonly string[] = ["email", "sms", "push"];

export interface State {
  campaign: string | null;
  tab: Tab;
  mode: "live" | "global";
  window: "24h" | "1h";
  executions: (string | null)[] | null; // null: all executions
  from: string;
  to: string;
  lang: Lang;
  tz: string;
  view?: "reports" | "admin"; // ?view=admin: the workspace's admin page instead of the reports
}

const PREFS = "clr.prefs.v1";

export function loadPrefs(): Partial<State> {
  try {
    return JSON.parse(localStorage.getItem(PREFS) ?? "{}") as Partial<State>;
  } catch {
    return {};
  }
}

export function savePrefs(s: State): void {
  const { lang, tz, campaign, tab, mode, window } = s;
  localStorage.setItem(PREFS, JSON.stringify({ lang, tz, campaign, tab, mode, window }));
}

// ---------- deep links ----------
// The address carries the view (campaign, tab, mode, window, executions, range) so it can be shared,
// bookmarked, reloaded and walked with back/forward. Never the key: that stays in session storage.

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The view the address names; only valid values (anything else falls back to preferences).
 *  `view` is always set: an address without `view=admin` is the reports (so back/forward leave the admin page). */
export function viewFromUrl(search: string = location.search): Partial<State> {
  const q = new URLSearchParams(search);
  const out: Partial<State> = { view: q.get("view") === "admin" ? "admin" : "reports" };
  const campaign = q.get("campaign");
  if (campaign) out.campaign = campaign;
  const tab = q.get("tab");
  if (tab && (TABS as readonly string[]).includes(tab)) out.tab = tab as Tab;
  const mode = q.get("mode");
  if (mode === "live" || mode === "global") out.mode = mode;
  const win = q.get("window");
  if (win === "24h" || win === "1h") out.window = win;
  if (q.has("exec")) out.executions = q.getAll("exec").map((e) => (e === "" ? null : e));
  const from = q.get("from"), to = q.get("to");
  if (from && DATE.test(from)) out.from = from;
  if (to && DATE.test(to)) out.to = to;
  return out;
}

export function viewQuery(s: State): string {
  if (s.view === "admin") return "?view=admin"; // the admin page names no report
  const q = new URLSearchParams();
  if (s.campaign) q.set("campaign", s.campaign);
  q.set("tab", s.tab);
  q.set("mode", s.mode);
  if (s.mode === "live") q.set("window", s.window);
  else {
    if (s.from) q.set("from", s.from);
    if (s.to) q.set("to", s.to);
  }
  for (const e of s.executions ?? []) q.append("exec", e ?? "");
  return `?${q}`;
}

/** What the board shows (campaign, tab, report, window or range, executions): a report drawn for another
 *  key is stale. */
export function viewKey(s: State): string {
  return `${s.campaign}|${s.tab}|${s.mode}|${s.window}|${s.from}|${s.to}|${JSON.stringify(s.executions)}`;
}

/** Record the view in the address: a new history entry for a new view, a replacement otherwise. */
export function writeUrl(s: State, push: boolean): void {
  const query = viewQuery(s);
  if (query === location.search) return;
  const url = `${location.pathname}${query}${location.hash}`;
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
}

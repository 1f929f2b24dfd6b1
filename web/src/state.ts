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

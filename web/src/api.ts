// The JSON API: runtime config, the caller's credentials (an API key or a Cognito session) and typed errors.
import type { Catalogue } from "./i18n";

const KEY_STORAGE = "clr.readKey";

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}
/** The API could not be reached at all (network error, CORS failure, timeout). */
export class Unreachable extends Error {}

/** The user pool the page signs people in with (absent: API keys only). */
export interface CognitoConfig {
  userPoolId: string; clientId: string; region: string; endpoint?: string;
  /** USER_SRP_AUTH (the default: the password never leaves the browser) or USER_PASSWORD_AUTH (local mode only). */
  authFlow?: "USER_SRP_AUTH" | "USER_PASSWORD_AUTH";
}

let apiUrl = "";
let refreshSeconds = 30; // full refresh at the latest this often; new data is noticed through the stamp
let cognito: CognitoConfig | null = null;
let socketUrl = ""; // the live channel (wss://…); empty: the page polls the change stamp every second
let safetySeconds = 60; // with the live channel open, the stamp is still checked this often
let liveRefreshSeconds = 300; // and the report fetched at the latest this often (the 24 h window slides)
export function getRefreshSeconds(): number { return refreshSeconds; }
export function getSocketUrl(): string { return socketUrl; }
export function getSafetySeconds(): number { return safetySeconds; }
export function getLiveRefreshSeconds(): number { return liveRefreshSeconds; }
export function getCognitoConfig(): CognitoConfig | null { return cognito; }

export async function loadConfig(): Promise<string> {
  const r = await fetch("config.json", { cache: "no-store" });
  if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
  const cfg = (await r.json()) as { apiUrl?: string; refreshSeconds?: number; cognito?: Partial<CognitoConfig>;
    socketUrl?: string; safetySeconds?: number; liveRefreshSeconds?: number };
  socketUrl = /^wss?:\/\//.test(String(cfg.socketUrl ?? "")) ? String(cfg.socketUrl) : "";
  safetySeconds = Number(cfg.safetySeconds) > 0 ? Number(cfg.safetySeconds) : 60;
  liveRefreshSeconds = Number(cfg.liveRefreshSeconds) > 0 ? Number(cfg.liveRefreshSeconds) : 300;
  apiUrl = String(cfg.apiUrl ?? "").replace(/\/+$/, "");
  refreshSeconds = Number(cfg.refreshSeconds) > 0 ? Number(cfg.refreshSeconds) : 30;
  const c = cfg.cognito;
  cognito = c && c.userPoolId && c.clientId ? { userPoolId: c.userPoolId, clientId: c.clientId,
    region: c.region || c.userPoolId.split("_")[0], endpoint: c.endpoint || undefined,
    authFlow: c.authFlow === "USER_PASSWORD_AUTH" ? "USER_PASSWORD_AUTH" : "USER_SRP_AUTH" } : null;
  return apiUrl;
}

export function getApiUrl(): string { return apiUrl; }
/** A development API key, per tab (session storage only). */
export function getKey(): string | null { return sessionStorage.getItem(KEY_STORAGE); }
export function setKey(k: string | null): void {
  if (k) sessionStorage.setItem(KEY_STORAGE, k); else sessionStorage.removeItem(KEY_STORAGE);
}

/** Where each request's credentials come from: the signed-in user's session, else the tab's API key. */
type CredentialSource = () => Promise<Record<string, string>>;
export const keyCredentials: CredentialSource = async () => {
  const key = getKey();
  const headers: Record<string, string> = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
};
let credentials: CredentialSource = keyCredentials;
export function setCredentialSource(source: CredentialSource): void { credentials = source; }
/** The caller's bearer and workspace, for the live channel's first message (never put in a URL). */
export async function bearer(): Promise<{ token: string; workspace: string | null }> {
  const headers = await credentials();
  const auth = headers.Authorization ?? "";
  return { token: auth.startsWith("Bearer ") ? auth.slice(7) : "", workspace: headers["X-Workspace"] ?? null };
}

/** One API call: JSON in and out, the caller's credentials, the API's error shape as ApiError. */
export async function call<T>(method: string, path: string, payload?: unknown, auth = true, timeoutMs = 15000,
                              extra: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...(auth ? await credentials() : {}), ...extra };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let r: Response;
  try {
    r = await fetch(`${apiUrl}${path}`, { method, headers, signal: ctrl.signal, cache: "no-store", referrerPolicy: "no-referrer",
      body: payload === undefined ? undefined : JSON.stringify(payload) });
  } catch (e) {
    throw new Unreachable(String(e));
  } finally {
    clearTimeout(timer);
  }
  if (r.status >= 502 && r.status <= 504) throw new Unreachable(`HTTP ${r.status}`);
  let body: unknown = null;
  if (r.status !== 204) { try { body = await r.json(); } catch { body = null; } }
  if (!r.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(r.status, err?.code ?? "http_error", err?.message ?? `HTTP ${r.status}`);
  }
  return body as T;
}

function request<T>(path: string, auth = true, timeoutMs = 15000, method = "GET", payload?: unknown): Promise<T> {
  return call<T>(method, path, payload, auth, timeoutMs);
}

export interface CampaignSummary {
  campaign_id: string; channels: string[]; last_event: number | null;
  experiments?: string[]; // channels whose events carried variants (the Experimentation tab)
}
export interface Frequency { type: "hourly" | "daily" | "weekly"; minute?: number; time?: string; day?: string; tz?: string }
/** A recipient's consent: pending (asked, nothing sent), confirmed (a member, or said yes), unsubscribed. */
export interface RecipientStatus {
  address: string; status: "pending" | "confirmed" | "unsubscribed"; requested_at: number | null;
  confirmed_at: number | null; unsubscribed_at: number | null; note?: string;
}
/** What the latest scheduled send of a subscription did. */
export interface Delivery { period: string; at: number; sent: number; failed: number; not_confirmed: number; over_quota: number }
/** The workspace's emails today against its daily quota. */
export interface EmailQuota { limit: number; used: number; remaining: number; day: string; resets_at: string }
export interface Subscription {
  subscription_id?: string; campaign_id: string; report: "live" | "global"; channel: string; recipients: string[];
  frequency: Frequency; language: "en" | "fr"; created_at?: string; allow_unknown_campaign?: boolean;
  recipient_status?: RecipientStatus[]; last_delivery?: Delivery | null;
}
export type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const api = {
  catalogue: () => request<Catalogue>("/v1/catalogue", false),
  campaigns: () => request<{ campaigns: CampaignSummary[] }>("/v1/campaigns").then((d) => d.campaigns),
  /** The campaign's change stamp: moves with every fold that changed its counts (cheap to poll every second). */
  stamp: (campaign: string) => request<{ stamp: string; last_event: number | null }>(
    `/v1/campaigns/${encodeURIComponent(campaign)}/stamp`).then((d) => `${d.stamp}`),
  live(campaign: string, tab: string, executions: (string | null)[] | null, window: string, compare = false): Promise<Doc> {
    const q = new URLSearchParams({ channel: tab, window });
    if (compare) q.set("compare", "previous");
    for (const e of executions ?? []) q.append("execution", e ?? "");
    return request<Doc>(`/v1/campaigns/${encodeURIComponent(campaign)}/live?${q}`);
  },
  global(campaign: string, channel: string, from: string, to: string, tz: string, executions: (string | null)[] | null, compare = false): Promise<Doc> {
    const q = new URLSearchParams({ channel, tz });
    if (compare) q.set("compare", "previous");
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    for (const e of executions ?? []) q.append("execution", e ?? "");
    return request<Doc>(`/v1/campaigns/${encodeURIComponent(campaign)}/report?${q}`);
  },
  subscriptions: () => request<{ subscriptions: Subscription[] }>("/v1/subscriptions").then((d) => d.subscriptions),
  /** The list with each recipient's consent and the workspace's email quota today. */
  subscriptionList: () => request<{ subscriptions: Subscription[]; quota: EmailQuota }>("/v1/subscriptions"),
  subscribe: (s: Subscription) => request<Subscription>("/v1/subscriptions", true, 15000, "POST", s),
  unsubscribe: (id: string) => request<null>(`/v1/subscriptions/${encodeURIComponent(id)}`, true, 15000, "DELETE"),
  /** One snapshot now to the signed-in requester's own address (the chart is drawn server side: allow time). */
  testSubscription: (id: string) => request<{ sent_to: string }>(`/v1/subscriptions/${encodeURIComponent(id)}/test`, true, 30000, "POST"),
};

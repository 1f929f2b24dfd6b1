// The live channel: a WebSocket that says when a fold changed the campaign shown, so the page fetches the
// report then, instead of asking for the campaign's stamp every second (docs/design.md, "Freshness").
// The credential goes in the first message, never in the URL; it is sent again every few minutes (the
// server's authorisation lasts 15 min, API Gateway closes sockets idle for 10). A socket that cannot be
// opened, or closes, is retried with backoff while the page polls every second meanwhile.
import { bearer } from "./api";

export type LiveState = "off" | "connecting" | "live" | "retrying" | "unavailable";

export interface LiveHooks {
  changed(campaign: string, stamp: string): void;
  state(state: LiveState): void;
}

const RENEW_MS = 4 * 60 * 1000;
const MAX_BACKOFF_MS = 60000;

export class LiveSocket {
  state: LiveState = "off";
  retryAt = 0;
  private ws: WebSocket | null = null;
  private campaign: string | null = null;
  private workspace: string | null = null;
  private failures = 0;
  private opened = false;
  private retryTimer: number | undefined;
  private renewTimer: number | undefined;

  constructor(private url: string, private hooks: LiveHooks) {}

  get available(): boolean { return !!this.url; }

  /** Follow `campaign` of `workspace` (null: nothing shown): opens, re-subscribes or closes the socket. */
  follow(campaign: string | null, workspace: string | null): void {
    if (!this.url || !campaign) { this.close(); return; }
    if (this.ws && workspace !== this.workspace) this.close(); // a connection belongs to one workspace
    const changed = campaign !== this.campaign;
    this.campaign = campaign;
    this.workspace = workspace;
    if (this.ws?.readyState === WebSocket.OPEN) { if (changed) void this.subscribe(); return; }
    if (!this.ws && this.retryTimer === undefined) this.open();
  }

  /** Nothing to follow (hidden tab, sign-out, admin page): close, and forget the retries. */
  close(): void {
    clearTimeout(this.retryTimer);
    clearInterval(this.renewTimer);
    this.retryTimer = this.renewTimer = undefined;
    this.campaign = null;
    this.failures = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onclose = null; ws.onmessage = null; ws.close(1000); }
    this.set("off");
  }

  private open(): void {
    this.retryTimer = undefined;
    this.set(this.failures ? this.state : "connecting");
    let ws: WebSocket;
    try { ws = new WebSocket(this.url); } catch { this.failed(); return; }
    this.ws = ws;
    ws.onopen = () => { void this.subscribe(); };
    ws.onmessage = (e) => this.received(String(e.data));
    ws.onclose = () => { if (this.ws === ws) { this.ws = null; clearInterval(this.renewTimer); this.failed(); } };
  }

  private async subscribe(): Promise<void> {
    const ws = this.ws;
    const { token, workspace } = await bearer();
    if (!ws || ws !== this.ws || ws.readyState !== WebSocket.OPEN || !this.campaign) return;
    ws.send(JSON.stringify({ action: "subscribe", token, workspace: workspace ?? this.workspace ?? undefined,
      campaigns: [this.campaign] }));
  }

  private received(data: string): void {
    let msg: { type?: string; campaign?: string; code?: string; stamp?: string };
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === "subscribed") {
      this.failures = 0;
      this.opened = true;
      clearInterval(this.renewTimer);
      this.renewTimer = window.setInterval(() => void this.subscribe(), RENEW_MS);
      this.set("live");
    } else if (msg.type === "changed" && msg.campaign === this.campaign) {
      this.hooks.changed(msg.campaign, String(msg.stamp ?? ""));
    } else if (msg.type === "error") {
      this.ws?.close(); // refused (credentials, limits): retried later, polling meanwhile
    }
  }

  private failed(): void {
    if (!this.campaign) return;
    this.failures += 1;
    const delay = Math.min(1000 * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
    this.retryAt = Date.now() + delay;
    this.set(this.opened ? "retrying" : "unavailable");
    this.retryTimer = window.setTimeout(() => this.open(), delay);
  }

  private set(state: LiveState): void {
    const was = this.state;
    this.state = state;
    if (was !== state) this.hooks.state(state);
  }
}

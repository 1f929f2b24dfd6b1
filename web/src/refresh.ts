// The refresh loop. With a probe (the campaign's change stamp, a tiny request) it looks every `probeMs` and
// fetches the whole report only when the stamp moved, or at the latest every `interval` ms (the window slides
// even when nothing new arrives). Paused while the page is hidden, with exponential backoff while the API is
// unreachable.
import { Unreachable } from "./api";

export interface PollerHooks {
  onUnreachable(retryInMs: number, error: unknown): void;
  onError(error: unknown): void;
  onPause(paused: boolean): void;
}

export class Poller {
  private timer: number | undefined;
  private failures = 0;
  private running = false;
  private inFlight = false;
  private again = false;
  nextAt = 0;

  private lastProbe: string | null = null;
  private lastFull = 0;
  private forced = true;
  private pushed: string | null = null; // a stamp the live channel announced: no need to ask for it
  private readonly retryBase: number; // backoff while unreachable: from the configured interval, live or not

  constructor(private fn: () => Promise<void>, private interval: number, private hooks: PollerHooks,
              private probe: (() => Promise<string | null>) | null = null, private probeMs = 1000) {
    this.retryBase = interval;
    document.addEventListener("visibilitychange", () => {
      this.hooks.onPause(document.hidden);
      if (!document.hidden && this.running) this.now();
    });
  }

  start(): void { this.running = true; this.now(); }

  /** How often to look at the stamp and to fetch at the latest: every second while polling, slowly while
   *  the live channel says when to fetch (app.ts). A quicker cadence applies at once. */
  setCadence(probeMs: number, interval: number): void {
    const quicker = probeMs < this.probeMs;
    this.probeMs = probeMs;
    this.interval = interval;
    if (quicker && this.running && !this.inFlight && this.timer !== undefined) {
      this.schedule(Math.min(probeMs, Math.max(0, this.nextAt - Date.now())));
    }
  }
  stop(): void { this.running = false; clearTimeout(this.timer); }

  /** Fetch right away (a changed filter, a tab switch, "retry now"; `stamp`: the live channel said the
   *  campaign moved to it, so the tick fetches the report without asking for the stamp first). */
  now(stamp: string | null = null): void {
    this.forced = true;
    if (stamp) this.pushed = stamp;
    clearTimeout(this.timer);
    if (this.inFlight) { this.again = true; return; }
    void this.tick();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.nextAt = Date.now() + ms;
    if (this.running) this.timer = window.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    if (document.hidden) { this.hooks.onPause(true); return; }
    const started = Date.now();
    this.inFlight = true;
    let delay = this.interval;
    try {
      if (this.probe) {
        const stamp = this.pushed ?? await this.probe();
        this.pushed = null;
        const due = this.forced || stamp !== this.lastProbe || Date.now() - this.lastFull >= this.interval;
        if (due) {
          this.forced = false;
          await this.fn();
          this.lastProbe = stamp;
          this.lastFull = Date.now();
        }
        delay = Math.max(0, this.probeMs - (Date.now() - started));
      } else {
        await this.fn();
        delay = Math.max(0, this.interval - (Date.now() - started));
      }
      this.failures = 0;
    } catch (e) {
      this.forced = true; // what failed is fetched again at the next tick, whatever the stamp says
      if (e instanceof Unreachable) {
        this.failures += 1;
        delay = Math.min(this.retryBase * 2 ** (this.failures - 1), 60000);
        this.hooks.onUnreachable(delay, e);
      } else {
        this.hooks.onError(e);
      }
    } finally {
      this.inFlight = false;
    }
    if (this.again) { this.again = false; delay = 0; }
    this.schedule(delay);
  }
}

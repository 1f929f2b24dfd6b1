// The refresh loop: every `interval` ms from the start of the previous fetch, paused while the page is hidden,
// with exponential backoff while the API is unreachable.
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

  constructor(private fn: () => Promise<void>, private interval: number, private hooks: PollerHooks) {
    document.addEventListener("visibilitychange", () => {
      this.hooks.onPause(document.hidden);
      if (!document.hidden && this.running) this.now();
    });
  }

  start(): void { this.running = true; this.now(); }
  stop(): void { this.running = false; clearTimeout(this.timer); }

  /** Fetch right away (a changed filter, a tab switch, "retry now"). */
  now(): void {
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
      await this.fn();
      this.failures = 0;
      delay = Math.max(0, this.interval - (Date.now() - started));
    } catch (e) {
      if (e instanceof Unreachable) {
        this.failures += 1;
        delay = Math.min(this.interval * 2 ** (this.failures - 1), 60000);
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

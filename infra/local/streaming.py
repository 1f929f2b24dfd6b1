"""Local mode's event source mapping, rollup schedule and moto housekeeping.

`chalice local` runs no event source, so daemon threads do what AWS does:

- the poller, Lambda's event source mapping: it reads each shard of the moto
  server's Kinesis stream after the last position it handed over and invokes
  the app's own Kinesis handler (`app.fold_stream`) with a Lambda-shaped
  event. As on a stage, it gathers records for the batching window
  (LIVEREPORT_BATCH_WINDOW_SECONDS, default the stage's
  MaximumBatchingWindowInSeconds, 1 s: infra/cdk/config.py) and the next
  window starts when the previous invocation ends; so a number shows locally
  as soon as it would on a stage, and a fold costs what it costs there. A
  failing invocation keeps its position, so the same records come again, as
  Lambda retries them;
- the rollup schedule, every LIVEREPORT_ROLLUP_SECONDS (default 60, the
  schedule's rate in AWS), in a thread of its own: it runs beside the
  aggregator as the two Lambdas do, never holding up a fold;
- housekeeping, so that a day of demo traffic fits in bounded memory: the
  stream records the aggregator has folded are dropped after
  FOLDED_RECORDS_KEPT_SECONDS (Kinesis would keep them 24 h, but nothing reads
  them again: a retried fold re-reads only records above its shard's
  watermark), a settled minute's sketch deltas are merged into one
  (compaction.py), and items whose TTL has passed are deleted, as DynamoDB's
  TTL does (moto never does; infra/local/moto_speedups.py).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Callable, Mapping

from infra.cdk.config import DEFAULTS

#: Local mode is the dev stage on one machine: the same stream shape and batching window.
STAGE = DEFAULTS["dev"]
WINDOW_ENV = "LIVEREPORT_BATCH_WINDOW_SECONDS"
MAX_WINDOW_SECONDS = 300  # Lambda's limit
IDLE_POLL_SECONDS = 0.25  # with a window of 0: how often an idle shard is polled
DEFAULT_ROLLUP_SECONDS = 60
HOUSEKEEPING_SECONDS = 60
FOLDED_RECORDS_KEPT_SECONDS = 600
TTL_SWEEP_SECONDS = 900


def batch_window(env: Mapping[str, str] = os.environ) -> float:
    """LIVEREPORT_BATCH_WINDOW_SECONDS, or the stage's window; a clear error otherwise."""
    raw = env.get(WINDOW_ENV, "").strip()
    if not raw:
        return float(STAGE.stream_batching_window_s)
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{WINDOW_ENV}={raw!r}: a number of seconds, 0-{MAX_WINDOW_SECONDS}") from None
    if not 0 <= value <= MAX_WINDOW_SECONDS:
        raise SystemExit(f"{WINDOW_ENV}={raw!r}: a number of seconds, 0-{MAX_WINDOW_SECONDS}")
    return value


class Periodic(threading.Thread):
    """Calls `step` every `every` seconds (the first call at once); logs its failures."""

    def __init__(self, name: str, step: Callable[[], Any], every: float, first_after: float = 0.0) -> None:
        super().__init__(daemon=True, name=name)
        self.step, self.every, self.first_after = step, every, first_after
        self.stopped = threading.Event()
        self.runs = 0
        self.failures = 0
        self.note = ""  # appended to a failure's line

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=1.5)  # a daemon: a run still going ends with the process

    def run(self) -> None:
        if self.stopped.wait(self.first_after):
            return
        while not self.stopped.is_set():
            try:
                self.step()
                self.runs += 1
            except Exception as exc:  # noqa: BLE001 - as Lambda would: log, try again next time
                self.failures += 1
                print(f"{self.name}: {exc!r}{self.note}", file=sys.stderr, flush=True)
            self.stopped.wait(self.every)


class StreamPoller(Periodic):
    """The event source mapping: one pump per batching window, the next window
    starting when the previous invocation ended (as Lambda does for streams)."""

    def __init__(self, services: Any, handler: Any, window: float) -> None:
        super().__init__("aggregator", self._pump, max(window, IDLE_POLL_SECONDS))
        self.services, self.handler, self.window = services, handler, window
        self.invocations = 0
        self.note = " (the records will be retried)"

    def _pump(self) -> None:
        self.services.pump(handler=self._invoke, roll=False)

    def _invoke(self, event: dict[str, Any]) -> Any:
        self.invocations += 1
        return self.handler(event, None)


class Housekeeping:
    """Drops what local mode no longer needs from the in-process moto server."""

    def __init__(self, services: Any, stream_name: str, lock: Any) -> None:
        from .compaction import DeltaMerger
        self.services, self.stream_name, self.lock = services, stream_name, lock
        self.merger = DeltaMerger(services.client, services.config.table_name)
        self.records_dropped = 0
        self.items_expired = 0
        self._next_sweep = 0.0

    def __call__(self, now: float | None = None) -> None:
        from .moto_kinesis import trim_shard
        from .moto_speedups import sweep_expired
        now = time.time() if now is None else now
        with self.lock:
            stream = _moto_stream(self.stream_name)
            if stream is not None:
                for shard, position in dict(self.services.positions).items():
                    if shard in stream.shards:
                        self.records_dropped += trim_shard(stream, shard, position,
                                                           now - FOLDED_RECORDS_KEPT_SECONDS)
        self.merger(now)  # through the moto server's API: never while holding its lock
        if now >= self._next_sweep:
            self._next_sweep = now + TTL_SWEEP_SECONDS
            self.items_expired += sweep_expired(now, self.lock)


def _moto_stream(name: str) -> Any:
    from moto.backends import get_backend
    for account in get_backend("kinesis").values():
        for backend in account.values():
            if name in backend.streams:
                return backend.streams[name]
    return None


def start_streaming(stack: Any) -> list[str]:
    """Start the poller, the rollup schedule and housekeeping; lines to print."""
    import app as app_module  # functions/ is on sys.path once the stack's API started

    window = batch_window()
    every = float(os.environ.get("LIVEREPORT_ROLLUP_SECONDS", DEFAULT_ROLLUP_SECONDS))
    threads = [StreamPoller(stack.services, app_module.fold_stream, window),
               Periodic("rollup", stack.services.roll, every)]
    if stack.moto_lock is not None:  # an in-process moto server: its memory is ours to keep bounded
        threads.append(Periodic("housekeeping", Housekeeping(stack.services, stack.stream_name, stack.moto_lock),
                                HOUSEKEEPING_SECONDS, first_after=HOUSEKEEPING_SECONDS))
    for thread in threads:
        thread.start()
        stack._stops.append(thread.stop)
    stack.poller = threads[0]
    return [f"aggregator:     folds stream '{stack.stream_name}' every {window:g}s (batching window, "
            f"{WINDOW_ENV}); rollup every {every:g}s"]

"""Local mode's event source mapping and rollup schedule.

`chalice local` runs no event source, so a daemon thread does what Lambda does
in AWS: it reads each shard of the moto server's Kinesis stream after the last
position it handed over, and invokes the app's own Kinesis handler
(`app.fold_stream`) with a Lambda-shaped event. A failing invocation keeps its
position, so the same records come again, as Lambda retries them. Every
LIVEREPORT_ROLLUP_SECONDS (default 60, the schedule's rate in AWS) it runs the
rollup too.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

POLL_SECONDS = 0.25  # Lambda polls a Kinesis shard once a second; faster here keeps the demo lively
DEFAULT_ROLLUP_SECONDS = 60


class StreamPoller(threading.Thread):
    def __init__(self, services: Any, handler: Any, rollup_every: float) -> None:
        super().__init__(daemon=True, name="stream-poller")
        self.services, self.handler, self.rollup_every = services, handler, rollup_every
        self._stopping = False
        self.invocations = 0
        self.failures = 0

    def stop(self) -> None:
        self._stopping = True
        self.join(timeout=1.5)  # a daemon: a rollup still running ends with the process

    def run(self) -> None:
        next_rollup = time.monotonic()  # roll at once: a restart may find closed hours not rolled yet
        while not self._stopping:
            try:
                self.services.pump(handler=self._invoke, roll=False)
            except Exception as exc:  # noqa: BLE001 - as Lambda would: log, retry the same records
                self.failures += 1
                print(f"aggregator: {exc!r} (the records will be retried)", file=sys.stderr, flush=True)
                time.sleep(1.0)
            if time.monotonic() >= next_rollup:
                next_rollup = time.monotonic() + self.rollup_every
                try:
                    self.services.roll()
                except Exception as exc:  # noqa: BLE001 - the next run redoes it
                    print(f"rollup: {exc!r}", file=sys.stderr, flush=True)
            time.sleep(POLL_SECONDS)

    def _invoke(self, event: dict[str, Any]) -> Any:
        self.invocations += 1
        return self.handler(event, None)


def start_streaming(stack: Any) -> list[str]:
    """Start the poller against the stack's stream; lines to print."""
    import app as app_module  # functions/ is on sys.path once the stack's API started

    every = float(os.environ.get("LIVEREPORT_ROLLUP_SECONDS", DEFAULT_ROLLUP_SECONDS))
    poller = StreamPoller(stack.services, app_module.fold_stream, every)
    poller.start()
    stack._stops.append(poller.stop)
    return [f"aggregator:     polls stream '{stack.stream_name}' every {POLL_SECONDS:g}s; rollup every {every:g}s"]

"""`make run`: the whole product on this machine, in the foreground.

Environment:
  LIVEREPORT_PORT      the API's port on 127.0.0.1 (default 8000)
  LIVEREPORT_WEB_PORT  the dashboard's port (default 8080)
  LIVEREPORT_SOCKET_PORT  the live channel's WebSocket port (default 8001)
  LIVEREPORT_DEV_KEY   a development key with scopes ingest, read and manage in workspace `default`
                       (a random one is printed when unset)
  LIVEREPORT_DEMO      1 (default) streams demo traffic into workspace `demo`; 0 turns it off
  LIVEREPORT_BATCH_WINDOW_SECONDS  the aggregator's batching window (default 1, the stage's
                       MaximumBatchingWindowInSeconds, infra/cdk/config.py): as on a stage, the poller
                       folds what arrived during the window, the next window starting when a fold ends
  LIVEREPORT_ROLLUP_SECONDS  the rollup schedule's period (default 60), in a thread of its own
  LIVEREPORT_VERBOSE   1 prints access logs, app logs (warnings too) and metric lines (default: quiet,
                       only the lines below, emails written and real errors)
  LIVEREPORT_ADMIN_EMAIL / LIVEREPORT_ADMIN_PASSWORD  the local admin user (infra/local/accounts.py)
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from . import console
from .accounts import start_accounts
from .stack import LocalStack
from .traffic import ExperimentTraffic, TrafficGenerator


def post(api_url: str, key: str, events: list[dict]) -> dict:
    request = urllib.request.Request(
        f"{api_url}/v1/events", data=json.dumps({"events": events}).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class DemoTraffic(threading.Thread):
    """Backfills the last few hours, then streams a batch every couple of seconds."""

    def __init__(self, api_url: str, key: str, backfill_hours: int = 6, per_second: int = 40) -> None:
        super().__init__(daemon=True, name="demo-traffic")
        self.api_url, self.key = api_url, key
        self.backfill_hours, self.per_second = backfill_hours, per_second
        self.stopped = threading.Event()
        self.first_batch = threading.Event()
        self.sent = 0

    def run(self) -> None:
        gen = TrafficGenerator(seed=int(time.time()), prefix=f"demo{int(time.time())}")
        now = datetime.now(timezone.utc)
        backlog = list(gen.events(3000, now - timedelta(hours=self.backfill_hours), now))
        experiments = self._experiments(now)
        backlog += experiments.due(now)
        for i in range(0, len(backlog), 1000):
            self._send(backlog[i:i + 1000])
            self.first_batch.set()
        while not self.stopped.wait(2.0):
            now = datetime.now(timezone.utc)
            self._send(list(gen.events(self.per_second * 2, now - timedelta(seconds=2), now)) + experiments.due(now))

    @staticmethod
    def _experiments(now: datetime) -> ExperimentTraffic:
        """The subject-line test (B wins, usually 5-25 minutes after `ready:`) and the A/A test (no winner),
        started a few minutes before `ready:` so that the Experimentation tab has data at once."""
        return ExperimentTraffic(now - timedelta(minutes=5), seed=int(time.time()), prefix=f"xp{int(time.time())}")

    def _send(self, events: list[dict]) -> None:
        try:
            self.sent += post(self.api_url, self.key, events)["accepted"]
        except (urllib.error.URLError, OSError) as exc:
            print(f"demo traffic: {exc}", file=sys.stderr)


def main() -> int:
    console.configure()  # quiet unless LIVEREPORT_VERBOSE=1; must precede the app's import
    stack = LocalStack(api_port=int(os.environ.get("LIVEREPORT_PORT", "8000")),
                       web_port=int(os.environ.get("LIVEREPORT_WEB_PORT", "8080")),
                       socket_port=int(os.environ.get("LIVEREPORT_SOCKET_PORT", "8001")))
    stack.start_moto()
    stack.create_table()
    stack.start_api()
    keys = stack.services.keys
    _, dev_key = keys.create("default", ["ingest", "read", "manage"], "dev", key=os.environ.get("LIVEREPORT_DEV_KEY") or None)
    lines = [f"API:            {stack.api_url}  (OpenAPI: {stack.api_url}/v1/openapi.json)",
             f"live updates:   {stack.socket.url}  (WebSocket)",
             f"moto endpoint:  {stack.moto_url}",
             f"dev key:        {dev_key}   (workspace 'default', scopes ingest+read+manage)"]
    accounts = start_accounts(stack)  # a local Cognito pool and its admin user (docs/accounts.md)
    lines[:0] = accounts.lines
    if stack.start_web(accounts.web_config):
        lines.append(f"dashboard:      {stack.web_url}")
    else:
        lines.append("dashboard:      not built (run `make web`)")
    demo = None
    if os.environ.get("LIVEREPORT_DEMO", "1") != "0":
        _, demo_ingest = keys.create("demo", ["ingest"], "demo traffic")
        _, demo_read = keys.create("demo", ["read"], "demo read")
        lines.append(f"demo read key:  {demo_read}   (workspace 'demo', live demo traffic)")
        demo = DemoTraffic(stack.api_url, demo_ingest)
        demo.start()
    lines.extend(stack.streaming_lines)
    for extra in _start_schedules(stack):
        lines.append(extra)
    print("\n".join(lines), flush=True)
    if demo:
        _wait_for_demo(stack, demo)
    print(f"ready: {stack.api_url}", flush=True)

    # A plain flag, not an Event: a signal handler that sets an Event the main thread
    # is waiting on can deadlock on the Event's (non re-entrant) condition lock.
    stopping = {"now": False}

    def stop(*_: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping["now"]:
        time.sleep(0.2)
    if demo:
        demo.stopped.set()
    stack.stop()
    print("stopped", flush=True)
    sys.stderr.flush()
    os._exit(0)  # daemon threads (a rollup half way, a demo POST) end here, not in a slow teardown


def _wait_for_demo(stack: LocalStack, demo: DemoTraffic, timeout: float = 60.0) -> None:
    """`ready:` means the dashboard has something to show: the demo's first batch is folded."""
    deadline = time.monotonic() + timeout
    demo.first_batch.wait(timeout)
    stack.services.pump()  # fold the backlog and roll the closed hours it touched, now
    while time.monotonic() < deadline and not stack.services.directory.list("demo"):
        time.sleep(0.2)


def _start_schedules(stack: LocalStack) -> list[str]:
    """Run the scheduled functions that `chalice local` cannot (snapshot emails)."""
    try:
        from .schedules import start_schedules
    except ImportError:
        return []
    return start_schedules(stack)


if __name__ == "__main__":
    sys.exit(main())
